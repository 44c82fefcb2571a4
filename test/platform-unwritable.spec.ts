import type { INestApplication } from '@nestjs/common';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { GroupRepository } from '@tributary/consumer-groups';
import { createApp } from '@tributary/runtime';
import { createAuditedItems, versionsAppliedTwice } from './support/applied-versions';
import { callApi } from './support/api';
import { platformConfig } from './support/capture-harness';
import { loggedMessages } from './support/logged-messages';
import { TestCluster, waitFor } from './support/pg-cluster';
import { sinksCaughtUp } from './support/sink-groups';

/**
 * The platform database refuses writes: first read-only (ALTER DATABASE ... SET
 * default_transaction_read_only, sessions ended so they take it), then full (its tablespace is a
 * size-limited tmpfs, filled until Postgres answers disk_full). Each time capture and the group members
 * pause and say why in the status, /ready and /metrics; the slot acknowledges nothing written meanwhile;
 * once writes work again everything resumes by itself, the target equals the source and every row version
 * is applied once (a trigger on the target records each one the sink writes).
 */
describe('a platform database that refuses writes', () => {
  let cluster: TestCluster;
  let app: INestApplication | undefined;
  let base: string;
  let source: Client;
  let platformPool: Pool;
  let mount: string | undefined;
  const call = (method: string, path: string, body?: unknown) => callApi(base, method, path, body);
  const capture = async () => (await call('GET', '/api/v1/sources/src')).body?.capture;
  const rows = (db: string) => cluster.query(db, 'SELECT id, version::text, note FROM items ORDER BY id');
  const write = async (from: number, count: number) => {
    const v = `nextval('change_version')`;
    await source.query(`INSERT INTO items SELECT g, ${v}, md5(g::text) FROM generate_series($1::int, $2::int) g`, [
      from,
      from + count - 1,
    ]);
    await source.query(`UPDATE items SET version = ${v}, note = note || 'u' WHERE id % 5 = 0 AND id >= $1`, [from]);
  };
  const endPlatformSessions = () =>
    cluster.query('postgres', `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'platform'`);

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    mount = smallTablespaceMount();
    if (mount) {
      await cluster.query('postgres', `CREATE TABLESPACE small LOCATION '${mount}'`);
      await cluster.query('postgres', 'CREATE DATABASE platform TABLESPACE small');
    } else {
      await cluster.createDatabase('platform');
    }
    await cluster.createDatabase('src');
    await cluster.createDatabase('target');
    await cluster.query('src', 'CREATE SEQUENCE change_version');
    await cluster.query('src', 'CREATE TABLE items (id int PRIMARY KEY, version bigint NOT NULL, note text)');
    await createAuditedItems(cluster, 'target');
    source = new Client({ connectionString: cluster.url('src') });
    await source.connect();
    const config = { ...platformConfig(cluster.url('platform'), []), logLevel: 'error' as const };
    app = (await createApp(config, ['api', 'capture', 'worker'])) as INestApplication;
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    platformPool = new Pool({ connectionString: cluster.url('platform'), max: 2 });
    platformPool.on('error', () => undefined); // the test ends the platform's sessions on purpose
    expect(
      (
        await call('POST', '/api/v1/sources', {
          name: 'src',
          url: cluster.url('src'),
          tables: ['public.items'],
          heartbeatIntervalMs: 500,
        })
      ).status,
    ).toBe(201);
    await waitFor(async () => (await capture())?.state === 'streaming', 'capture to stream');
    const group = await call('POST', '/api/v1/groups', {
      name: 'to-pg',
      topics: ['src.public.items'],
      sessionTimeoutMs: 2_000,
      batchSize: 100,
      sink: { type: 'postgres', url: cluster.url('target'), autoCreate: false },
    });
    expect(group.status).toBe(201);
  }, 180_000);

  afterAll(async () => {
    await source?.end();
    await app?.close();
    await platformPool?.end();
    await cluster?.stop();
    if (mount) {
      execFileSync('umount', [mount]);
      rmSync(mount, { recursive: true, force: true });
    }
  });

  /**
   * Writes `count` rows while the platform refuses writes, waits until capture and /ready show `reason`,
   * and watches the slot for a while: it must not confirm any of those transactions. Returns the highest
   * confirmed LSN seen and the ids written.
   */
  async function writeWhileRefused(from: number, reason: RegExp): Promise<string> {
    await write(from, 300);
    await waitFor(async () => {
      const c = await capture();
      return c?.state === 'platform_unwritable' && reason.test(c.lastError);
    }, 'capture to pause for the platform database');
    const ready = await call('GET', '/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.checks['capture:src']).toBe('platform_unwritable');
    expect(ready.body.checks.platformWrites).toMatch(reason);
    expect((await call('GET', '/metrics')).text).toMatch(/^tributary_platform_writable 0$/m);
    // Several of capture's 2-second retries: the slot's confirmed position, at its highest.
    let highest = '0/0';
    let samples = 0;
    await waitFor(async () => {
      const [slot] = await cluster.query<{ lsn: string }>(
        'src',
        `SELECT greatest(confirmed_flush_lsn, $1::pg_lsn)::text AS lsn FROM pg_replication_slots WHERE slot_name = 'tributary_src'`,
        [highest],
      );
      highest = slot.lsn;
      return ++samples >= 40 && (await capture())?.state === 'platform_unwritable';
    }, 'the slot to be watched through several retries');
    return highest;
  }

  /** Every transaction written from `from` on, once captured, commits after the highest LSN the slot had confirmed. */
  async function noneConfirmedEarly(from: number, highest: string): Promise<void> {
    const written = (await loggedMessages(platformPool, 'src.public.items'))
      .map((m) => JSON.parse(m.envelope) as { after: { id: number } | null; source: { commitLsn: string } })
      .filter((e) => (e.after?.id ?? 0) >= from && (e.after?.id ?? 0) < from + 300);
    expect(written.length).toBeGreaterThanOrEqual(300);
    const [{ ok }] = await cluster.query<{ ok: boolean }>(
      'src',
      'SELECT bool_and($1::pg_lsn < l::pg_lsn) AS ok FROM unnest($2::text[]) l',
      [highest, written.map((e) => e.source.commitLsn)],
    );
    expect(ok).toBe(true);
  }

  async function caughtUpAndEqual(): Promise<void> {
    await sinksCaughtUp(cluster, 'src', 'tributary_src', new GroupRepository(platformPool), ['to-pg']);
    expect(await rows('target')).toEqual(await rows('src'));
    const twice = await versionsAppliedTwice(cluster, 'target');
    expect(twice).toEqual([]);
    const ready = await call('GET', '/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks.platformWrites).toBe('ok');
    expect((await call('GET', '/metrics')).text).toMatch(/^tributary_platform_writable 1$/m);
  }

  it('read-only: pauses, says so, keeps the slot, and resumes once writes work again', async () => {
    await write(1, 200);
    await caughtUpAndEqual();

    await cluster.query('postgres', 'ALTER DATABASE platform SET default_transaction_read_only = on');
    await endPlatformSessions(); // the setting applies to sessions that start after it
    const highest = await writeWhileRefused(1_000, /platform database is read-only \(default_transaction_read_only/);

    await cluster.query('postgres', 'ALTER DATABASE platform RESET default_transaction_read_only');
    await endPlatformSessions(); // those opened while it was set keep it: they reconnect without it
    await waitFor(async () => (await capture())?.state === 'streaming', 'capture to resume', 90_000);
    await write(2_000, 100);
    await caughtUpAndEqual();
    await noneConfirmedEarly(1_000, highest);
  }, 300_000);

  it('no space left: pauses, says so, keeps the slot, and resumes once there is space again', async () => {
    if (!mount) {
      if (process.env.CI === 'true') throw new Error('a disk-full test needs root to mount a size-limited tmpfs');
      process.stderr.write('NOTE: not root: no size-limited tmpfs for the platform tablespace; disk-full test skipped\n');
      return;
    }
    await write(3_000, 100);
    await caughtUpAndEqual();

    // Fill the platform's tablespace: rows stored as they are (no compression), until Postgres says disk_full.
    await cluster.query('platform', 'CREATE TABLE public.filler (pad text)');
    await cluster.query('platform', 'ALTER TABLE public.filler ALTER pad SET STORAGE PLAIN');
    await waitFor(
      async () => {
        try {
          await cluster.query(
            'platform',
            `INSERT INTO public.filler SELECT repeat(md5(g::text), 60) FROM generate_series(1, 500) g`,
          );
          return false;
        } catch (error) {
          if ((error as { code?: string }).code === '53100') return true;
          throw error;
        }
      },
      'the platform tablespace to fill up',
      120_000,
    );
    const highest = await writeWhileRefused(4_000, /platform database has no space left \(disk_full\)/);

    await cluster.query('platform', 'DROP TABLE public.filler');
    await waitFor(async () => (await capture())?.state === 'streaming', 'capture to resume', 90_000);
    await write(5_000, 100);
    await caughtUpAndEqual();
    await noneConfirmedEarly(4_000, highest);
  }, 300_000);
});

/** A 64 MB tmpfs, owned by the user Postgres runs as, for a tablespace that can fill up; undefined unless root. */
function smallTablespaceMount(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'tributary-small-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0700', 'tmpfs', dir]);
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  chownSync(dir, id('-u'), id('-g'));
  return dir;
}
