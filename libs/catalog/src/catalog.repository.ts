import { isDeepStrictEqual } from 'node:util';
import type { Pool, PoolClient } from 'pg';
import type { GroupConfig, SourceFileConfig } from '@tributary/config';
import { withTransaction } from '@tributary/store';
import type { GroupEntry, ManagedBy, SourceEntry, UpdateResult } from './catalog-types';

type Db = Pool | PoolClient;

/** Tables that hold a group's state, cleared when the group is deleted. */
const GROUP_STATE_TABLES = [
  'group_members',
  'partition_leases',
  'group_offsets',
  'group_events',
  'dead_letters',
  'webhook_attempts',
  'webhook_subscriptions',
];

/**
 * The desired state of sources and groups, in the platform database. The only code that writes it; the
 * API, config-as-code and start-up write through here, capture and worker processes read and follow it.
 */
export class CatalogRepository {
  constructor(readonly pool: Pool) {}

  /**
   * Runs `fn` in a transaction that holds the catalog's apply lock: applies (and start-up seeding by
   * several processes at once) take turns, so each plan is made on what it changes. The transaction
   * commits only if `fn` calls `keep(true)`; otherwise, or if it throws, it is rolled back.
   */
  async exclusively<T>(fn: (client: PoolClient, keep: (commit: boolean) => void) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('tributary.catalog.apply'))`);
      let commit = false;
      const result = await fn(client, (c) => (commit = c));
      await client.query(commit ? 'COMMIT' : 'ROLLBACK');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined); // the original error is the one to report
      throw error;
    } finally {
      client.release();
    }
  }

  async listSources(db: Db = this.pool): Promise<SourceEntry[]> {
    const { rows } = await db.query(
      'SELECT name, spec, version, managed_by, created_at, updated_at FROM tributary.sources ORDER BY name',
    );
    return rows.map(toSource);
  }

  async getSource(name: string, db: Db = this.pool, lock = false): Promise<SourceEntry | undefined> {
    const { rows } = await db.query<Record<string, unknown>>(
      `SELECT name, spec, version, managed_by, created_at, updated_at FROM tributary.sources WHERE name = $1${lock ? ' FOR UPDATE' : ''}`,
      [name],
    );
    return rows.length ? toSource(rows[0]) : undefined;
  }

  /** Undefined when a source of that name exists. */
  async createSource(spec: SourceFileConfig, managedBy: ManagedBy, db: Db = this.pool): Promise<SourceEntry | undefined> {
    const { rows } = await db.query<Record<string, unknown>>(
      `INSERT INTO tributary.sources (name, spec, managed_by) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO NOTHING
       RETURNING name, spec, version, managed_by, created_at, updated_at`,
      [spec.name, JSON.stringify(spec), managedBy],
    );
    return rows.length ? toSource(rows[0]) : undefined;
  }

  /** Replaces the spec; the version moves only when it changed. `expectedVersion` makes it conditional (If-Match). */
  async updateSource(
    spec: SourceFileConfig,
    options: { expectedVersion?: number; managedBy?: ManagedBy } = {},
    db?: PoolClient,
  ): Promise<UpdateResult<SourceEntry>> {
    const run = async (c: PoolClient): Promise<UpdateResult<SourceEntry>> => {
      const current = await this.getSource(spec.name, c, true);
      if (!current) return 'not_found';
      if (options.expectedVersion !== undefined && options.expectedVersion !== current.version) return 'conflict';
      const managedBy = options.managedBy ?? current.managedBy;
      if (isDeepStrictEqual(current.spec, spec) && managedBy === current.managedBy) return { entry: current, changed: false };
      const { rows } = await c.query<Record<string, unknown>>(
        `UPDATE tributary.sources SET spec = $2, managed_by = $3, version = version + 1, updated_at = now()
          WHERE name = $1 RETURNING name, spec, version, managed_by, created_at, updated_at`,
        [spec.name, JSON.stringify(spec), managedBy],
      );
      return { entry: toSource(rows[0]), changed: true };
    };
    return db ? run(db) : withTransaction(this.pool, run);
  }

  /** Puts a deleted source back, as it was but with a newer version (an ETag read before the delete is stale). */
  async restoreSource(entry: SourceEntry): Promise<void> {
    await this.pool.query(
      `INSERT INTO tributary.sources (name, spec, version, managed_by, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO NOTHING`, // re-created meanwhile: that one stays
      [entry.name, JSON.stringify(entry.spec), entry.version + 1, entry.managedBy, entry.createdAt],
    );
  }

  async deleteSource(name: string, db: Db = this.pool): Promise<boolean> {
    const { rowCount } = await db.query('DELETE FROM tributary.sources WHERE name = $1', [name]);
    return (rowCount ?? 0) > 0;
  }

  /** Each source's stored checkpoint: the LSN capture resumes from and the last commit it stored. */
  async checkpoints(): Promise<Map<string, { lsn: bigint; commitTime: Date | null }>> {
    const { rows } = await this.pool.query<{ source: string; lsn: string; commit_time: Date | null }>(
      'SELECT source, lsn, commit_time FROM tributary.source_checkpoints',
    );
    return new Map(rows.map((r) => [r.source, { lsn: BigInt(r.lsn), commitTime: r.commit_time }]));
  }

  /** A removed source's progress, so that a new source of the same name starts afresh (after its slot was dropped). */
  async forgetSourceProgress(name: string, db: Db = this.pool): Promise<void> {
    await db.query('DELETE FROM tributary.source_checkpoints WHERE source = $1', [name]);
    await db.query('DELETE FROM tributary.source_tables WHERE source = $1', [name]);
  }

  async listGroups(db: Db = this.pool): Promise<GroupEntry[]> {
    const { rows } = await db.query<Record<string, unknown>>(`${GROUP_SELECT} ORDER BY name`);
    return rows.map(toGroup);
  }

  async getGroup(name: string, db: Db = this.pool, lock = false): Promise<GroupEntry | undefined> {
    const { rows } = await db.query<Record<string, unknown>>(`${GROUP_SELECT} WHERE name = $1${lock ? ' FOR UPDATE' : ''}`, [
      name,
    ]);
    return rows.length ? toGroup(rows[0]) : undefined;
  }

  /** Undefined when a group of that name exists. */
  async createGroup(spec: GroupConfig, managedBy: ManagedBy, db: Db = this.pool): Promise<GroupEntry | undefined> {
    const { rows } = await db.query(
      `INSERT INTO tributary.consumer_groups (name, topics, start_from, reset_policy, session_timeout_ms, runtime, managed_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (name) DO NOTHING
       RETURNING name`,
      [spec.name, spec.topics, spec.startFrom, spec.resetPolicy, spec.sessionTimeoutMs, runtimeOf(spec), managedBy],
    );
    return rows.length ? this.getGroup(spec.name, db) : undefined;
  }

  async updateGroup(
    spec: GroupConfig,
    options: { expectedVersion?: number; managedBy?: ManagedBy } = {},
    db?: PoolClient,
  ): Promise<UpdateResult<GroupEntry>> {
    const run = async (c: PoolClient): Promise<UpdateResult<GroupEntry>> => {
      const current = await this.getGroup(spec.name, c, true);
      if (!current) return 'not_found';
      if (options.expectedVersion !== undefined && options.expectedVersion !== current.version) return 'conflict';
      const managedBy = options.managedBy ?? current.managedBy;
      if (isDeepStrictEqual(current.spec, spec) && managedBy === current.managedBy) return { entry: current, changed: false };
      await c.query(
        `UPDATE tributary.consumer_groups
            SET topics = $2, start_from = $3, reset_policy = $4, session_timeout_ms = $5, runtime = $6, managed_by = $7,
                version = version + 1, updated_at = now()
          WHERE name = $1`,
        [spec.name, spec.topics, spec.startFrom, spec.resetPolicy, spec.sessionTimeoutMs, runtimeOf(spec), managedBy],
      );
      return { entry: (await this.getGroup(spec.name, c)) as GroupEntry, changed: true };
    };
    return db ? run(db) : withTransaction(this.pool, run);
  }

  /** Removes the group with its offsets, leases, members, events, dead letters and delivery log. */
  async deleteGroup(name: string, db?: PoolClient): Promise<boolean> {
    const run = async (c: PoolClient): Promise<boolean> => {
      // The lock a member's heartbeat takes: once this commits, no heartbeat recreates the group's state.
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', ['tributary.group', name]);
      const { rowCount } = await c.query('DELETE FROM tributary.consumer_groups WHERE name = $1', [name]);
      if (!rowCount) return false;
      for (const table of GROUP_STATE_TABLES) await c.query(`DELETE FROM tributary.${table} WHERE group_name = $1`, [name]);
      return true;
    };
    return db ? run(db) : withTransaction(this.pool, run);
  }

  /** Changes whenever a source or group is created, updated or deleted: what processes poll to follow the catalog. */
  async fingerprint(): Promise<string> {
    const { rows } = await this.pool.query<{ f: string }>(
      // created_at too: a delete and a re-create of the same name between two polls is still a change.
      `SELECT coalesce((SELECT string_agg(name || '@' || version || '@' || created_at, ',' ORDER BY name) FROM tributary.sources), '')
              || '|' ||
              coalesce((SELECT string_agg(name || '@' || version || '@' || created_at, ',' ORDER BY name)
                          FROM tributary.consumer_groups), '') AS f`,
    );
    return rows[0].f;
  }
}

const GROUP_SELECT = `SELECT name, topics, start_from, reset_policy, session_timeout_ms, runtime, version, managed_by, paused,
                             created_at, updated_at
                        FROM tributary.consumer_groups`;

/** What the definition columns do not hold (kept for pull groups too, so their spec reads back as written). */
function runtimeOf(spec: GroupConfig): string {
  const { batchSize, members, sink, retry, onFailure } = spec;
  // The message pipeline's keys only when given (JSON leaves undefined out): a spec reads back as written.
  const { filter, transforms, transform, route, transformLimits } = spec;
  return JSON.stringify({ batchSize, members, sink, retry, onFailure, filter, transforms, transform, route, transformLimits });
}

function toSource(r: Record<string, unknown>): SourceEntry {
  return {
    name: r.name as string,
    spec: r.spec as SourceFileConfig,
    version: r.version as number,
    managedBy: r.managed_by as ManagedBy,
    createdAt: (r.created_at as Date).toISOString(),
    updatedAt: (r.updated_at as Date).toISOString(),
  };
}

function toGroup(r: Record<string, unknown>): GroupEntry {
  // NULL: a group made before the catalog, or directly by GroupRepository (tests): a pull group.
  const runtime = (r.runtime as Partial<GroupConfig> | null) ?? {
    batchSize: 500,
    members: 1,
    sink: { type: 'pull' as const },
    retry: { maxAttempts: 5, initialBackoffMs: 200, maxBackoffMs: 30_000 },
    onFailure: 'dead_letter' as const,
  };
  return {
    name: r.name as string,
    spec: {
      name: r.name as string,
      topics: r.topics as string[],
      startFrom: r.start_from as string,
      resetPolicy: r.reset_policy as GroupConfig['resetPolicy'],
      sessionTimeoutMs: r.session_timeout_ms as number,
      ...runtime,
    } as GroupConfig,
    version: r.version as number,
    managedBy: r.managed_by as ManagedBy,
    paused: r.paused as boolean,
    createdAt: (r.created_at as Date).toISOString(),
    updatedAt: (r.updated_at as Date).toISOString(),
  };
}
