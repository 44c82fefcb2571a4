import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { redactUrl, type TributaryConfig } from '@tributary/config';
import { LocalPostgres } from '@tributary/local-postgres';
import { MIGRATIONS } from '../../../migrations';
import { ENTITIES } from './entities';
import { PoolConnections } from './pool-connections';
import { PlatformWritability } from './platform-writability';

export const PLATFORM_SCHEMA = 'tributary';
const EMBEDDED_DATABASE = 'tributary';

/**
 * The platform's own database: a pg Pool for the hand-written SQL of the repositories, and a TypeORM
 * DataSource for entities and migrations. When no URL is configured it is the embedded Postgres.
 */
export class PlatformDatabase {
  /** Both pools' connections: the embedded Postgres stops only once the last one is closed. */
  private readonly connections: { pool: PoolConnections; dataSource: PoolConnections };
  private closing?: Promise<void>;
  /** Whether this process's writers find the database writable (read-only, full): see PlatformWritability. */
  readonly writability = new PlatformWritability();

  private constructor(
    readonly url: string,
    readonly pool: Pool,
    readonly dataSource: DataSource,
    dataSourcePool: PoolConnections,
    private readonly embedded?: LocalPostgres,
  ) {
    this.connections = { pool: new PoolConnections(pool), dataSource: dataSourcePool };
  }

  static async open(config: TributaryConfig, options: { migrate?: boolean } = {}): Promise<PlatformDatabase> {
    const logger = new Logger('PlatformDatabase');
    let url = config.databaseUrl;
    let embedded: LocalPostgres | undefined;
    if (!url) {
      // Stopped by close(), after everything that uses it: not by a Ctrl-C that reaches the whole group.
      embedded = new LocalPostgres({
        dataDir: join(config.embedded.dataDir, 'pg'),
        port: config.embedded.port,
        ownProcessGroup: true,
      });
      logger.log(`starting embedded Postgres ${embedded.version()} in ${embedded.dataDir} on port ${embedded.port}`);
      await embedded.start();
      await ensureDatabase(embedded.url(), EMBEDDED_DATABASE);
      url = embedded.url(EMBEDDED_DATABASE);
    }
    const dataSource = createDataSource(url);
    try {
      await dataSource.initialize();
    } catch (error) {
      throw new Error(`cannot connect to the platform database ${redactUrl(url)}: ${(error as Error).message}`);
    }
    // Watched from here, before the migrations connect more: TypeORM's pool holds the one connection it tried.
    const dataSourcePool = new PoolConnections((dataSource.driver as PostgresDriver).master as Pool);
    if (options.migrate ?? true) await runMigrations(dataSource, logger);
    const pool = new Pool({ connectionString: url, max: 10 });
    // An idle client that loses its connection (database restart) must not crash the process.
    pool.on('error', (error) => logger.warn(`idle platform connection lost: ${error.message}`));
    return new PlatformDatabase(url, pool, dataSource, dataSourcePool, embedded);
  }

  /** A dedicated connection, outside the pool (for session state such as advisory locks). */
  async connect(applicationName: string): Promise<Client> {
    const client = new Client({ connectionString: this.url, application_name: applicationName });
    // A lost connection surfaces through the caller's next query; unhandled, the event would kill the process.
    client.on('error', (error) => Logger.warn(`${applicationName}: connection lost: ${error.message}`, 'PlatformDatabase'));
    await client.connect();
    return client;
  }

  /** Ends both pools; with the embedded Postgres, waits for their last connection to close, then stops it. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    // Only a server stopped next needs the backends gone first; an external one is left running, and a
    // platform database that stopped answering must not hold up the exit.
    const end = (connections: PoolConnections, close: () => Promise<void>) => (this.embedded ? connections.end(close) : close());
    await end(this.connections.pool, () => this.pool.end()).catch((error: Error) =>
      Logger.warn(`closing the platform pool: ${error.message}`),
    );
    if (this.dataSource.isInitialized) {
      await end(this.connections.dataSource, () => this.dataSource.destroy()).catch((error: Error) =>
        Logger.warn(`closing the TypeORM data source: ${error.message}`),
      );
    }
    await this.embedded?.stop();
  }
}

export function createDataSource(url: string): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    schema: PLATFORM_SCHEMA,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'all',
    synchronize: false,
    logging: ['error'],
  });
}

/**
 * Applies pending migrations while holding a session advisory lock, so processes started together on a
 * new platform database (a rollout, several units) apply them once, one after the other: without it two
 * would both run `InitialSchema` and one would fail on the catalog's unique indexes. Whoever waits finds
 * them applied and has nothing left to do.
 */
export async function runMigrations(dataSource: DataSource, logger = new Logger('Migrations')): Promise<number> {
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    await lock.query(`SELECT pg_advisory_lock(hashtext('tributary.migrations'))`);
    await dataSource.query(`CREATE SCHEMA IF NOT EXISTS ${PLATFORM_SCHEMA}`);
    const applied = await dataSource.runMigrations({ transaction: 'all' });
    for (const m of applied) logger.log(`applied migration ${m.name}`);
    return applied.length;
  } finally {
    // The connection goes back to TypeORM's pool: unlocked first. An unlock that fails means the session
    // is gone, and the lock with it.
    await lock
      .query(`SELECT pg_advisory_unlock(hashtext('tributary.migrations'))`)
      .catch((error: Error) => logger.warn(`releasing the migrations lock: ${error.message}`));
    await lock.release();
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${database}`);
  } finally {
    await client.end();
  }
}
