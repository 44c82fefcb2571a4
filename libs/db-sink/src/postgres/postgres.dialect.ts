import { Client, type QueryResult } from 'pg';
import type { ColumnSchema } from '@tributary/schema-registry';
import type { StoredOffset, TargetColumn, TargetDialect, TargetTimeouts } from '../target-dialect';
import {
  CLIENT_GUARD_MS,
  DEFAULT_TARGET_TIMEOUTS,
  endOrDestroy,
  IncompatibleTargetError,
  unlessAborted,
} from '../target-dialect';
import { targetTableKey, type TargetTable } from '../target-table';
import { KeylessRows, type Statement } from '../keyless-rows';
import { POSTGRES_KEYLESS } from './postgres-keyless';
import { postgresNameProblem } from './postgres-names';
import { postgresColumnType } from './postgres-types';
import type { BatchStatement, ColumnTypes } from './postgres-batch';
import { deleteStatement, upsertStatement } from './postgres-batch';
import { CopyInserts } from './postgres-copy';

/** Named statements kept per session; beyond it, batch statements are parsed each time. */
const MAX_NAMED_STATEMENTS = 200;

/** Postgres target: same types as the source, upserts with ON CONFLICT, offsets in `tributary_offsets`. */
export class PostgresDialect implements TargetDialect {
  readonly kind = 'postgres';
  private constructor(
    private readonly client: Client,
    private readonly schema: string,
    /** The server's `max_identifier_length` (63 unless Postgres was built with another NAMEDATALEN). */
    private readonly maxIdentifierBytes: number,
  ) {}

  /** Target column types per table (targetTableKey), read once per session; dropped by DDL and by any failure. */
  private readonly types = new Map<string, ColumnTypes>();
  /** Statement text -> name of the statement prepared for it in this session. */
  private readonly statements = new Map<string, string>();
  /** The COPY fast path of upserts of rows new to the target (postgres-copy.ts). */
  private readonly copies = new CopyInserts();

  /** Connects with every wait bounded (`timeouts`); an abort of `signal` ends the attempt at once. */
  static async connect(
    url: string,
    schema: string,
    timeouts: TargetTimeouts = DEFAULT_TARGET_TIMEOUTS,
    signal?: AbortSignal,
  ): Promise<PostgresDialect> {
    const client = new Client({
      connectionString: url,
      application_name: 'tributary-sink',
      connectionTimeoutMillis: timeouts.connectMs,
      statement_timeout: timeouts.statementMs,
      lock_timeout: timeouts.lockMs,
      idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
      query_timeout: timeouts.statementMs + CLIENT_GUARD_MS,
    });
    client.on('error', () => undefined); // surfaced by the next query
    const dialect = new PostgresDialect(client, schema, 63);
    await unlessAborted(
      signal,
      () => dialect.destroy(),
      () => client.connect(),
    );
    try {
      const { rows } = await client.query<{ max: string }>(`SELECT current_setting('max_identifier_length') AS max`);
      return new PostgresDialect(client, schema, Number(rows[0].max));
    } catch (error) {
      dialect.destroy();
      throw error;
    }
  }

  begin = async (): Promise<void> => void (await this.client.query('BEGIN'));
  commit = async (): Promise<void> => void (await this.client.query('COMMIT'));
  rollback = async (): Promise<void> => void (await this.client.query('ROLLBACK').catch(() => undefined));

  async prepare(): Promise<void> {
    await this.client
      .query(
        `CREATE TABLE IF NOT EXISTS ${this.q(this.schema)}.tributary_offsets (
         group_name text NOT NULL, topic text NOT NULL, partition int NOT NULL, next_offset bigint NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now(), topic_incarnation text,
         PRIMARY KEY (group_name, topic, partition))`,
      )
      .catch((error: { code?: string }) => {
        // Two sessions creating it at once: IF NOT EXISTS does not cover the race, and the loser sees a
        // duplicate key (23505), relation (42P07) or row type (42710, "type ... already exists").
        if (error.code !== '23505' && error.code !== '42P07' && error.code !== '42710') throw error;
      });
    // Tables made before incarnations were stored get the column in place (nullable: no rewrite). Only
    // when missing: ADD COLUMN IF NOT EXISTS would still wait for the table's exclusive lock.
    const { rows } = await this.client.query(
      `SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'topic_incarnation' AND NOT attisdropped`,
      [`${this.q(this.schema)}.tributary_offsets`],
    );
    if (!rows.length) {
      await this.client.query(
        `ALTER TABLE ${this.q(this.schema)}.tributary_offsets ADD COLUMN IF NOT EXISTS topic_incarnation text`,
      );
    }
  }

  async lockOffset(group: string, topic: string, partition: number): Promise<StoredOffset | undefined> {
    const { rows } = await this.client.query<OffsetRow>(this.lockSql('$1', '$2', '$3'), [group, topic, partition]);
    return storedOffset(rows);
  }

  async saveOffset(group: string, topic: string, partition: number, position: StoredOffset): Promise<void> {
    await this.client.query(this.saveSql('$1', '$2', '$3', '$4', '$5'), [
      group,
      topic,
      partition,
      String(position.nextOffset),
      position.topicIncarnation,
    ]);
  }

  /** One simple-protocol round trip for both statements, the values written as escaped literals. */
  async beginAndLockOffset(group: string, topic: string, partition: number): Promise<StoredOffset | undefined> {
    const [, lock] = (await this.client.query(
      `BEGIN; ${this.lockSql(this.literal(group), this.literal(topic), String(Math.trunc(partition)))}`,
    )) as unknown as QueryResult<OffsetRow>[];
    return storedOffset(lock.rows);
  }

  async saveOffsetAndCommit(group: string, topic: string, partition: number, position: StoredOffset): Promise<void> {
    const incarnation = position.topicIncarnation === null ? 'NULL' : this.literal(position.topicIncarnation);
    const save = this.saveSql(
      this.literal(group),
      this.literal(topic),
      String(Math.trunc(partition)),
      `${BigInt(position.nextOffset)}::bigint`,
      `${incarnation}::text`,
    );
    await this.client.query(`${save}; COMMIT`);
  }

  private lockSql(group: string, topic: string, partition: string): string {
    return `SELECT next_offset, topic_incarnation FROM ${this.q(this.schema)}.tributary_offsets
             WHERE group_name = ${group} AND topic = ${topic} AND partition = ${partition} FOR UPDATE`;
  }

  private saveSql(group: string, topic: string, partition: string, next: string, incarnation: string): string {
    return `INSERT INTO ${this.q(this.schema)}.tributary_offsets (group_name, topic, partition, next_offset, topic_incarnation)
       VALUES (${group}, ${topic}, ${partition}, ${next}, ${incarnation})
       ON CONFLICT (group_name, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now(),
          topic_incarnation = COALESCE(EXCLUDED.topic_incarnation, tributary_offsets.topic_incarnation)`;
  }

  private literal(value: string): string {
    return this.client.escapeLiteral(value);
  }

  nameProblem(table: TargetTable, columns: string[]): string | undefined {
    return postgresNameProblem({ schema: table.schema ?? this.schema, table: table.table }, columns, this.maxIdentifierBytes);
  }

  async describe(table: TargetTable): Promise<TargetColumn[] | undefined> {
    const { rows } = await this.client.query(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
         FROM pg_attribute a
        WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [this.name(table)],
    );
    return rows.length ? rows : undefined;
  }

  async createTable(table: TargetTable, columns: ColumnSchema[], primaryKey: string[]): Promise<void> {
    this.types.delete(targetTableKey(table));
    const defs = columns.map(
      (c) => `${this.q(c.name)} ${postgresColumnType(c)}${primaryKey.includes(c.name) ? ' NOT NULL' : ''}`,
    );
    await this.run(
      `CREATE TABLE IF NOT EXISTS ${this.name(table)} (${defs.join(', ')}, PRIMARY KEY (${primaryKey.map((k) => this.q(k)).join(', ')}))`,
    );
  }

  async addColumn(table: TargetTable, column: ColumnSchema): Promise<void> {
    this.types.delete(targetTableKey(table));
    await this.run(
      `ALTER TABLE ${this.name(table)} ADD COLUMN IF NOT EXISTS ${this.q(column.name)} ${postgresColumnType(column)}`,
    );
  }

  async upsert(
    table: TargetTable,
    columns: ColumnSchema[],
    primaryKey: string[],
    rows: Record<string, unknown>[],
  ): Promise<void> {
    const types = await this.columnTypes(table, columns);
    const target = { id: targetTableKey(table), sql: this.name(table) };
    if (await this.copies.tryCopy(this.client, target, columns, types, rows)) return;
    await this.runBatch(upsertStatement(this.name(table), columns, primaryKey, types, rows));
  }

  async delete(table: TargetTable, key: ColumnSchema[], keys: Record<string, unknown>[]): Promise<void> {
    const types = await this.columnTypes(table, key);
    await this.runBatch(deleteStatement(this.name(table), key, types, keys));
  }

  async truncate(table: TargetTable): Promise<void> {
    await this.run(`TRUNCATE ${this.name(table)}`, []);
  }

  async keyTexts(table: TargetTable, key: ColumnSchema[]): Promise<(string | null)[][]> {
    const { rows } = await this.client.query({
      text: `SELECT ${key.map((c) => `${this.q(c.name)}::text`).join(', ')} FROM ${this.name(table)}`,
      rowMode: 'array',
    });
    return rows as (string | null)[][];
  }

  async close(): Promise<void> {
    // end() waits for the server to close its side, which a server that never answers never does.
    await endOrDestroy(
      () => this.client.end(),
      () => this.destroy(),
      CLIENT_GUARD_MS,
    );
  }

  destroy(): void {
    // pg has no public call for this; its own end() destroys the stream the same way for a hung query.
    (this.client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  }

  /**
   * Column types of a target table (the batch statements name them), looked up once per session and again
   * when `columns` has one the lookup did not see: another session of the sink may have added it.
   */
  private async columnTypes(table: TargetTable, columns: ColumnSchema[]): Promise<ColumnTypes> {
    const id = targetTableKey(table);
    let types = this.types.get(id);
    if (!types || columns.some((c) => !types?.has(c.name))) {
      const { rows } = await this.client.query<{ name: string; type: string }>(
        `SELECT attname AS name, format_type(atttypid, -1) AS type FROM pg_attribute
          WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
        [this.name(table)],
      );
      types = new Map(rows.map((r) => [r.name, r.type]));
      this.types.set(id, types);
    }
    return types;
  }

  /** A batch statement, prepared under a name the first time its text is seen in this session. */
  private async runBatch(statement: BatchStatement): Promise<void> {
    let name = this.statements.get(statement.text);
    if (name === undefined && this.statements.size < MAX_NAMED_STATEMENTS) {
      name = `tributary_${this.statements.size + 1}`;
      this.statements.set(statement.text, name);
    }
    try {
      await this.run(statement.text, statement.values, name);
    } catch (error) {
      // The table may have changed under the session: look its types up again next time.
      this.types.clear();
      throw error;
    }
  }

  /** Data and schema errors (SQLSTATE classes 22, 23, 42) cannot heal by retrying. */
  private async run(sql: string, params: unknown[] = [], name?: string): Promise<void> {
    try {
      await this.client.query({ text: sql, values: params, name });
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (/^(22|23|42)/.test(code)) throw new IncompatibleTargetError(`${(error as Error).message} (SQLSTATE ${code})`);
      throw error;
    }
  }

  /** Schema and table quoted one by one: a dot inside either stays part of its name. */
  private name(table: TargetTable): string {
    return `${this.q(table.schema ?? this.schema)}.${this.q(table.table)}`;
  }

  private q(identifier: string): string {
    return `"${identifier.replace(/"/g, '""')}"`;
  }

  // Tables without a key (keyless-rows.ts has the statements, postgres-keyless.ts the syntax).

  async createKeylessTable(table: TargetTable, columns: ColumnSchema[]): Promise<void> {
    const defs = columns.map((c) => `${this.q(c.name)} ${postgresColumnType(c)}`);
    await this.run(`CREATE TABLE IF NOT EXISTS ${this.name(table)} (${defs.join(', ')})`);
  }

  readonly keyless = new KeylessRows(
    POSTGRES_KEYLESS,
    (t) => this.name(t),
    (n) => this.q(n),
    (s) => this.affected(s),
  );

  /** As run(), returning the rows the statement changed (or found). */
  private async affected(statement: Statement): Promise<number> {
    try {
      return (await this.client.query(statement.text, statement.values)).rowCount ?? 0;
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (/^(22|23|42)/.test(code)) throw new IncompatibleTargetError(`${(error as Error).message} (SQLSTATE ${code})`);
      throw error;
    }
  }
}

/** A row of the target's tributary_offsets as the lock query returns it. */
interface OffsetRow {
  next_offset: string;
  topic_incarnation: string | null;
}

function storedOffset(rows: OffsetRow[]): StoredOffset | undefined {
  return rows.length ? { nextOffset: BigInt(rows[0].next_offset), topicIncarnation: rows[0].topic_incarnation } : undefined;
}
