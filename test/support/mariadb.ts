import { spawnSync } from 'node:child_process';
import { createConnection } from 'mysql2/promise';

export const MARIADB_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

/**
 * Whether the MariaDB the suite expects is reachable. Under CI=true it must be: a missing one is a
 * failure (the caller throws), never a skip. Elsewhere its tests are left out with a note.
 */
export async function mariadbAvailable(): Promise<boolean> {
  try {
    const conn = await createConnection({ uri: MARIADB_URL, connectTimeout: 2_000 });
    await conn.end();
    return true;
  } catch (error) {
    if (process.env.CI === 'true')
      throw new Error(`MariaDB is required under CI but unreachable at ${MARIADB_URL}: ${(error as Error).message}`);
    process.stderr.write(`NOTE: no MariaDB at ${MARIADB_URL}; MySQL sink tests are left out on this machine\n`);
    return false;
  }
}

/** A fresh database on the MariaDB server; returns its URL. */
export async function createMariadbDatabase(name: string): Promise<string> {
  const conn = await createConnection({ uri: MARIADB_URL });
  await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await conn.query(`CREATE DATABASE \`${name}\``);
  await conn.end();
  const url = new URL(MARIADB_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function mariadbQuery<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const conn = await createConnection({ uri: url, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
  try {
    const [rows] = await conn.query(sql, params);
    return rows as T[];
  } finally {
    await conn.end();
  }
}

/**
 * For choosing at load time between `it` and `it.skip`, so that a MariaDB-only test is reported as
 * skipped rather than passed on a machine without MariaDB. Under CI=true it is always true: the
 * suite's beforeAll then fails loudly when MariaDB is missing.
 */
export function mariadbExpected(): boolean {
  if (process.env.CI === 'true') return true;
  const { hostname, port } = new URL(MARIADB_URL);
  const probe = spawnSync(
    process.execPath,
    [
      '-e',
      `require('net').connect(${Number(port || 3306)}, ${JSON.stringify(hostname)}).on('connect', () => process.exit(0)).on('error', () => process.exit(1))`,
    ],
    { timeout: 3_000 },
  );
  return probe.status === 0;
}
