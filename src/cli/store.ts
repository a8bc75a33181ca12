/** Stored logins: $XDG_CONFIG_HOME/scopegate/credentials.json (else ~/.config/…), mode 0600, keyed by endpoint URL. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface StoredLogin {
  token: string;
  /** session (from `login`) or token (from `login --with-token`). */
  kind: 'session' | 'token';
  username?: string | null;
  expiresAt?: string | null;
}

type StoreFile = { logins: Record<string, StoredLogin> };

export function credentialsPath(): string {
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'scopegate', 'credentials.json');
}

function read(): StoreFile {
  try {
    const parsed = JSON.parse(fs.readFileSync(credentialsPath(), 'utf8')) as Partial<StoreFile>;
    return { logins: parsed.logins ?? {} };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { logins: {} };
    throw new Error(`cannot read ${credentialsPath()}: ${(error as Error).message}`);
  }
}

/** Written to a temporary file created 0600, then renamed over the old one. */
function write(store: StoreFile): void {
  const file = credentialsPath();
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(store, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(temporary, 0o600);
  fs.renameSync(temporary, file);
}

export function getLogin(endpoint: string): StoredLogin | undefined {
  return read().logins[endpoint];
}

export function saveLogin(endpoint: string, login: StoredLogin): void {
  const store = read();
  store.logins[endpoint] = login;
  write(store);
}

export function removeLogin(endpoint: string): boolean {
  const store = read();
  if (!(endpoint in store.logins)) return false;
  delete store.logins[endpoint];
  write(store);
  return true;
}
