import { createConnection, format, type Connection, type QueryOptions } from 'mysql2/promise';
import type { ColumnSchema } from '@tributary/schema-registry';
import type { StoredOffset, TargetColumn, TargetDialect, TargetTimeouts } from '../target-dialect';
import {
  CLIENT_GUARD_MS,
  DEFAULT_TARGET_TIMEOUTS,
  endOrDestroy,
  IncompatibleTargetError,
  unlessAborted,
} from '../target-dialect';
import type { TargetTable } from '../target-table';
import { KeylessRows, type Statement } from '../keyless-rows';
import { mysqlKeyless } from './mysql-keyless';
import { mysqlNameProblem } from './mysql-names';
import { type StatementLimits, valuesStatements } from './mysql-batch';
import { mysqlColumnType } from './mysql-types';

/** Longer statements save nothing more (a round trip per 16 MiB) and only hold more memory. */
const TARGET_STATEMENT_BYTES = 16 * 1024 * 1024;
/** Room in a packet for what is not the statement (the command byte, the header): generous. */
const PACKET_FRAMING_BYTES = 1024;
/** MySQL error numbers of data and schema problems that no retry can fix. */
const INCOMPATIBLE = new Set([
  1060, 1103, 1166, 1054, 1146, 1264, 1265, 1292, 1366, 1406, 1416, 1048, 1062, 1452, 3140, 4025, 1690,
]);

const LOCK_OFFSET =
  'SELECT next_offset, topic_incarnation FROM tributary_offsets WHERE group_name = ? AND topic = ? AND `partition` = ? FOR UPDATE';
const SAVE_OFFSET = `INSERT INTO tributary_offsets (group_name, topic, \`partition\`, next_offset, topic_incarnation) VALUES (?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE next_offset = VALUES(next_offset), updated_at = CURRENT_TIMESTAMP(6),
          topic_incarnation = COALESCE(VALUES(topic_incarnation), topic_incarnation)`;

/**
 * The driver's own formatting, skipped for a statement without parameters: it scans every statement for
 * `?` placeholders, so a batch's upsert (hundreds of kB of values, escaped already) was read once more,
 * character by character, for nothing (4 % of the MySQL sink's CPU per row in bench:sink's profile).
 */
function formatParameters(sql: string, values?: Parameters<typeof format>[1]): string {
  return values === undefined || (Array.isArray(values) && values.length === 0) ? sql : format(sql, values, false, 'Z');
}

/**
 * MySQL/MariaDB target: upserts with ON DUPLICATE KEY UPDATE, truncates as DELETE (TRUNCATE would
 * commit the transaction), offsets in `tributary_offsets`, session in UTC.
 */
export class MysqlDialect implements TargetDialect {
  readonly kind = 'mysql';
  /** `lower_case_table_names` is 1 or 2: `Users` and `users` name one table (read when the session starts). */
  private foldsTableCase = false;
  /** How long a statement may be: from the server's max_allowed_packet, read when the session starts. */
  private limits: StatementLimits = { targetBytes: 0, maxBytes: 0 };

  private constructor(
    private readonly conn: Connection,
    /** Client-side limit of every statement: the guard against a server that never answers. */
    private readonly queryTimeoutMs: number,
  ) {}

  /** Connects with every wait bounded (`timeouts`); an abort of `signal` ends the attempt at once. */
  static async connect(
    url: string,
    timeouts: TargetTimeouts = DEFAULT_TARGET_TIMEOUTS,
    signal?: AbortSignal,
  ): Promise<MysqlDialect> {
    signal?.throwIfAborted();
    // mysql2 enforces connectTimeout itself; an abort during the attempt is seen as soon as it ends.
    const conn = await createConnection({
      uri: url,
      timezone: 'Z',
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      connectTimeout: timeouts.connectMs,
      // The offset lock rides with START TRANSACTION and the offset save with COMMIT. Every value still
      // goes through the driver's escaping, never into the text as it is.
      multipleStatements: true,
      queryFormat: formatParameters,
    });
    conn.on('error', () => undefined); // surfaced by the next query
    const dialect = new MysqlDialect(conn, timeouts.statementMs + CLIENT_GUARD_MS);
    try {
      await unlessAborted(
        signal,
        () => dialect.destroy(),
        () => dialect.startSession(timeouts),
      );
    } catch (error) {
      dialect.destroy();
      throw error;
    }
    return dialect;
  }

  /**
   * UTC, strict, and lock and statement waits bounded on the server (lock_wait_timeout covers table locks).
   * READ COMMITTED, as Postgres applies: under InnoDB's REPEATABLE READ the offset lock of a partition
   * that has no offset row yet takes a gap lock, and the first batches of several partitions applied at
   * once deadlock on each other's offset inserts.
   */
  private async startSession(timeouts: TargetTimeouts): Promise<void> {
    const lockSeconds = Math.max(1, Math.ceil(timeouts.lockMs / 1000));
    await this.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
    await this.query(
      `SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION',
           lock_wait_timeout = ${lockSeconds}, innodb_lock_wait_timeout = ${lockSeconds}`,
    );
    try {
      await this.query(`SET max_statement_time = ${timeouts.statementMs / 1000}`); // MariaDB
    } catch (error) {
      if ((error as { errno?: number }).errno !== 1193) throw error; // MySQL: only the client-side limit
    }
    const [rows] = await this.query('SELECT @@lower_case_table_names AS folds, @@max_allowed_packet AS packet');
    const session = (rows as { folds: number | string; packet: number | string }[])[0];
    this.foldsTableCase = Number(session.folds) !== 0;
    const maxBytes = Number(session.packet) - PACKET_FRAMING_BYTES;
    this.limits = { targetBytes: Math.min(TARGET_STATEMENT_BYTES, maxBytes), maxBytes };
  }

  begin = async (): Promise<void> => void (await this.query('START TRANSACTION'));
  commit = async (): Promise<void> => void (await this.query('COMMIT'));
  rollback = async (): Promise<void> => void (await this.query('ROLLBACK').catch(() => undefined));

  /**
   * Group and topic names are stored as their UTF-8 bytes (VARBINARY): a VARCHAR key compares with the
   * database's collation, under which `src.public.Users` and `src.public.users` (or a name and the same
   * name with a trailing space) are one row, so one topic's offset would overwrite another's. Offsets
   * tables made as VARCHAR by earlier versions are converted, through utf8mb4 so non-ASCII names keep
   * their characters.
   */
  async prepare(): Promise<void> {
    await this.query(
      `CREATE TABLE IF NOT EXISTS tributary_offsets (
         group_name VARBINARY(400) NOT NULL, topic VARBINARY(800) NOT NULL, \`partition\` INT NOT NULL, next_offset BIGINT NOT NULL,
         updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), topic_incarnation VARCHAR(40) NULL,
         PRIMARY KEY (group_name, topic, \`partition\`)) ENGINE=InnoDB`,
    );
    await this.convertVarcharKeys();
    await this.addIncarnationColumn();
  }

  private async convertVarcharKeys(): Promise<void> {
    const [rows] = await this.query(
      `SELECT 1 FROM information_schema.columns
        WHERE table_schema = DATABASE() AND table_name = 'tributary_offsets' AND column_name = 'topic' AND data_type = 'varchar'`,
    );
    if ((rows as unknown[]).length === 0) return;
    await this.query(
      `ALTER TABLE tributary_offsets MODIFY group_name VARCHAR(100) CHARACTER SET utf8mb4 NOT NULL,
         MODIFY topic VARCHAR(200) CHARACTER SET utf8mb4 NOT NULL`,
    );
    await this.query(
      'ALTER TABLE tributary_offsets MODIFY group_name VARBINARY(400) NOT NULL, MODIFY topic VARBINARY(800) NOT NULL',
    );
  }

  /** Tables made before incarnations were stored get the column in place (nullable, no default). */
  private async addIncarnationColumn(): Promise<void> {
    const [rows] = await this.query(
      `SELECT 1 FROM information_schema.columns
        WHERE table_schema = DATABASE() AND table_name = 'tributary_offsets' AND column_name = 'topic_incarnation'`,
    );
    if ((rows as unknown[]).length) return;
    try {
      await this.query('ALTER TABLE tributary_offsets ADD COLUMN topic_incarnation VARCHAR(40) NULL');
    } catch (error) {
      if ((error as { errno?: number }).errno !== 1060) throw error; // another member added it first
    }
  }

  async lockOffset(group: string, topic: string, partition: number): Promise<StoredOffset | undefined> {
    const [rows] = await this.query(LOCK_OFFSET, [group, topic, partition]);
    return storedOffset(rows);
  }

  async saveOffset(group: string, topic: string, partition: number, position: StoredOffset): Promise<void> {
    await this.query(SAVE_OFFSET, [group, topic, partition, String(position.nextOffset), position.topicIncarnation]);
  }

  /** One round trip for both statements (the session allows several statements per query; values are escaped by the driver). */
  async beginAndLockOffset(group: string, topic: string, partition: number): Promise<StoredOffset | undefined> {
    const [results] = await this.query(`START TRANSACTION; ${LOCK_OFFSET}`, [group, topic, partition]);
    return storedOffset((results as unknown[])[1]);
  }

  async saveOffsetAndCommit(group: string, topic: string, partition: number, position: StoredOffset): Promise<void> {
    await this.query(`${SAVE_OFFSET}; COMMIT`, [group, topic, partition, String(position.nextOffset), position.topicIncarnation]);
  }

  nameProblem(table: TargetTable, columns: string[]): string | undefined {
    return mysqlNameProblem(table, columns, this.foldsTableCase);
  }

  async describe(table: TargetTable): Promise<TargetColumn[] | undefined> {
    const [rows] = await this.query(
      `SELECT column_name AS name, column_type AS type FROM information_schema.columns
        WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position`,
      [table.table],
    );
    const list = rows as TargetColumn[];
    return list.length ? list : undefined;
  }

  async createTable(table: TargetTable, columns: ColumnSchema[], primaryKey: string[]): Promise<void> {
    const defs = columns.map(
      (c) =>
        `${this.q(c.name)} ${mysqlColumnType(c, primaryKey.includes(c.name))}${primaryKey.includes(c.name) ? ' NOT NULL' : ''}`,
    );
    await this.run(
      `CREATE TABLE IF NOT EXISTS ${this.table(table)} (${defs.join(', ')}, PRIMARY KEY (${primaryKey.map((k) => this.q(k)).join(', ')})) ENGINE=InnoDB`,
    );
  }

  async addColumn(table: TargetTable, column: ColumnSchema): Promise<void> {
    await this.run(
      // No IF NOT EXISTS: MySQL 8 lacks it; the sink only adds columns describe() did not list.
      `ALTER TABLE ${this.table(table)} ADD COLUMN ${this.q(column.name)} ${mysqlColumnType(column, false)}`,
    );
  }

  async upsert(
    table: TargetTable,
    columns: ColumnSchema[],
    primaryKey: string[],
    rows: Record<string, unknown>[],
  ): Promise<void> {
    const names = columns.map((c) => this.q(c.name)).join(', ');
    const updates = columns
      .filter((c) => !primaryKey.includes(c.name))
      .map((c) => `${this.q(c.name)} = VALUES(${this.q(c.name)})`);
    // With nothing but the key to update, "update the key to itself" keeps the statement an idempotent upsert.
    const onDuplicate = updates.length ? updates.join(', ') : `${this.q(primaryKey[0])} = ${this.q(primaryKey[0])}`;
    const head = `INSERT INTO ${this.table(table)} (${names}) VALUES `;
    for (const sql of valuesStatements(head, ` ON DUPLICATE KEY UPDATE ${onDuplicate}`, columns, rows, this.limits)) {
      await this.run(sql);
    }
  }

  async delete(table: TargetTable, key: ColumnSchema[], keys: Record<string, unknown>[]): Promise<void> {
    const cols = key.map((c) => this.q(c.name)).join(', ');
    for (const sql of valuesStatements(`DELETE FROM ${this.table(table)} WHERE (${cols}) IN (`, ')', key, keys, this.limits)) {
      await this.run(sql);
    }
  }

  async truncate(table: TargetTable): Promise<void> {
    await this.run(`DELETE FROM ${this.table(table)}`);
  }

  async keyTexts(table: TargetTable, key: ColumnSchema[]): Promise<(string | null)[][]> {
    const [rows] = await this.query({
      sql: `SELECT ${key.map((c) => `CAST(${this.q(c.name)} AS CHAR)`).join(', ')} FROM ${this.table(table)}`,
      rowsAsArray: true,
    });
    return rows as (string | null)[][];
  }

  async close(): Promise<void> {
    // end() waits for the server's goodbye, which a server that never answers never sends.
    await endOrDestroy(
      () => this.conn.end(),
      () => this.destroy(),
      CLIENT_GUARD_MS,
    );
  }

  destroy(): void {
    // mysql2's destroy() only half-closes; destroying the socket rejects the calls in progress at once.
    (this.conn as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  }

  private query(sql: string | QueryOptions, params?: unknown[]) {
    const options = typeof sql === 'string' ? { sql } : sql;
    return this.conn.query({ ...options, timeout: this.queryTimeoutMs }, params);
  }

  private async run(sql: string): Promise<void> {
    try {
      await this.query(sql);
    } catch (error) {
      const errno = (error as { errno?: number }).errno ?? 0;
      if (INCOMPATIBLE.has(errno)) throw new IncompatibleTargetError(`${(error as Error).message} (MySQL error ${errno})`);
      throw error;
    }
  }

  /** The table in the URL's database; nameProblem refused a schema before any statement is made. */
  private table(table: TargetTable): string {
    return this.q(table.table);
  }

  private q(identifier: string): string {
    return `\`${identifier.replace(/`/g, '``')}\``;
  }

  // Tables without a key (keyless-rows.ts has the statements, mysql-keyless.ts the syntax).

  /** Whether the server is MariaDB (JSON is text there), asked once. */
  private mariadb?: boolean;

  async createKeylessTable(table: TargetTable, columns: ColumnSchema[]): Promise<void> {
    const defs = columns.map((c) => `${this.q(c.name)} ${mysqlColumnType(c, false)}`);
    await this.run(`CREATE TABLE IF NOT EXISTS ${this.table(table)} (${defs.join(', ')}) ENGINE=InnoDB`);
  }

  readonly keyless = new KeylessRows(
    mysqlKeyless(
      () => this.isMariadb(),
      () => this.limits,
    ),
    (t) => this.table(t),
    (n) => this.q(n),
    (s) => this.affected(s),
  );

  private async isMariadb(): Promise<boolean> {
    if (this.mariadb === undefined) {
      const [rows] = await this.query('SELECT VERSION() AS version');
      this.mariadb = /mariadb/i.test(String((rows as { version: string }[])[0].version));
    }
    return this.mariadb;
  }

  /**
   * As run(), returning the rows the statement found: mysql2 connects with CLIENT_FOUND_ROWS, so an
   * UPDATE that matched a row counts it even when its values did not change; a SELECT counts its rows.
   */
  private async affected(statement: Statement): Promise<number> {
    try {
      const [result] = await this.query(statement.text, statement.values);
      return Array.isArray(result) ? result.length : (result as { affectedRows: number }).affectedRows;
    } catch (error) {
      const errno = (error as { errno?: number }).errno ?? 0;
      if (INCOMPATIBLE.has(errno)) throw new IncompatibleTargetError(`${(error as Error).message} (MySQL error ${errno})`);
      throw error;
    }
  }
}

function storedOffset(rows: unknown): StoredOffset | undefined {
  const list = rows as { next_offset: string; topic_incarnation: string | null }[];
  return list.length ? { nextOffset: BigInt(list[0].next_offset), topicIncarnation: list[0].topic_incarnation } : undefined;
}
