/** Stored logins: $XDG_CONFIG_HOME/scopegate/credentials.json (else ~/.config/…), mode 0600, keyed by endpoint URL. */
import { randomBytes } from 'node:crypto';
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

/**
 * The directory of the credentials, created 0700; refused when it is a symbolic link, someone
 * else's, or writable by group or others (mkdir's mode does not change an existing directory).
 */
export function checkStoreDirectory(): string {
  const dir = path.dirname(credentialsPath());
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = fs.lstatSync(dir);
  const refuse = (why: string, fix: string) => {
    throw new Error(`refusing to store logins in ${dir}: ${why}; ${fix}`);
  };
  if (stat.isSymbolicLink()) refuse('it is a symbolic link', 'make it a real directory');
  if (!stat.isDirectory()) refuse('it is not a directory', 'remove it');
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid())
    refuse(`it belongs to user ${stat.uid}, not to you`, 'remove it or set XDG_CONFIG_HOME elsewhere');
  if (stat.mode & 0o022) refuse(`others can write to it (mode ${(stat.mode & 0o777).toString(8)})`, `chmod 700 ${dir}`);
  return dir;
}

/** Written to a new temporary file of a random name (O_EXCL, 0600, no symlink followed), then renamed over the old one. */
function write(store: StoreFile): void {
  checkStoreDirectory();
  const file = credentialsPath();
  const temporary = `${file}.${randomBytes(12).toString('hex')}.tmp`;
  const fd = fs.openSync(temporary, 'wx', 0o600);
  try {
    try {
      fs.writeFileSync(fd, `${JSON.stringify(store, null, 2)}\n`);
      fs.fchmodSync(fd, 0o600);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
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
