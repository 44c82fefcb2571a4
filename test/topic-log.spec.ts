import { Client, Pool } from 'pg';
import { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '@tributary/store';
import { MIGRATIONS } from '../migrations';
import type { AppendRecord } from '@tributary/topic-log';
import { TopicLog, TopicRepository } from '@tributary/topic-log';
import { loggedMessages } from './support/logged-messages';
import { TestCluster, testedVersions } from './support/pg-cluster';
import { sleep } from '@tributary/timing';

const SETTINGS = { partitions: 2, retentionMs: 60_000, retentionBytes: null };

function record(topic: string, partition: number, tag: string): AppendRecord {
  return { topic, partition, key: tag, envelope: JSON.stringify({ tag }), sourceLsn: null, txId: null, commitTimeMs: null };
}

describe('topic log', () => {
  let cluster: TestCluster;
  let url: string;

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    url = await cluster.createDatabase('platform');
    const ds = createDataSource(url);
    await ds.initialize();
    await runMigrations(ds);
    await ds.destroy();
  });

  afterAll(async () => cluster?.stop());

  it('has entities that match the migrations exactly (no drift)', async () => {
    const ds = createDataSource(url);
    await ds.initialize();
    try {
      const pending = await ds.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((q) => q.query)).toEqual([]);
    } finally {
      await ds.destroy();
    }
  });

  it('hands out gap-free offsets from 0, and readers never see n+1 before n, under concurrent appenders', async () => {
    const setup = new Client({ connectionString: url });
    await setup.connect();
    await TopicRepository.ensure(setup, 'orders', SETTINGS);

    const writers = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const c = new Client({ connectionString: url });
        await c.connect();
        return c;
      }),
    );
    let writing = true;
    const violations: string[] = [];
    const reader = (async () => {
      while (writing) {
        for (const partition of [0, 1]) {
          const rows = (await loggedMessages(setup, 'orders')).filter((m) => m.partition === partition);
          rows.forEach((r, i) => {
            if (Number(r.offset) !== i) violations.push(`partition ${partition}: saw offset ${r.offset} at position ${i}`);
          });
        }
      }
    })();

    const perWriter = 40;
    await Promise.all(
      writers.map(async (c, w) => {
        for (let t = 0; t < perWriter; t++) {
          await c.query('BEGIN');
          const batch = Array.from({ length: 1 + ((w + t) % 7) }, (_, i) => record('orders', (w + t + i) % 2, `${w}-${t}-${i}`));
          await TopicLog.append(c, batch);
          // Hold the transaction open a moment so commits interleave with other appenders.
          await sleep((w * 7 + t) % 5);
          if (t % 9 === 4) await c.query('ROLLBACK');
          else await c.query('COMMIT');
        }
      }),
    );
    writing = false;
    await reader;
    expect(violations).toEqual([]);

    const expected = writers.flatMap((_, w) =>
      Array.from({ length: perWriter }, (_, t) => t)
        .filter((t) => t % 9 !== 4)
        .flatMap((t) => Array.from({ length: 1 + ((w + t) % 7) }, (_, i) => `${w}-${t}-${i}`)),
    );
    const log = new TopicLog(setup as never);
    for (const partition of [0, 1]) {
      const rows = (await loggedMessages(setup, 'orders')).filter((m) => m.partition === partition);
      expect(rows.map((r) => r.offset)).toEqual(rows.map((_, i) => i));
    }
    const rows = await loggedMessages(setup, 'orders');
    expect(rows.map((r) => r.key).sort()).toEqual([...expected].sort());
    const offsets = await log.offsets('orders');
    expect(offsets.reduce((n, p) => n + Number(p.end), 0)).toBe(expected.length);

    await Promise.all([...writers, setup].map((c) => c.end()));
  });

  it('reports a missing partition instead of inventing one', async () => {
    const c = new Client({ connectionString: url });
    await c.connect();
    await expect(TopicLog.append(c, [record('orders', 5, 'x')])).rejects.toThrow('topic "orders" has no partition 5');
    await c.end();
  });

  it('moves messages stored one row each into record batches on upgrade, and back on revert', async () => {
    const upgradeUrl = await cluster.createDatabase('upgrade');
    const before = MIGRATIONS.findIndex((m) => m.name === 'RecordBatches1766000000000');
    const old = new DataSource({ ...createDataSource(upgradeUrl).options, migrations: MIGRATIONS.slice(0, before) });
    await old.initialize();
    await runMigrations(old);
    await old.query(`INSERT INTO tributary.topics (name, partitions) VALUES ('old', 1)`);
    await old.query(`INSERT INTO tributary.topic_partitions (topic, partition, next_offset, bytes) VALUES ('old', 0, 3, 60)`);
    await old.query(
      `INSERT INTO tributary.messages (topic, partition, "offset", key, envelope, source_lsn, tx_id, commit_time, size, appended_at)
       VALUES ('old', 0, 0, '{"id":1}', '{"n": 1}', 100, 7, '2026-01-01T00:00:00.123Z', 8, '2026-01-02T00:00:00Z'),
              ('old', 0, 1, NULL, '{"n":  2}', NULL, NULL, NULL, 9, '2026-01-02T00:00:01Z'),
              ('old', 0, 2, 'plain "text" key', '{"n":3}', 300, 9, '2026-01-01T00:00:02Z', 7, '2026-01-02T00:00:02Z')`,
    );
    const read = `SELECT "offset"::int, key, envelope::text, source_lsn::text, tx_id::text, commit_time, size::int, appended_at
                    FROM tributary.messages ORDER BY "offset"`;
    const stored = await old.query(read);
    await old.destroy();

    const ds = createDataSource(upgradeUrl);
    await ds.initialize();
    try {
      expect(await runMigrations(ds)).toBe(MIGRATIONS.length - before);
      const pool = new Pool({ connectionString: upgradeUrl });
      try {
        const messages = await new TopicLog(pool).read('old', 0, 0n, 10);
        expect(messages.map((m) => [m.offset, m.key, m.envelope, m.sourceLsn, m.txId, m.commitTime])).toEqual(
          stored.map((r: Record<string, unknown>) => [
            String(r.offset),
            r.key,
            r.envelope,
            r.source_lsn === null ? null : `0/${Number(r.source_lsn).toString(16).toUpperCase()}`,
            r.tx_id,
            r.commit_time === null ? null : (r.commit_time as Date).toISOString(),
          ]),
        );
        const sizes = await pool.query(`SELECT sum(bytes)::int AS n FROM tributary.message_batches WHERE topic = 'old'`);
        expect(sizes.rows[0].n).toBe(stored.reduce((n: number, r: Record<string, unknown>) => n + (r.size as number), 0));
      } finally {
        await pool.end();
      }
      for (let i = before; i < MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: 'all' });
      expect(await ds.query(read)).toEqual(stored);
    } finally {
      await ds.destroy();
    }
  });
});

describe.each(testedVersions())('message batch compression on Postgres %i', (version) => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start(version);
  });

  afterAll(async () => cluster?.stop());

  it('keeps envelopes, keys and snapshot rows lz4-compressed (where the server has lz4) after the migrations that retype them', async () => {
    const url = await cluster.createDatabase('compression');
    const ds = createDataSource(url);
    await ds.initialize();
    try {
      await runMigrations(ds);
      const lz4 = await ds.query<unknown[]>(
        `SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)`,
      );
      const compression = async (): Promise<{ name: string; compression: string }[]> =>
        ds.query(
          `SELECT attname AS name, attcompression AS compression FROM pg_attribute
            WHERE attrelid = 'tributary.message_batches'::regclass AND attname IN ('envelopes', 'keys', 'rows')
            ORDER BY attname`,
        );
      // Without lz4 in the server's build the columns keep the default (pglz), shown as ''.
      const expected = ['envelopes', 'keys', 'rows'].map((name) => ({ name, compression: lz4.length ? 'l' : '' }));
      expect(await compression()).toEqual(expected);
      // And back: reverting TextEnvelopes keeps it too.
      await ds.undoLastMigration({ transaction: 'all' });
      expect(await compression()).toEqual(expected);
    } finally {
      await ds.destroy();
    }
  });
});
