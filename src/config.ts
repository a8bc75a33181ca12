import { z } from 'zod';
import { QUOTAS, type QuotaSetting } from './domain/quotas.js';
import { LOG_FORMATS } from './logger.js';
import { parseAllowList } from './outbound/policy.js';
import { GITHUB_DEFAULT_URL, GITLAB_DEFAULT_URL } from './providers/git.js';
import { HETZNER_DEFAULT_URL } from './providers/hetzner.js';

const positiveInt = (name: string) =>
  z.coerce.number({ error: `${name} must be a whole number` }).int(`${name} must be a whole number`).positive(`${name} must be positive`);

const httpUrl = (name: string) =>
  z.url({ protocol: /^https?$/, error: `${name} must be an http(s) URL` }).transform((u) => u.replace(/\/+$/, ''));

const flag = (name: string) =>
  z.enum(['true', 'false'], { error: `${name} must be true or false` }).default('false').transform((v) => v === 'true');

const quotaLimit = (name: string, fallback: number) => positiveInt(name).max(1_000_000, `${name} must be at most 1000000`).default(fallback);

/** One variable per quota, from the quota table (src/domain/quotas.ts). */
const quotaSettings = Object.fromEntries(Object.values(QUOTAS).map((q) => [q.setting, quotaLimit(q.setting, q.default)])) as Record<
  QuotaSetting,
  ReturnType<typeof quotaLimit>
>;

const envSchema = z.object({
  PORT: z.coerce.number({ error: 'PORT must be a port number' }).int().min(0).max(65535, 'PORT must be 0-65535').default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .refine((v) => !v.includes('://') || /^postgres(ql)?:\/\//.test(v), 'DATABASE_URL must be a SQLite file path or postgres://…')
    .default('./data/scopegate.db'),
  SCOPEGATE_DATA_DIR: z.string().min(1).default('./data'),
  SCOPEGATE_MASTER_KEY: z.string().optional(),
  SCOPEGATE_KEYRING: z.string().optional(),
  SCOPEGATE_ACTIVE_KEY_ID: z.string().optional(),
  SCOPEGATE_ADMIN_PASSWORD: z.string().min(12, 'SCOPEGATE_ADMIN_PASSWORD must be at least 12 characters').max(1024).optional(),
  SCOPEGATE_MAX_TOKEN_LIFETIME_DAYS: positiveInt('SCOPEGATE_MAX_TOKEN_LIFETIME_DAYS').max(3650).optional(),
  SCOPEGATE_SESSION_TTL_HOURS: positiveInt('SCOPEGATE_SESSION_TTL_HOURS').max(24 * 30).default(12),
  SCOPEGATE_CORS_ORIGINS: z
    .string()
    .optional()
    .transform((v) => (v ? v.split(',').map((o) => o.trim()).filter(Boolean) : []))
    .pipe(z.array(z.url({ error: 'SCOPEGATE_CORS_ORIGINS must be a comma-separated list of origins like https://app.example.com' }))),
  SCOPEGATE_TOKEN_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  SCOPEGATE_REDIS_URL: z.string().optional(),
  // The whole request (headers and body) must arrive within this; a slower client gets 408.
  SCOPEGATE_REQUEST_TIMEOUT_SECONDS: positiveInt('SCOPEGATE_REQUEST_TIMEOUT_SECONDS').max(600).default(30),
  // Mutation fields per window for each user (all their sessions and tokens) and each API token; 0 turns it off.
  SCOPEGATE_MUTATION_LIMIT: z.coerce
    .number({ error: 'SCOPEGATE_MUTATION_LIMIT must be a whole number' })
    .int('SCOPEGATE_MUTATION_LIMIT must be a whole number')
    .min(0, 'SCOPEGATE_MUTATION_LIMIT must be 0 (off) or more')
    .max(1_000_000, 'SCOPEGATE_MUTATION_LIMIT must be at most 1000000')
    .default(100),
  SCOPEGATE_MUTATION_WINDOW_SECONDS: positiveInt('SCOPEGATE_MUTATION_WINDOW_SECONDS').max(3600).default(10),
  ...quotaSettings,
  SCOPEGATE_PROVIDER_TIMEOUT_MS: positiveInt('SCOPEGATE_PROVIDER_TIMEOUT_MS').max(60_000).default(5000),
  SCOPEGATE_HETZNER_API_URL: httpUrl('SCOPEGATE_HETZNER_API_URL').default(HETZNER_DEFAULT_URL),
  SCOPEGATE_OVH_API_URL: httpUrl('SCOPEGATE_OVH_API_URL').optional(),
  SCOPEGATE_GITHUB_API_URL: httpUrl('SCOPEGATE_GITHUB_API_URL').default(GITHUB_DEFAULT_URL),
  SCOPEGATE_GITLAB_API_URL: httpUrl('SCOPEGATE_GITLAB_API_URL').default(GITLAB_DEFAULT_URL),
  // Outbound requests reach public https addresses only, unless these open internal ones (src/outbound/policy.ts).
  SCOPEGATE_ALLOW_PRIVATE_TARGETS: flag('SCOPEGATE_ALLOW_PRIVATE_TARGETS'),
  SCOPEGATE_OUTBOUND_ALLOW: z
    .string()
    .default('')
    .transform((v, ctx) => {
      try {
        return parseAllowList(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `SCOPEGATE_OUTBOUND_ALLOW entry ${(err as Error).message}` });
        return z.NEVER;
      }
    }),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Unset: pretty on a terminal, JSON lines otherwise (src/logger.ts).
  LOG_FORMAT: z.enum(LOG_FORMATS, { error: `LOG_FORMAT must be ${LOG_FORMATS.join(' or ')} (unset: pretty on a terminal, json otherwise)` }).optional(),
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
}).refine((c) => !(c.NODE_ENV === 'production' && c.SCOPEGATE_ALLOW_PRIVATE_TARGETS), {
  path: ['SCOPEGATE_ALLOW_PRIVATE_TARGETS'],
  message: 'SCOPEGATE_ALLOW_PRIVATE_TARGETS is for development and tests; in production list the internal hosts in SCOPEGATE_OUTBOUND_ALLOW',
});

export type Config = z.infer<typeof envSchema>;

export class ConfigError extends Error {}

/** Validates the environment once at start; every message names the variable at fault. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
