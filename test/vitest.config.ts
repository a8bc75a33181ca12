import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests that drive a browser or measure time: alone, one file at a time, after all the others
 * (on a busy machine, files running beside them make them slow and their timings wrong).
 */
const ALONE = ['test/**/*.browser.test.ts', 'test/replicas.test.ts', 'test/big-bodies.test.ts'];

export default defineConfig({
  // graphql ships CJS and ESM builds; Node loads the CJS one for our dependencies, so the
  // sources vitest transforms must use it too, or schema objects come from two "realms".
  // (Both projects below inherit this through `extends: true`.)
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // The https fakes' CA (test/fakes/tls): read when a worker starts, so it is set here.
    env: { NODE_EXTRA_CA_CERTS: fileURLToPath(new URL('fakes/tls/ca.pem', import.meta.url)) },
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...ALONE], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'alone', include: ALONE, fileParallelism: false, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
