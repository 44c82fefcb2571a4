import { createConnection, type Connection } from 'mysql2/promise';
import { onCleanup } from './cleanup';

/** The MariaDB/MySQL server the benches write to (the machine's own, root without a password). */
export const MARIADB_URL = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

export interface MariaDb {
  /** A connection to `database`, UTC, strict mode. */
  conn: Connection;
  /** The URL of `database`, for a sink's `url`. */
  url: string;
  version: string;
}

/**
 * A fresh database `database` on the server at MARIADB_URL, dropped at cleanup; undefined when no
 * server answers (benches leave their MariaDB part out then, with a note).
 */
export async function openMariaDb(database: string): Promise<MariaDb | undefined> {
  let admin: Connection;
  try {
    admin = await createConnection({ uri: MARIADB_URL, connectTimeout: 3_000 });
  } catch {
    return undefined;
  }
  admin.on('error', () => undefined);
  onCleanup(`MariaDB database ${database}`, async () => {
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``).catch(() => undefined);
    await admin.end().catch(() => undefined);
  });
  await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await admin.query(`CREATE DATABASE \`${database}\``);
  const [rows] = await admin.query('SELECT VERSION() AS v');
  const url = new URL(MARIADB_URL);
  url.pathname = `/${database}`;
  const conn = await createConnection({ uri: url.toString(), timezone: 'Z', supportBigNumbers: true, bigNumberStrings: true });
  conn.on('error', () => undefined);
  onCleanup('MariaDB connection', () => conn.end().catch(() => undefined));
  return { conn, url: url.toString(), version: (rows as { v: string }[])[0].v };
}
