/** Hetzner Cloud: any authenticated GET proves the API token. */
import { joinUrl, refusal, runCheck } from './http.js';
import type { ProviderOptions, ValidationResult } from './types.js';

export const HETZNER_DEFAULT_URL = 'https://api.hetzner.cloud/v1';
const SERVICE = 'the Hetzner Cloud API';

export function validateHetzner(baseUrl: string, apiToken: string, opts: ProviderOptions): Promise<ValidationResult> {
  return runCheck(SERVICE, opts, async (session) => {
    const reply = await session.get(joinUrl(baseUrl, 'servers?per_page=1'), {
      auth: { Authorization: `Bearer ${apiToken}` },
    });
    if (reply.status === 200) return { status: 'VALID', message: 'The Hetzner Cloud API accepted the token.' };
    const hint = reply.status === 403 ? 'the token lacks permission; create one with Read & Write access' : undefined;
    return refusal(SERVICE, reply, hint);
  });
}
