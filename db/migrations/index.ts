import type { Migration, MigrationProvider } from 'kysely';
import * as m001 from './001_foundation.js';
import * as m002 from './002_credentials.js';
import * as m003 from './003_credential_destinations.js';
import * as m004 from './004_audit_chain_key.js';
import * as m005 from './005_instance_settings.js';
import * as m006 from './006_quotas.js';
import * as m007 from './007_key_checks.js';

/** Migrations are imported statically so they run the same under tsx, vitest and a bundle. */
export const migrations: MigrationProvider = {
  async getMigrations(): Promise<Record<string, Migration>> {
    return {
      '001_foundation': m001,
      '002_credentials': m002,
      '003_credential_destinations': m003,
      '004_audit_chain_key': m004,
      '005_instance_settings': m005,
      '006_quotas': m006,
      '007_key_checks': m007,
    };
  },
};
