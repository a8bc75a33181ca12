import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Where the PostgreSQL runs create their databases (a local server when none is named). */
const ADMIN_URL = process.env.SCOPEGATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh, empty database for one test file, or null (with a warning) when no server answers. */
export async function createDatabase(file: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    const name = `scopegate_test_${randomBytes(4).toString('hex')}`;
    await client.query(`create database ${name}`);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    return url.toString();
  } catch {
    console.warn(`${file}: no PostgreSQL at ${ADMIN_URL}, skipping the PostgreSQL run`);
    return null;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function dropDatabase(url: string) {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  await client.query(`drop database if exists ${new URL(url).pathname.slice(1)} with (force)`);
  await client.end();
}
