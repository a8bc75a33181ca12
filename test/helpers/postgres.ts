import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { skipOrFail } from './services.js';

/** Where the PostgreSQL runs create their databases (a local server when none is named). */
const ADMIN_URL = process.env.SCOPEGATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A fresh, empty database for one test file; or, when no server answers and CI is not set,
 * why the PostgreSQL run is skipped. Any other error (login, permission), or none answering
 * on CI, throws: the test file fails.
 */
export async function testDatabase(file: string): Promise<{ url: string; skipped: null } | { url: null; skipped: string }> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (err) {
    return { url: null, skipped: skipOrFail('PostgreSQL', ADMIN_URL, err, file) };
  }
  try {
    const name = `scopegate_test_${randomBytes(4).toString('hex')}`;
    await client.query(`create database ${name}`);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    return { url: url.toString(), skipped: null };
  } finally {
    await client.end().catch(() => {});
  }
}

/** testDatabase's URL, or null when the run is skipped. */
export async function createDatabase(file: string): Promise<string | null> {
  return (await testDatabase(file)).url;
}

export async function dropDatabase(url: string) {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  await client.query(`drop database if exists ${new URL(url).pathname.slice(1)} with (force)`);
  await client.end();
}
