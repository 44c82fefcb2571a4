import { Logger } from '@nestjs/common';
import type { Client } from 'pg';
import type { CapturedTable, SourceConfig } from '@tributary/config';
import {
  alterSlotFailover,
  connectSource,
  createLogicalSlot,
  FAILOVER_MIN_VERSION,
  missingTables,
  quoteIdent,
  slotFailover,
} from '@tributary/pg-source';
import { sleep } from '@tributary/timing';
import { SlotLostError, SourceConfigurationError } from './capture-errors';
import { tableFilters } from './table-filters';

/**
 * Checks that a source can be captured and creates (or brings up to date) its publication and slot.
 * Every check runs before anything is created, and a publication created here is dropped again if
 * the slot cannot be made, so a failure leaves the source as it was.
 */
export class SourcePreparer {
  private readonly logger: Logger;

  /**
   * `onNewTables` is called with the tables that the publication change adds (every published table
   * when the slot is new), inside the source transaction that makes the change, before it commits.
   */
  constructor(
    private readonly source: SourceConfig,
    private readonly onNewTables?: (tables: { schema: string; table: string }[]) => Promise<void>,
  ) {
    this.logger = new Logger(`Source ${source.name}`);
  }

  /**
   * Returns the configured tables that do not exist (dropped, renamed, not created yet): the publication
   * is set to the others, so one missing table does not stop the rest. When one comes back, the next
   * `prepare` publishes it again and `onNewTables` queues its snapshot.
   */
  async prepare(hasCheckpoint = false): Promise<{ missingTables: string[] }> {
    const client = await connectSource(this.source, `tributary-setup:${this.source.name}`);
    try {
      const version = await this.checkServer(client);
      const missing = await missingTables(client, this.source.tables);
      const present = this.source.tables.filter((t) => !missing.includes(`${t.schema}.${t.table}`));
      if (present.length === 0) {
        throw new SourceConfigurationError(
          `source "${this.source.name}": none of its tables exists (${missing.join(', ')}). Create them, or change the source's tables.`,
        );
      }
      if (missing.length) {
        this.logger.warn(
          `table(s) ${missing.join(', ')} do not exist (dropped or renamed?): capturing the others; ` +
            'a table that comes back is captured again (with a snapshot unless snapshot is never)',
        );
      }
      await this.warnAboutIdentity(client);
      const clauses = await tableFilters(client, this.source, present);
      const slotExists = await this.checkSlot(client);
      if (!slotExists && hasCheckpoint) throw this.slotLost('was dropped (it does not exist any more)');
      const createdPublication = await this.ensurePublication(client, publicationSpec(present, clauses), !slotExists);
      const failover = this.source.failover === true;
      if (slotExists && version >= FAILOVER_MIN_VERSION) await this.alignFailover(client, failover);
      if (!slotExists) {
        try {
          await createLogicalSlot(client, this.source.slot, failover);
          this.logger.log(`created replication slot ${this.source.slot}${failover ? ' (failover)' : ''}`);
        } catch (error) {
          if (createdPublication) await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(this.source.publication)}`);
          throw error;
        }
      }
      return { missingTables: missing };
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** The checks of `prepare` alone, changing nothing: can this source be captured as configured? */
  async verify(): Promise<void> {
    const client = await connectSource(this.source, `tributary-setup:${this.source.name}`);
    try {
      await this.checkServer(client);
      await this.checkTables(client);
      await tableFilters(client, this.source, this.source.tables);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /**
   * Only the checks of the tables' column lists and row filters (tableFilters), for `tributary apply`, which
   * does not require a source to be reachable: false when it is not (capture checks again before it changes
   * the publication). Tables that do not exist are left to capture, which captures the others.
   */
  async verifyFilters(): Promise<boolean> {
    let client: Client;
    try {
      client = await connectSource(this.source, `tributary-setup:${this.source.name}`);
    } catch {
      return false;
    }
    try {
      const missing = await missingTables(client, this.source.tables);
      const present = this.source.tables.filter((t) => !missing.includes(`${t.schema}.${t.table}`));
      await tableFilters(client, this.source, present);
      return true;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Throws (naming the source, password masked) unless the source database answers. */
  async reachable(): Promise<void> {
    const client = await connectSource(this.source, `tributary-setup:${this.source.name}`);
    await client.end().catch(() => undefined);
  }

  /**
   * Drops the source's slot and publication once no capture streams from the slot (capture processes stop
   * a removed source within a second or two). False when the slot stayed active for `waitMs`.
   */
  async release(waitMs: number): Promise<boolean> {
    const client = await connectSource(this.source, `tributary-setup:${this.source.name}`);
    try {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const { rows } = await client.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [
          this.source.slot,
        ]);
        if (!rows.length) break;
        if (!rows[0].active) {
          await client.query('SELECT pg_drop_replication_slot($1)', [this.source.slot]);
          this.logger.log(`dropped replication slot ${this.source.slot}`);
          break;
        }
        if (Date.now() > deadline) return false;
        await sleep(200);
      }
      await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(this.source.publication)}`);
      return true;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** An existing slot's failover flag is made what the source says (failover: true set on a source later). */
  private async alignFailover(client: Client, failover: boolean): Promise<void> {
    if ((await slotFailover(client, this.source.slot)) === failover) return;
    await alterSlotFailover(this.source.url, this.source.slot, failover);
    this.logger.log(`replication slot ${this.source.slot}: failover set to ${failover}`);
  }

  /** Checks the server and the role; returns the server's version number (server_version_num). */
  private async checkServer(client: Client): Promise<number> {
    const { rows } = await client.query<{ wal_level: string; version: number }>(
      `SELECT current_setting('wal_level') AS wal_level, current_setting('server_version_num')::int AS version`,
    );
    if (rows[0].wal_level !== 'logical') {
      throw new SourceConfigurationError(
        `source "${this.source.name}": wal_level is "${rows[0].wal_level}", logical replication needs "logical". ` +
          `Run ALTER SYSTEM SET wal_level = logical (or set it in postgresql.conf) and restart Postgres.`,
      );
    }
    if (rows[0].version < 150000) {
      throw new SourceConfigurationError(
        `source "${this.source.name}": Postgres ${rows[0].version} is too old; Tributary needs 15 or newer.`,
      );
    }
    if (this.source.failover && rows[0].version < FAILOVER_MIN_VERSION) {
      throw new SourceConfigurationError(
        `source "${this.source.name}": failover: true needs Postgres 17 or newer (failover slots); this server is ` +
          `Postgres ${Math.floor(rows[0].version / 10_000)}. Leave failover out: after a failover, resync the source ` +
          '(docs/operations.md).',
        'failover',
      );
    }
    const role = await client.query<{ name: string; ok: boolean }>(
      `SELECT rolname AS name, rolsuper OR rolreplication AS ok FROM pg_roles WHERE rolname = current_user`,
    );
    if (!role.rows[0].ok) {
      throw new SourceConfigurationError(
        `source "${this.source.name}": role "${role.rows[0].name}" may not use logical replication. ` +
          `Run ALTER ROLE ${quoteIdent(role.rows[0].name)} WITH REPLICATION (as a superuser).`,
      );
    }
    return rows[0].version;
  }

  private async checkTables(client: Client): Promise<void> {
    for (const t of this.source.tables) {
      if (t.table === '*') {
        const { rowCount } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [t.schema]);
        if (!rowCount) throw new SourceConfigurationError(`source "${this.source.name}": schema "${t.schema}" does not exist`);
        continue;
      }
      const { rows } = await client.query<{ oid: string | null }>(`SELECT to_regclass($1)::oid::text AS oid`, [
        `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`,
      ]);
      if (!rows[0].oid) {
        throw new SourceConfigurationError(
          `source "${this.source.name}": table ${t.schema}.${t.table} does not exist. Create it, or remove it from the source's tables.`,
        );
      }
    }
    await this.warnAboutIdentity(client);
  }

  /** Tables whose updates and deletes cannot be identified: say which and how to fix them. */
  private async warnAboutIdentity(client: Client): Promise<void> {
    const { rows } = await client.query<{ schema: string; table: string; ident: string; has_pk: boolean }>(
      `SELECT n.nspname AS schema, c.relname AS table, c.relreplident AS ident,
              EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pk
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))
           OR (c.relkind IN ('r', 'p') AND n.nspname = ANY($3::text[]))`,
      [
        this.source.tables.filter((t) => t.table !== '*').map((t) => t.schema),
        this.source.tables.filter((t) => t.table !== '*').map((t) => t.table),
        this.source.tables.filter((t) => t.table === '*').map((t) => t.schema),
      ],
    );
    for (const r of rows) {
      if (r.has_pk || r.ident === 'f' || r.ident === 'i') continue;
      this.logger.warn(
        `table ${r.schema}.${r.table} has no primary key and REPLICA IDENTITY ${r.ident === 'n' ? 'NOTHING' : 'DEFAULT'}: ` +
          `while it is published, UPDATE and DELETE on it fail on the source. Fix: ALTER TABLE ${quoteIdent(r.schema)}.${quoteIdent(r.table)} ` +
          `REPLICA IDENTITY FULL (or add a primary key). Its messages have no key and all go to partition 0.`,
      );
    }
  }

  /** True if the slot exists; throws if it exists but cannot be used. */
  private async checkSlot(client: Client): Promise<boolean> {
    const { rows } = await client.query<{
      plugin: string;
      database: string;
      active_pid: number | null;
      current_db: string;
      wal_status: string | null;
      reason: string | null;
    }>(
      `SELECT plugin, database, active_pid, current_database() AS current_db, wal_status,
              CASE WHEN current_setting('server_version_num')::int >= 170000
                   THEN (to_jsonb(s) ->> 'invalidation_reason') END AS reason
         FROM pg_replication_slots s WHERE slot_name = $1`,
      [this.source.slot],
    );
    if (rows.length === 0) return false;
    const slot = rows[0];
    if (slot.wal_status === 'lost') {
      const keep = (await client.query<{ v: string }>(`SELECT current_setting('max_slot_wal_keep_size') AS v`)).rows[0].v;
      throw this.slotLost(
        `was invalidated by the server (wal_status lost${slot.reason ? `, invalidation_reason ${slot.reason}` : ''}): it fell ` +
          `behind by more than max_slot_wal_keep_size (${keep}) while capture was down or slow, and the WAL it still needed was removed`,
      );
    }
    if (slot.plugin !== 'pgoutput' || slot.database !== slot.current_db) {
      throw new SourceConfigurationError(
        `source "${this.source.name}": replication slot "${this.source.slot}" exists for plugin ${slot.plugin} on database ` +
          `${slot.database}, not pgoutput on ${slot.current_db}. Choose another slot name or drop it with ` +
          `SELECT pg_drop_replication_slot('${this.source.slot}').`,
      );
    }
    if (slot.active_pid !== null) {
      throw new SourceConfigurationError(
        `source "${this.source.name}": replication slot "${this.source.slot}" is in use by another connection (pid ${slot.active_pid}). ` +
          `Only one capture may stream a slot; stop the other consumer or use another slot name.`,
      );
    }
    return true;
  }

  private slotLost(what: string): SlotLostError {
    const name = this.source.name;
    return new SlotLostError(
      `source "${name}": replication slot "${this.source.slot}" ${what}. The changes since the last checkpoint can no ` +
        `longer be read, so capture stops rather than skip them. Fix: resync the source (POST /api/v1/sources/${name}/resync, ` +
        `or tributary sources resync ${name}): it creates the slot again and re-snapshots every table, so the sinks end equal ` +
        'to the source (docs/operations.md). To keep it from happening again, raise max_slot_wal_keep_size and watch ' +
        'tributary_source_slot_at_risk.',
    );
  }

  /**
   * Creates the publication, or sets it to exactly `spec` (the configured tables that exist, with their column
   * lists and row filters): ALTER PUBLICATION … SET changes it in place, so the slot decodes every change
   * committed before it with the old definition and every one after with the new, none twice, none lost.
   * True if it was created.
   */
  private async ensurePublication(client: Client, spec: string, slotIsNew: boolean): Promise<boolean> {
    const name = quoteIdent(this.source.publication);
    const { rowCount } = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [this.source.publication]);
    const before = rowCount && !slotIsNew ? await this.publishedTables(client) : [];
    // One transaction, so the tables it adds are queued for their initial snapshot before they are
    // published: a crash in between leaves the publication as it was (and queuing skips queued tables).
    await client.query('BEGIN');
    try {
      if (rowCount) await client.query(`ALTER PUBLICATION ${name} SET ${spec}`);
      else await client.query(`CREATE PUBLICATION ${name} FOR ${spec}`);
      if (this.onNewTables) {
        const known = new Set(before.map((t) => JSON.stringify([t.schema, t.table])));
        const added = (await this.publishedTables(client)).filter((t) => !known.has(JSON.stringify([t.schema, t.table])));
        if (added.length) await this.onNewTables(added);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    if (rowCount) return false;
    this.logger.log(`created publication ${this.source.publication} FOR ${spec}`);
    return true;
  }

  private async publishedTables(client: Client): Promise<{ schema: string; table: string }[]> {
    const { rows } = await client.query<{ schema: string; table: string }>(
      'SELECT schemaname AS schema, tablename AS table FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2',
      [this.source.publication],
    );
    return rows;
  }
}

function publicationSpec(tables: CapturedTable[], clauses: ReadonlyMap<string, string>): string {
  const explicit = tables
    .filter((t) => t.table !== '*')
    .map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.table)}${clauses.get(`${t.schema}.${t.table}`) ?? ''}`);
  const schemas = tables.filter((t) => t.table === '*').map((t) => quoteIdent(t.schema));
  const parts: string[] = [];
  if (explicit.length) parts.push(`TABLE ${explicit.join(', ')}`);
  if (schemas.length) parts.push(`TABLES IN SCHEMA ${schemas.join(', ')}`);
  return parts.join(', ');
}
