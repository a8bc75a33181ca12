import { z } from 'zod';
import type { CredentialTypeName } from '../../db/types.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { inputRefusal, outboundPolicy, refusalMessage } from '../outbound/policy.js';
import { validateGit } from '../providers/git.js';
import { validateHetzner } from '../providers/hetzner.js';
import { ovhEndpointUrl, validateOvh } from '../providers/ovh.js';
import type { ProviderOptions, ValidationResult } from '../providers/types.js';

/**
 * What each credential type keeps in the clear, what it encrypts, and how it is
 * checked against its provider. Adding a type is adding an entry here (and its client
 * in src/providers/).
 */
// A secret is a token, a password or a key file; 16 KiB holds the largest of them (a 4096-bit PEM key is ~3 KiB).
const MAX_SECRET = 16_384;
const secret = (what: string) =>
  z.string().min(1, `must not be empty (the ${what})`).max(MAX_SECRET, `must be at most ${MAX_SECRET} characters`);
const printable = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');

export const credentialFields = {
  REGISTRY: {
    public: z.object({ username: printable(256) }),
    secret: z.object({ password: secret('password or access token') }),
  },
  GIT: {
    public: z.object({
      provider: z.enum(['GITHUB', 'GITLAB', 'BITBUCKET', 'GENERIC']),
      host: z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d{1,5})?$/i, 'must be a host name like gitlab.example.com (optionally :port), without scheme or path')
        .max(253)
        .nullish(),
      username: printable(256).nullish(),
    }),
    secret: z.object({ token: secret('access token') }),
  },
  HETZNER: {
    public: z.object({}),
    secret: z.object({ apiToken: secret('Hetzner Cloud API token') }),
  },
  OVH: {
    public: z.object({
      projectId: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an OVH Public Cloud project id (letters, digits, "-")'),
      endpoint: z.enum(['OVH_EU', 'OVH_CA', 'OVH_US']),
      applicationKey: z.string().regex(/^[A-Za-z0-9]{1,64}$/, 'must be an OVH application key (letters and digits)'),
    }),
    secret: z.object({ applicationSecret: secret('application secret'), consumerKey: secret('consumer key') }),
  },
  SSH_KEY: {
    public: z.object({ publicKey: z.string(), fingerprint: z.string(), keyType: z.string(), generated: z.boolean() }),
    secret: z.object({}),
  },
} satisfies Record<CredentialTypeName, { public: z.ZodObject; secret: z.ZodObject }>;

export type PublicFields<T extends CredentialTypeName> = z.infer<(typeof credentialFields)[T]['public']>;
export type SecretFields<T extends CredentialTypeName> = z.infer<(typeof credentialFields)[T]['secret']>;

/** How every provider check reaches out: the configured deadline and outbound policy. */
export const providerOptions = (config: Config, log: Logger): ProviderOptions => ({
  timeoutMs: config.SCOPEGATE_PROVIDER_TIMEOUT_MS,
  policy: outboundPolicy(config),
  userAgent: 'scopegate',
  log,
});

/**
 * Where a credential would be sent, checked at input time by the outbound guard's own rule:
 * a self-hosted Git host that is an IP literal the guard refuses (names are judged on connecting).
 */
export function destinationRefusal(config: Config, type: CredentialTypeName, pub: Record<string, unknown>): { field: string; message: string } | undefined {
  const host = type === 'GIT' ? (pub as PublicFields<'GIT'>).host : undefined;
  if (!host || !URL.canParse(`https://${host}`)) return undefined;
  const refused = inputRefusal(outboundPolicy(config), new URL(`https://${host}`));
  return refused && { field: 'host', message: refusalMessage(refused, 'this host') };
}

/**
 * Checks a credential's secret with its provider. Null means this type cannot be checked
 * on its own (registry credentials are checked through the registries that use them;
 * generic Git servers have no common API; SSH keys have nothing to ask).
 */
export async function checkWithProvider(
  config: Config,
  log: Logger,
  type: CredentialTypeName,
  pub: Record<string, unknown>,
  sec: Record<string, string>,
): Promise<ValidationResult | null> {
  switch (type) {
    case 'HETZNER':
      return validateHetzner(config.SCOPEGATE_HETZNER_API_URL, sec.apiToken, providerOptions(config, log));
    case 'OVH': {
      const p = pub as PublicFields<'OVH'>;
      const base = config.SCOPEGATE_OVH_API_URL ?? ovhEndpointUrl(p.endpoint);
      return validateOvh(base, { applicationKey: p.applicationKey, projectId: p.projectId, applicationSecret: sec.applicationSecret, consumerKey: sec.consumerKey }, providerOptions(config, log));
    }
    case 'GIT': {
      const p = pub as PublicFields<'GIT'>;
      const urls = { github: config.SCOPEGATE_GITHUB_API_URL, gitlab: config.SCOPEGATE_GITLAB_API_URL };
      return validateGit(p.provider, { host: p.host ?? null, username: p.username ?? null, token: sec.token }, urls, providerOptions(config, log));
    }
    case 'REGISTRY':
    case 'SSH_KEY':
      return null;
  }
}
