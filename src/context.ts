import type { Config } from './config.js';
import type { Keyring } from './credentials/crypto.js';
import type { AuthFailureRecorder } from './domain/auth-failures.js';
import type { LoginThrottle } from './auth/login-throttle.js';
import type { Logger } from './logger.js';
import type { TokenVerifier } from './auth/verify.js';
import type { Principal } from './policy.js';
import type { Invalidations, RowCache } from './store/cache.js';
import type { DB } from './store/db.js';
import { createLoaders, type Loaders, type MembershipRole, type NamespaceRow } from './store/loaders.js';

/** What lives as long as the process: configuration, database, logger, token cache. */
export interface App {
  config: Config;
  db: DB;
  dialect: 'sqlite' | 'postgres';
  log: Logger;
  verifier: TokenVerifier;
  /** Hears every change to what the caches below (and the verifier's) keep; see src/store/cache.ts. */
  invalidations: Invalidations;
  /** Namespaces by `id:<id>` and `name:<name>`. */
  namespaces: RowCache<NamespaceRow>;
  /** Users' membership roles by `<user id>/<namespace id>`, none included. */
  roles: RowCache<MembershipRole>;
  /** Keys that seal credential secrets at rest. */
  keyring: Keyring;
  authFailures: AuthFailureRecorder;
  loginThrottle: LoginThrottle;
  now: () => Date;
}

/** Who asked and from where; recorded with every audit event and log line. */
export interface RequestMeta {
  requestId: string;
  ipAddress: string | null;
  userAgent: string | null;
}

export interface Context extends RequestMeta {
  app: App;
  /** Null only for anonymous requests, which may run nothing but `login`. */
  principal: Principal | null;
  loaders: Loaders;
  log: Logger;
}

/** For resolvers behind a scope that guarantees a principal. */
export function principalOf(ctx: Context): Principal {
  if (!ctx.principal) throw new Error('no principal on an authenticated path');
  return ctx.principal;
}

/**
 * `login` is the one operation that changes who is asking: the rest of its response (the
 * user, their memberships) is read as the user who just proved their password.
 */
export function actAs(ctx: Context, principal: Principal): void {
  ctx.principal = principal;
  ctx.loaders = createLoaders(ctx.app, principal);
}
