import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@tributary/local-postgres';
import { waitFor } from './support/pg-cluster';
import { AppProcess, builtApp } from './support/processes';

/** The README's promise: with no database configured, `npm start` runs everything on an embedded Postgres. */
describe('embedded default (all-in-one app)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let app: AppProcess | undefined;
  let api: string;

  const sql = (statement: string) =>
    execFileSync(process.execPath, [builtApp('tributary', 'sql'), statement], { env: { ...process.env, ...env } }).toString();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of several shapes
  const get = async (path: string): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${api}${path}`);
    return { status: res.status, body: await res.json() };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-embedded-'));
    chmodSync(dir, 0o755);
    const apiPort = await freePort();
    api = `http://127.0.0.1:${apiPort}`;
    env = {
      TRIBUTARY_DATA_DIR: join(dir, 'data'),
      TRIBUTARY_EMBEDDED_PORT: String(await freePort()),
      TRIBUTARY_API_PORT: String(apiPort),
      TRIBUTARY_DATABASE_URL: '',
      TRIBUTARY_CONFIG: '',
    };
    delete env.TRIBUTARY_DATABASE_URL;
    delete env.TRIBUTARY_CONFIG;
  });

  afterEach(() => {
    if (app && expect.getState().assertionCalls === 0) process.stderr.write(app.output);
  });

  afterAll(async () => {
    await app?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(): Promise<void> {
    app = new AppProcess(builtApp('tributary'), { ...env, TRIBUTARY_DATABASE_URL: undefined, TRIBUTARY_CONFIG: undefined });
    await waitFor(
      async () => (await get('/ready').catch(() => ({ status: 0 }))).status === 200,
      'the app to be ready',
      90_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- app output ---\n${app?.output}`);
    });
  }

  it('starts, captures the walk-through, and serves the messages', async () => {
    await start();
    sql('CREATE TABLE orders (id bigserial PRIMARY KEY, item text NOT NULL, qty int, price numeric(10,2))');
    sql(`INSERT INTO orders (item, qty, price) VALUES ('apple', 3, 1.25), ('pear', 1, 0.50)`);
    sql(`UPDATE orders SET qty = 10 WHERE item = 'pear'`);
    sql(`DELETE FROM orders WHERE item = 'apple'`);

    const topic = 'default.public.orders';
    const all = await waitFor(async () => {
      const { body } = await get(`/api/v1/topics/${topic}`);
      const messages = [];
      for (const p of body.offsets ?? [])
        messages.push(...(await get(`/api/v1/topics/${topic}/messages?partition=${p.partition}`)).body.messages);
      return messages.length === 4 && messages;
    }, 'four messages');
    const ops = all.map((m: { envelope: { op: string; key: { id: string } } }) => `${m.envelope.op}:${m.envelope.key.id}`).sort();
    expect(ops).toEqual(['c:1', 'c:2', 'd:1', 'u:2']);
    expect((await get('/api/v1/sources')).body[0]).toMatchObject({ name: 'default', capture: { state: 'streaming' } });
    const source = (await get('/api/v1/sources/default')).body;
    expect(source).toMatchObject({ name: 'default', connected: true, slotActive: true, slot: 'tributary_default' });
    expect(source.lagBytes).toBeGreaterThanOrEqual(0);
    expect(source.confirmedLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect((await get('/api/v1/sources/nope')).status).toBe(404);
    expect((await get(`/api/v1/topics/${topic}/messages?partition=99`)).status).toBe(400);
    expect((await get('/api/v1/topics/nope')).status).toBe(404);
  });

  it('exposes Prometheus metrics that move when messages flow', async () => {
    const scrape = async () => {
      const res = await fetch(`${api}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      return res.text();
    };
    const value = (text: string, series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    const before = await scrape();
    expect(value(before, 'tributary_source_up{source="default"}')).toBe(1);
    expect(value(before, 'tributary_capture_streaming{source="default",state="streaming"}')).toBe(1);
    expect(value(before, 'tributary_capture_lag_bytes{source="default"}')).toBeGreaterThanOrEqual(0);
    const appended = value(before, 'tributary_capture_messages_appended_total{source="default"}') ?? 0;
    expect(appended).toBeGreaterThanOrEqual(4);
    const ends = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('tributary_topic_end_offset{topic="default.public.orders"'))
        .reduce((n, l) => n + Number(l.split(' ')[1]), 0);
    expect(ends(before)).toBe(4);

    sql(`INSERT INTO orders (item, qty, price) SELECT 'bulk', g, 1 FROM generate_series(1, 10) g`);
    const after = await waitFor(async () => {
      const text = await scrape();
      return ends(text) === 14 && text;
    }, 'the end offsets to move by 10');
    expect(value(after, 'tributary_capture_messages_appended_total{source="default"}')).toBe(appended + 10);
  });

  it('stops its Postgres on SIGTERM and resumes where it left off', async () => {
    const pidFile = join(env.TRIBUTARY_DATA_DIR as string, 'pg', 'postmaster.pid');
    expect(existsSync(pidFile)).toBe(true);
    const pgPid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    await app?.kill('SIGTERM'); // the app closes (its Postgres last) and exits with 0
    await waitFor(() => !isAlive(pgPid), 'embedded Postgres to stop');

    await start();
    sql(`INSERT INTO orders (item, qty, price) VALUES ('plum', 2, 0.75)`);
    const topic = 'default.public.orders';
    const count = await waitFor(async () => {
      const { body } = await get(`/api/v1/topics/${topic}`);
      const total = (body.offsets as { end: string }[]).reduce((n, p) => n + Number(p.end), 0);
      return total === 15 && total;
    }, 'one more message, and no duplicates of the first fourteen');
    expect(count).toBe(15);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
