import fs from 'node:fs';
import { buildSchema, type GraphQLNamedType, isInputObjectType, isInterfaceType, isObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { printedSchema, SCHEMA_FILE } from '../scripts/print-schema.js';

// The public contract lives beside the repository (../shared), not in it: a clone on its own
// runs without this check, and says so in the test's name.
const CONTRACT_FILE = new URL('../../shared/contract.graphql', import.meta.url);
const HAS_CONTRACT = fs.existsSync(CONTRACT_FILE);
const BUILT_IN = new Set(['ID', 'String', 'Int', 'Float', 'Boolean']);


/** Every type, field and argument of the contract, as "Type.field(arg)" → its type, printed. */
function surface(types: Record<string, GraphQLNamedType>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, type] of Object.entries(types)) {
    if (name.startsWith('__') || BUILT_IN.has(name)) continue;
    out.set(name, type.constructor.name);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const iface of type.getInterfaces()) out.set(`${name} implements ${iface.name}`, 'implements');
      for (const field of Object.values(type.getFields())) {
        out.set(`${name}.${field.name}`, String(field.type));
        for (const arg of field.args) out.set(`${name}.${field.name}(${arg.name})`, `${arg.type}${arg.defaultValue !== undefined ? ` = ${JSON.stringify(arg.defaultValue)}` : ''}`);
      }
    }
    if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        out.set(`${name}.${field.name}`, `${field.type}${field.defaultValue !== undefined ? ` = ${JSON.stringify(field.defaultValue)}` : ''}`);
      }
    }
  }
  return out;
}

describe('schema/schema.graphql', () => {
  it('is printed from the code (run `npm run schema:print` after changing the schema)', () => {
    expect(fs.readFileSync(SCHEMA_FILE, 'utf8')).toBe(printedSchema());
  });
});

describe.skipIf(!HAS_CONTRACT)(HAS_CONTRACT ? 'against ../shared/contract.graphql' : 'against ../shared/contract.graphql (skipped: not beside this clone)', () => {
  it('contains the whole contract: same names, arguments, types, defaults and nullability', () => {
    const contract = surface(buildSchema(fs.readFileSync(CONTRACT_FILE, 'utf8')).getTypeMap());
    const printed = surface(buildSchema(printedSchema()).getTypeMap());
    const missing: string[] = [];
    for (const [key, type] of contract) {
      if (printed.get(key) !== type) missing.push(`${key}: want ${type}, have ${printed.get(key) ?? 'nothing'}`);
    }
    expect(missing).toEqual([]);
  });

  it('keeps the contract descriptions (GraphiQL documents itself)', () => {
    const contract = buildSchema(fs.readFileSync(CONTRACT_FILE, 'utf8'));
    const printed = buildSchema(printedSchema());
    const undocumented: string[] = [];
    for (const [name, type] of Object.entries(contract.getTypeMap())) {
      if (name.startsWith('__') || BUILT_IN.has(name)) continue;
      const ours = printed.getType(name);
      if (type.description && !ours?.description) undocumented.push(name);
      if ((isObjectType(type) || isInterfaceType(type)) && ours && (isObjectType(ours) || isInterfaceType(ours))) {
        for (const field of Object.values(type.getFields())) {
          if (field.description && !ours.getFields()[field.name]?.description) undocumented.push(`${name}.${field.name}`);
        }
      }
    }
    expect(undocumented).toEqual([]);
  });
});

describe('generated typed client (test/gql)', () => {
  it('is up to date with the schema and documents (run `npm run codegen`)', async () => {
    const { generate } = await import('@graphql-codegen/cli');
    const { default: config } = await import('../codegen.js');
    const outputs: { filename: string; content: string }[] = await generate({ ...config, silent: true }, false);
    const stale = outputs.filter((o) => !fs.existsSync(o.filename) || fs.readFileSync(o.filename, 'utf8') !== o.content).map((o) => o.filename);
    expect(stale).toEqual([]);
  }, 60_000);
});
