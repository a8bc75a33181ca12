import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // graphql ships CJS and ESM builds; Node loads the CJS one for our dependencies, so the
  // sources vitest transforms must use it too, or schema objects come from two "realms".
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // The https fakes' CA (test/fakes/tls): read when a worker starts, so it is set here.
    env: { NODE_EXTRA_CA_CERTS: fileURLToPath(new URL('fakes/tls/ca.pem', import.meta.url)) },
  },
});
