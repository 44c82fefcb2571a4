import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import pino from 'pino';
import { freePort } from '@tributary/local-postgres';
import { jsonLoggerOptions, RedactingConsoleLogger, scrubSecrets } from '@tributary/runtime';
import { TestCluster, waitFor } from './support/pg-cluster';
import { AppProcess, builtApp } from './support/processes';
import { WebhookReceiver } from './support/webhook-receiver';

const PASSWORD = 'Hunter2Sw0rdfish';
const WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ADMIN_TOKEN = 'admin-Tok3n-never-logged';
const QUERY_TOKEN = 'Qu3ryT0kenValue';
/** What must never be written, in any format: the secrets themselves (their unique parts). */
const SECRETS = [PASSWORD, WEBHOOK_SECRET.slice('whsec_'.length), ADMIN_TOKEN, QUERY_TOKEN];

const expectNoSecret = (output: string) => {
  for (const secret of SECRETS) expect({ secret, found: output.includes(secret) }).toEqual({ secret, found: false });
};

describe('logs: the logger itself keeps secrets out', () => {
  it('masks URL passwords, credential parameters, webhook secrets, tokens and Authorization credentials in text', () => {
    expect(scrubSecrets(`cannot reach postgres://app:${PASSWORD}@db:5432/shop: refused`)).toBe(
      'cannot reach postgres://app:***@db:5432/shop: refused',
    );
    expect(scrubSecrets(`host=db user=app password=${PASSWORD} dbname=shop`)).toBe('host=db user=app password=*** dbname=shop');
    expect(scrubSecrets(`POST https://hooks.example.com/in?token=${QUERY_TOKEN}&x=1 failed`)).toBe(
      'POST https://hooks.example.com/in?token=***&x=1 failed',
    );
    expect(scrubSecrets(`secret ${WEBHOOK_SECRET} rotated`)).toBe('secret whsec_*** rotated');
    expect(scrubSecrets(`token trb_${'A'.repeat(43)} used`)).toBe('token trb_*** used');
    expect(scrubSecrets(`authorization: Bearer ${ADMIN_TOKEN}`)).toBe('authorization: Bearer ***');
    expect(scrubSecrets(JSON.stringify({ adminToken: ADMIN_TOKEN, nested: { password: 'p"w' }, n: 1 }))).toBe(
      '{"adminToken":"***","nested":{"password":"***"},"n":1}',
    );
    expect(scrubSecrets(`{ sink: { 'x-api-key': 'k1', password: '${PASSWORD}' }, n: 1 }`)).toBe(
      "{ sink: { 'x-api-key': '***', password: '***' }, n: 1 }",
    );
    // What holds no credential keeps its exact spelling.
    for (const plain of ['GET http://127.0.0.1:3000/health done.', 'group hooks: 3 messages', 'streaming slot x from 0/0'])
      expect(scrubSecrets(plain)).toBe(plain);
  });

  it("writes Nest's lines (text) without the secrets of messages, objects and stacks", () => {
    const written: string[] = [];
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => written.push(String(chunk)) > 0);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => written.push(String(chunk)) > 0);
    try {
      const logger = new RedactingConsoleLogger({ logLevels: ['error', 'warn', 'log'] });
      logger.log(`connecting to postgres://app:${PASSWORD}@db/shop`, 'Source shop');
      logger.warn(
        { sink: { url: `https://h.example/in?token=${QUERY_TOKEN}`, secret: WEBHOOK_SECRET }, password: PASSWORD },
        'Group hooks',
      );
      const error = new Error(`cannot reach postgres://app:${PASSWORD}@db/shop`);
      logger.error(error.message, error.stack, 'Capture shop');
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    const output = stripVTControlCharacters(written.join('')); // colours off, for the patterns
    expect(output).toMatch(/\[Nest\] \d+ {2}- .* {5}LOG \[Source shop\] connecting to postgres:\/\/app:\*\*\*@db\/shop/);
    expect(output).toContain('[Capture shop]');
    expect(output).toContain("password: '***'");
    expectNoSecret(output);
  });

  it('writes JSON lines (json) without the secrets of messages, fields and headers', () => {
    const lines: string[] = [];
    const logger = pino(jsonLoggerOptions('log'), { write: (line: string) => void lines.push(line) });
    logger.info({ context: 'Source shop', url: `postgres://app:${PASSWORD}@db/shop` }, `password=${PASSWORD} refused`);
    logger.info({ req: { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, sink: { secret: WEBHOOK_SECRET } }, 'hi');
    logger.error({ err: new Error(`cannot reach postgres://app:${PASSWORD}@db/shop`) }, 'failed');
    expect(lines).toHaveLength(3);
    const [first, second] = lines.map((l) => JSON.parse(l));
    expect(first).toMatchObject({
      level: 'info',
      context: 'Source shop',
      url: 'postgres://app:***@db/shop',
      msg: 'password=*** refused',
    });
    expect(first.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(second).toMatchObject({ req: { headers: { authorization: '***' } }, sink: { secret: '***' } });
    expectNoSecret(lines.join(''));
  });
});

describe('logs: a start-up that fails', () => {
  it('is still written as JSON lines (json), without the password of the URL it could not reach', async () => {
    const port = await freePort(); // nothing listens there
    const app = new AppProcess(builtApp('worker'), {
      TRIBUTARY_DATABASE_URL: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/platform`,
      TRIBUTARY_LOG_FORMAT: 'json',
    });
    let stdout = '';
    app.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    expect(await app.exited).not.toBe(0);
    const entries = stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries).toContainEqual(
      expect.objectContaining({ level: 'error', err: expect.objectContaining({ message: expect.stringContaining(':***@') }) }),
    );
    expectNoSecret(app.output);
  });
});

describe('logs: a running platform never writes a secret, in either format', () => {
  let cluster: TestCluster;
  let receiver: WebhookReceiver;
  let dir: string;

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    receiver = await WebhookReceiver.start();
    dir = mkdtempSync(join(tmpdir(), 'tributary-logs-'));
    writeFileSync(join(dir, 'tributary.yaml'), 'sources: []\n');
  });

  afterAll(async () => {
    await receiver?.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the platform with a password in a source URL, a webhook secret and token-bearing requests; returns what it wrote. */
  async function runWithSecrets(format: 'text' | 'json'): Promise<{ stdout: string; output: string }> {
    const platformUrl = await cluster.createDatabase(`logs_${format}`);
    const sourceUrl = (await cluster.createDatabase(`logs_shop_${format}`)).replace(
      'postgres://postgres@',
      `postgres://postgres:${PASSWORD}@`,
    );
    await cluster.query(`logs_shop_${format}`, 'CREATE TABLE orders (id int PRIMARY KEY)');
    const port = await freePort();
    const app = new AppProcess(builtApp('tributary'), {
      TRIBUTARY_DATABASE_URL: platformUrl,
      TRIBUTARY_CONFIG: join(dir, 'tributary.yaml'),
      TRIBUTARY_API_PORT: String(port),
      TRIBUTARY_ADMIN_TOKEN: ADMIN_TOKEN,
      TRIBUTARY_LOG_FORMAT: format,
      TRIBUTARY_LOG_LEVEL: 'verbose',
    });
    let stdout = '';
    app.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: await res.text() };
    };
    try {
      await waitFor(async () => (await call('GET', '/ready').catch(() => ({ status: 0 }))).status === 200, 'the app', 90_000);
      const source = `shop_${format}`;
      expect((await call('POST', '/api/v1/sources', { name: source, url: sourceUrl, tables: ['public.orders'] })).status).toBe(
        201,
      );
      const sink = {
        type: 'webhook',
        url: `${receiver.url}?token=${QUERY_TOKEN}&f=${format}`,
        secret: WEBHOOK_SECRET,
        allowPrivateNetworks: true,
      };
      const group = { name: `hooks_${format}`, topics: [`${source}.public.orders`], sink };
      expect((await call('POST', '/api/v1/groups', group)).status).toBe(201);
      await call('GET', `/api/v1/groups?token=${QUERY_TOKEN}`);
      await cluster.query(`logs_shop_${format}`, 'INSERT INTO orders VALUES (1)');
      await waitFor(() => receiver.received.some((r) => r.path.includes(`f=${format}`)), 'the delivery', 60_000);
      await app.kill('SIGTERM');
      return { stdout, output: app.output };
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- app output ---\n${app.output}`);
    } finally {
      await app.kill();
    }
  }

  it('text (the default): Nest lines, no secret', async () => {
    const { output } = await runWithSecrets('text');
    expect(stripVTControlCharacters(output)).toMatch(/\[Nest\] \d+ {2}- .* {5}LOG \[Tributary\] API listening on/);
    expectNoSecret(output);
  });

  it('json: one JSON object per line with level, time, context and msg, requests included; no secret', async () => {
    const { stdout, output } = await runWithSecrets('json');
    const lines = stdout.split('\n').filter(Boolean);
    const entries = lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line: ${line}`);
      }
    });
    for (const entry of entries) {
      expect(entry).toEqual(
        expect.objectContaining({ level: expect.any(String), time: expect.any(String), msg: expect.any(String) }),
      );
      expect(typeof entry.context).toBe('string');
    }
    expect(entries).toContainEqual(
      expect.objectContaining({ context: 'Tributary', msg: expect.stringMatching(/^API listening/) }),
    );
    const requests = entries.filter((e) => e.context === 'HTTP');
    expect(requests).toContainEqual(
      expect.objectContaining({
        req: expect.objectContaining({ method: 'POST', headers: expect.objectContaining({ authorization: '***' }) }),
      }),
    );
    expectNoSecret(output);
  });
});
