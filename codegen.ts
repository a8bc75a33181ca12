import type { CodegenConfig } from '@graphql-codegen/cli';

/** The client preset, as an integrator configures it against schema/schema.graphql. */
const clientPreset = {
  preset: 'client',
  config: {
    scalars: { DateTime: 'string' },
    enumsAsTypes: true,
    useTypeImports: true,
  },
  presetConfig: { fragmentMasking: false },
} as const;

/**
 * Typed documents (`npm run codegen`, after scripts/client-operations.ts wrote the client's
 * operations from the schema):
 * - test/gql: the operations written with `graphql(...)` in the tests;
 * - src/client/generated: the typed client's one operation per root field (scopegate/client).
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  ignoreNoDocuments: true,
  // ESM with NodeNext resolution: generated imports carry .js extensions.
  emitLegacyCommonJSImports: false,
  generates: {
    'test/gql/': { ...clientPreset, documents: ['test/**/*.ts', '!test/gql/**', '!test/fixtures/**'] },
    'src/client/generated/': { ...clientPreset, documents: 'src/client/operations.graphql' },
  },
};

export default config;
