/**
 * What the operational scripts (rotate-key, audit:verify) start from: the server's
 * configuration and keyring. Unlike the server, a script never creates a development key:
 * a fresh one would seal or verify nothing, so a missing key stops it (exit status 2).
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Config, ConfigError, loadConfig } from '../src/config.js';
import { type Keyring, keyringFromConfig } from '../src/credentials/crypto.js';

export function scriptKeys(script: string, missingKeyHelp: string): { config: Config; keyring: Keyring } | null {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return null;
    }
    throw err;
  }
  if (!config.SCOPEGATE_MASTER_KEY?.trim() && !config.SCOPEGATE_KEYRING?.trim()) {
    const devKey = path.join(config.SCOPEGATE_DATA_DIR, 'master.key');
    if (!fs.existsSync(devKey)) {
      console.error(`${script}: ${missingKeyHelp} (and ${devKey} does not exist).`);
      return null;
    }
  }
  try {
    return { config, keyring: keyringFromConfig(config, (msg) => console.error(msg)) };
  } catch (err) {
    console.error(`${script}: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
}
