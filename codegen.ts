import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed client generation (`npm run codegen`): reads the printed schema and the
 * operations written with `graphql(...)` in the tests, and writes typed documents to
 * test/gql — the same preset an integrator uses against schema/schema.graphql.
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['test/**/*.ts', '!test/gql/**'],
  ignoreNoDocuments: true,
  // ESM with NodeNext resolution: generated imports carry .js extensions.
  emitLegacyCommonJSImports: false,
  generates: {
    'test/gql/': {
      preset: 'client',
      config: {
        scalars: { DateTime: 'string' },
        enumsAsTypes: true,
        useTypeImports: true,
      },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
