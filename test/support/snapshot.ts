import { Client, type Pool } from 'pg';
import type { Envelope } from './capture-harness';
import type { TestCluster } from './pg-cluster';
import { waitFor } from './pg-cluster';
import { sleep } from '@tributary/timing';

export interface BackfillRow {
  id: string;
  status: string;
  schema_name: string;
  table_name: string;
  rows_done: string;
  rows_emitted: string;
  chunks_done: number;
  last_key: string[] | null;
  error: string | null;
}

export async function backfillRows(pool: Pool | Client): Promise<BackfillRow[]> {
  return (await pool.query<BackfillRow>('SELECT * FROM tributary.backfills ORDER BY id')).rows;
}

/** Waits until the backfills (all, or those ids) are neither pending nor running. */
export async function backfillsSettled(pool: Pool | Client, ids?: number[], timeoutMs = 120_000): Promise<BackfillRow[]> {
  return waitFor(
    async () => {
      const rows = (await backfillRows(pool)).filter((b) => !ids || ids.includes(Number(b.id)));
      return rows.length > 0 && rows.every((b) => !['pending', 'running'].includes(b.status)) && rows;
    },
    'backfills to settle',
    timeoutMs,
  );
}

/**
 * What a sink that applies every message in order ends with: per key, the last `c`/`u`/`r` row (merged
 * over earlier values for columns an update left out), or nothing after a `d`. Messages must be in
 * offset order per partition (a key's messages are all in one partition).
 */
export function foldTopic(messages: { key: string | null; envelope: Envelope }[]): Map<string, Record<string, unknown>> {
  const state = new Map<string, Record<string, unknown>>();
  for (const m of messages) {
    const e = m.envelope;
    if (e.op === 't') {
      state.clear();
      continue;
    }
    if (m.key === null) continue;
    if (e.op === 'd') state.delete(m.key);
    else state.set(m.key, { ...(state.get(m.key) ?? {}), ...(e.after ?? {}) });
  }
  return state;
}

/** Waits until the slot has confirmed the source's current WAL position (everything so far is in the topics). */
export async function captureCaughtUp(cluster: TestCluster, database: string, slot: string, timeoutMs = 120_000): Promise<void> {
  const [{ lsn }] = await cluster.query<{ lsn: string }>(database, 'SELECT pg_current_wal_lsn()::text AS lsn');
  await waitFor(
    async () => {
      const [row] = await cluster.query<{ ok: boolean }>(
        database,
        'SELECT confirmed_flush_lsn >= $1::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $2',
        [lsn, slot],
      );
      return row?.ok;
    },
    `slot ${slot} to confirm ${lsn}`,
    timeoutMs,
  );
}

/**
 * Random writes on a table `(id int PRIMARY KEY, grp int, v bigint, note text, ver int)` until stopped:
 * updates, deletes, inserts of new ids and (rarely) key changes, in small transactions on a few
 * connections, each connection owning the ids congruent to its number.
 */
export class TableChurn {
  transactions = 0;
  changes = 0;
  private stopped = false;
  private running?: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly table: string,
    private readonly maxId: number,
    private readonly connections = 2,
    private readonly pauseMs = 0,
    /**
     * Where the snapshot is (the last key it finished, read from the platform): one more connection then
     * keeps updating the rows just ahead of it, which the next chunks read while they change.
     */
    private readonly position?: () => Promise<number | null>,
    private readonly span = 5_000,
  ) {}

  start(): void {
    const workers = Array.from({ length: this.connections }, (_, w) => this.work(w));
    if (this.position) workers.push(this.seam(this.position));
    this.running = Promise.all(workers).then(() => undefined);
  }

  /** Updates (and some deletes) of rows in the next `span` keys after the snapshot's position. */
  private async seam(position: () => Promise<number | null>): Promise<void> {
    const c = new Client({ connectionString: this.url });
    c.on('error', () => undefined);
    await c.connect();
    try {
      let at = 0;
      let polled = 0;
      while (!this.stopped) {
        if (Date.now() - polled > 20) {
          at = (await position()) ?? at;
          polled = Date.now();
        }
        const id = at + 1 + Math.floor(Math.random() * this.span);
        if (Math.random() < 0.9) {
          await c.query(`UPDATE ${this.table} SET v = v + 1, ver = ver + 1, note = 'seam' WHERE id = $1`, [id]);
        } else {
          await c.query(`DELETE FROM ${this.table} WHERE id = $1`, [id]);
        }
        this.changes++;
        this.transactions++;
      }
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async work(w: number): Promise<void> {
    const c = new Client({ connectionString: this.url });
    c.on('error', () => undefined);
    await c.connect();
    const pick = () => w + this.connections * Math.floor((Math.random() * this.maxId) / this.connections);
    let nextNew = this.maxId * 10 + w;
    try {
      while (!this.stopped) {
        await c.query('BEGIN');
        const n = 1 + Math.floor(Math.random() * 4);
        for (let i = 0; i < n; i++) {
          const r = Math.random();
          if (r < 0.6) {
            await c.query(`UPDATE ${this.table} SET v = v + 1, ver = ver + 1, note = md5(random()::text) WHERE id = $1`, [
              pick(),
            ]);
          } else if (r < 0.8) {
            await c.query(`DELETE FROM ${this.table} WHERE id = $1`, [pick()]);
          } else if (r < 0.97) {
            await c.query(
              `INSERT INTO ${this.table} (id, grp, v, note, ver) VALUES ($1, $2, 0, 'new', 0) ON CONFLICT (id) DO NOTHING`,
              [nextNew, w],
            );
            nextNew += this.connections;
          } else {
            // A key change: the row leaves its place in key order (a delete and a create in the topic).
            await c.query(`UPDATE ${this.table} SET id = $2, ver = ver + 1 WHERE id = $1`, [pick(), nextNew]);
            nextNew += this.connections;
          }
          this.changes++;
        }
        await c.query('COMMIT');
        this.transactions++;
        if (this.pauseMs) await sleep(this.pauseMs);
      }
    } finally {
      await c.end().catch(() => undefined);
    }
  }
}
