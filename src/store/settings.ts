import type { Executor } from './db.js';

/**
 * When the instance first saw setting `name` with this value: now if it had no value or
 * another. A null value forgets the setting, so that setting it again starts afresh.
 */
export async function settingFirstSeen(trx: Executor, name: string, value: string | null, now: Date): Promise<Date | null> {
  if (value === null) {
    await trx.deleteFrom('instance_settings').where('name', '=', name).execute();
    return null;
  }
  const at = now.toISOString();
  await trx
    .insertInto('instance_settings')
    .values({ name, value, first_seen_at: at })
    // An insert that races another replica's start waits for it, then finds the row.
    .onConflict((oc) => oc.column('name').doUpdateSet({ value, first_seen_at: at }).where('instance_settings.value', '<>', value))
    .execute();
  const row = await trx.selectFrom('instance_settings').select('first_seen_at').where('name', '=', name).executeTakeFirstOrThrow();
  return new Date(row.first_seen_at);
}
