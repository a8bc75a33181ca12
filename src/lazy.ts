import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS dependency loaded the first time it is used, not at start-up: an instance on
 * SQLite never needs pg or ioredis, and SSH keys and outbound calls are rare. Start-up is
 * mostly module loading.
 */
export function lazyRequire<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}
