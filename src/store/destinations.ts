/** credential_destinations: the hosts a credential's current secret has been sent to. */
import type { Executor } from './db.js';

export async function knownDestinations(db: Executor, credentialId: string): Promise<Set<string>> {
  const rows = await db.selectFrom('credential_destinations').select('host').where('credential_id', '=', credentialId).execute();
  return new Set(rows.map((r) => r.host));
}

/** Adds hosts to the list; hosts already on it keep their first time. */
export async function rememberDestinations(db: Executor, credentialId: string, hosts: string[], at: string): Promise<void> {
  if (!hosts.length) return;
  await db
    .insertInto('credential_destinations')
    .values(hosts.map((host) => ({ credential_id: credentialId, host, first_sent_at: at })))
    .onConflict((oc) => oc.columns(['credential_id', 'host']).doNothing())
    .execute();
}

/** A new secret starts a new list: the old one's destinations say nothing about it. */
export async function forgetDestinations(db: Executor, credentialId: string): Promise<void> {
  await db.deleteFrom('credential_destinations').where('credential_id', '=', credentialId).execute();
}
