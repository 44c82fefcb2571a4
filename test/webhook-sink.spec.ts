import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type GroupConfig } from '@tributary/config';
import { GroupMember, GroupRepository, MessageNotifier } from '@tributary/consumer-groups';
import { createApp } from '@tributary/runtime';
import {
  CircuitBreaker,
  isPrivateAddress,
  parseRetryAfter,
  WEBHOOK_DEFAULT_MEMBERS,
  WEBHOOK_RETRY_DEFAULTS,
  WebhookReplayer,
  WebhookRepository,
  WebhookSink,
  webhookSinkSchema,
} from '@tributary/webhook-sink';
import { TopicLog } from '@tributary/topic-log';
import { GroupRunner } from '@tributary/worker';
import { callApi } from './support/api';
import { platformConfig } from './support/capture-harness';
import { TestCluster, waitFor } from './support/pg-cluster';
import { TestPlatform } from './support/platform';
import { AppProcess, builtApp } from './support/processes';
import type { Received } from './support/webhook-receiver';
import { WebhookReceiver } from './support/webhook-receiver';
import { sleep } from '@tributary/timing';

const secret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

/**
 * The Standard Webhooks verification, written here from the specification (not with the sink's code):
 * the key is the base64 after `whsec_`; the signed content is `<webhook-id>.<webhook-timestamp>.<body>`;
 * `webhook-signature` holds space-separated `v1,<base64 HMAC-SHA256>` entries, any of which may match;
 * the timestamp (seconds) must be within the tolerance of now.
 */
function verifySignature(secretText: string, headers: IncomingHttpHeaders, body: string, toleranceSeconds = 300): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const key = Buffer.from(secretText.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`, 'utf8').digest();
  return signatures.split(' ').some((entry) => {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') return false;
    const given = Buffer.from(entry.slice(comma + 1), 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

const seqOf = (r: Received): number => (JSON.parse(r.body) as { after: { seq: number } }).after.seq;
const keyOf = (r: Received): number => (JSON.parse(r.body) as { after: { k: number } }).after.k;
const gap = (list: Received[], i: number): number => list[i].at - list[i - 1].at;

describe('webhook subscriptions', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let repo: GroupRepository;
  let hooks: WebhookRepository;
  let notifier: MessageNotifier;
  const runners: GroupRunner[] = [];
  const sinks: WebhookSink[] = [];
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    platform = await TestPlatform.create(cluster, 'platform');
    repo = new GroupRepository(platform.pool);
    hooks = new WebhookRepository(platform.pool);
    notifier = new MessageNotifier(platform.url);
    await notifier.start();
  });

  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
    await Promise.all(sinks.splice(0).map((s) => s.close()));
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  afterAll(async () => {
    await notifier?.close();
    await platform?.close();
    await cluster?.stop();
  });

  async function receiver(): Promise<WebhookReceiver> {
    const r = await WebhookReceiver.start();
    receivers.push(r);
    return r;
  }

  function webhookGroup(
    name: string,
    topics: string[],
    sink: Record<string, unknown>,
    extra: Partial<Omit<GroupConfig, 'sink'>> = {},
  ): GroupConfig {
    return {
      name,
      topics,
      startFrom: 'earliest',
      resetPolicy: 'earliest',
      sessionTimeoutMs: 3_000,
      batchSize: 100,
      members: 1,
      sink: webhookSinkSchema.parse({ type: 'webhook', secrets: [secret()], allowPrivateNetworks: true, ...sink }),
      retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 50 },
      onFailure: 'dead_letter',
      ...extra,
    };
  }

  async function run(config: GroupConfig): Promise<GroupRunner> {
    if (config.sink.type !== 'webhook') throw new Error('not a webhook group');
    await repo.upsertGroup(config);
    const member = new GroupMember(repo, config, 'test');
    await member.heartbeat(true);
    // As webhookSinkKind builds it: a paused endpoint's messages wait up to the max backoff.
    const sink = new WebhookSink({
      group: config.name,
      config: config.sink,
      pool: platform.pool,
      holdWhilePausedMs: config.retry.maxBackoffMs,
    });
    sinks.push(sink);
    const runner = new GroupRunner(member, config, repo, sink, notifier);
    runners.push(runner);
    runner.start();
    return runner;
  }

  const lagOf = async (group: string): Promise<bigint> => (await repo.lag(group)).reduce((n, p) => n + BigInt(p.lag), 0n);
  const caughtUp = (group: string) => async () => (await repo.lag(group)).length > 0 && (await lagOf(group)) === 0n;

  it('signs every request per Standard Webhooks (both secrets during a rotation), envelope or array as the body', async () => {
    await platform.createTopic('wh.sign', 1);
    await platform.produce('wh.sign', 1, 4);
    const [s1, s2] = [secret(), secret()];
    const single = await receiver();
    const batched = await receiver();
    await run(webhookGroup('wh-sign', ['wh.sign'], { url: single.url, secrets: [s1, s2], headers: { 'x-tenant': 'acme' } }));
    await run(webhookGroup('wh-sign-batch', ['wh.sign'], { url: batched.url, secrets: [s1], batchSize: 3 }));
    await waitFor(() => single.received.length >= 4 && batched.received.length >= 2, 'both endpoints to be called');

    for (const r of single.received) {
      expect(verifySignature(s1, r.headers, r.body)).toBe(true);
      expect(verifySignature(s2, r.headers, r.body)).toBe(true);
      expect(verifySignature(secret(), r.headers, r.body)).toBe(false);
      expect(verifySignature(s1, r.headers, r.body.replace('"op":"c"', '"op":"d"'))).toBe(false);
      expect(verifySignature(s1, { ...r.headers, 'webhook-id': 'other' }, r.body)).toBe(false);
      expect((r.headers['webhook-signature'] as string).split(' ')).toHaveLength(2);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-tenant']).toBe('acme');
      expect(r.headers['webhook-id']).toBe(JSON.parse(r.body).id);
    }
    expect(single.received.map((r) => JSON.parse(r.body).id)).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(single.received[0].body).toBe('{"id":"m0","op":"c","key":{"k":0},"after":{"k":0,"seq":0}}');

    expect(batched.received.map((r) => r.headers['webhook-id'])).toEqual(['m0..m2', 'm3..m3']);
    for (const r of batched.received) {
      expect(verifySignature(s1, r.headers, r.body)).toBe(true);
      expect(verifySignature(s2, r.headers, r.body)).toBe(false);
    }
    expect((JSON.parse(batched.received[0].body) as { id: string }[]).map((e) => e.id)).toEqual(['m0', 'm1', 'm2']);
  });

  it('retries failures with growing backoff under one webhook-id, and logs every attempt', async () => {
    await platform.createTopic('wh.retry', 1);
    await platform.produce('wh.retry', 1, 1);
    const endpoint = await receiver();
    endpoint.reply = (r) => (r.n < 3 ? { status: 500, body: 'boom' } : { status: 200 });
    const sinkSecret = secret();
    await run(
      webhookGroup(
        'wh-retry',
        ['wh.retry'],
        { url: endpoint.url, secrets: [sinkSecret] },
        { retry: { maxAttempts: 5, initialBackoffMs: 40, maxBackoffMs: 1_000 } },
      ),
    );
    await waitFor(caughtUp('wh-retry'), 'the message to be delivered');
    const got = endpoint.received;
    expect(got).toHaveLength(4);
    expect(new Set(got.map((r) => r.headers['webhook-id']))).toEqual(new Set(['m0']));
    expect(got.map((r) => r.headers['tributary-attempt'])).toEqual(['1', '2', '3', '4']);
    for (const r of got) expect(verifySignature(sinkSecret, r.headers, r.body)).toBe(true);
    // Backoff with jitter in [base/2, base], base = 40 ms * 2^(attempt-1): lower bounds only.
    expect(gap(got, 1)).toBeGreaterThanOrEqual(19);
    expect(gap(got, 2)).toBeGreaterThanOrEqual(39);
    expect(gap(got, 3)).toBeGreaterThanOrEqual(79);

    const attempts = await waitFor(async () => {
      const list = await hooks.attempts('wh-retry');
      return list.length === 4 && list.reverse();
    }, 'four logged attempts');
    expect(attempts.map((a) => [a.attempt, a.status, a.error, a.webhookId, a.kind])).toEqual([
      [1, 500, 'HTTP 500: boom', 'm0', 'delivery'],
      [2, 500, 'HTTP 500: boom', 'm0', 'delivery'],
      [3, 500, 'HTTP 500: boom', 'm0', 'delivery'],
      [4, 200, null, 'm0', 'delivery'],
    ]);
    for (const a of attempts) expect(a.latencyMs).toBeGreaterThanOrEqual(0);
    expect((await hooks.status('wh-retry'))?.status).toBe('active');
  });

  it('honours Retry-After on 429 (seconds) and 503 (HTTP date) instead of the backoff', async () => {
    await platform.createTopic('wh.ra', 1);
    await platform.produce('wh.ra', 1, 1);
    const endpoint = await receiver();
    endpoint.reply = (r) => {
      if (r.n === 0) return { status: 429, headers: { 'retry-after': '1' } };
      if (r.n === 1) return { status: 503, headers: { 'retry-after': new Date(Date.now() + 2_000).toUTCString() } };
      return { status: 204 };
    };
    await run(
      webhookGroup(
        'wh-ra',
        ['wh.ra'],
        { url: endpoint.url },
        { retry: { maxAttempts: 5, initialBackoffMs: 5, maxBackoffMs: 10_000 } },
      ),
    );
    await waitFor(caughtUp('wh-ra'), 'the message to be delivered');
    const got = endpoint.received;
    expect(got).toHaveLength(3);
    // Lower bounds only (a slow machine cannot make them fail): the retries waited for Retry-After, not the backoff.
    expect(gap(got, 1)).toBeGreaterThanOrEqual(950); // the backoff alone would be ~5 ms
    expect(gap(got, 2)).toBeGreaterThanOrEqual(950); // the date is whole seconds: at least 1 s ahead
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT'))).toBe(60_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('410 Gone disables the subscription: nothing more is sent, the status and the partition say so, enabling resumes', async () => {
    await platform.createTopic('wh.gone', 1);
    await platform.produce('wh.gone', 1, 3);
    const endpoint = await receiver();
    endpoint.reply = (r) => (r.n === 0 ? { status: 410 } : { status: 204 });
    await run(
      webhookGroup(
        'wh-gone',
        ['wh.gone'],
        { url: endpoint.url },
        { retry: { maxAttempts: 5, initialBackoffMs: 10, maxBackoffMs: 100 } },
      ),
    );
    await waitFor(async () => (await hooks.status('wh-gone'))?.status === 'disabled', 'the subscription to be disabled');
    const [partition] = await waitFor(async () => {
      const lag = await repo.lag('wh-gone');
      return lag[0]?.status === 'blocked' && lag;
    }, 'the partition to block');
    expect(partition.statusDetail).toMatch(/410/);
    expect((await hooks.status('wh-gone'))?.detail).toMatch(/410 Gone/);
    await sleep(1_000); // the partition retries every 100 ms; none may reach the endpoint
    expect(endpoint.received).toHaveLength(1);
    const { rows } = await platform.pool.query(
      `SELECT count(*)::int AS n FROM tributary.dead_letters WHERE group_name = 'wh-gone'`,
    );
    expect(rows[0].n).toBe(0);

    await hooks.setStatus('wh-gone', endpoint.url, 'active', null); // what POST .../webhook/enable does
    await waitFor(caughtUp('wh-gone'), 'deliveries to resume');
    expect(endpoint.received.map((r) => r.headers['webhook-id'])).toEqual(['m0', 'm0', 'm1', 'm2']);
    await waitFor(async () => (await repo.lag('wh-gone'))[0].status === 'ok', 'the partition status to clear');
  });

  it('treats no answer within timeoutMs as a failure and retries', async () => {
    await platform.createTopic('wh.timeout', 1);
    await platform.produce('wh.timeout', 1, 1);
    const endpoint = await receiver();
    endpoint.reply = (r) => (r.n === 0 ? { status: 200, hold: true } : { status: 200 });
    await run(webhookGroup('wh-timeout', ['wh.timeout'], { url: endpoint.url, timeoutMs: 300 }));
    await waitFor(caughtUp('wh-timeout'), 'the retry to succeed');
    const attempts = await waitFor(async () => {
      const list = await hooks.attempts('wh-timeout');
      return list.length === 2 && list.reverse();
    }, 'two attempts');
    expect(attempts.map((a) => [a.status, a.error])).toEqual([
      [null, 'timed out after 300 ms'],
      [200, null],
    ]);
    endpoint.release();
  });

  it('opens the circuit after consecutive failures, probes after the cooldown, closes on success', async () => {
    await platform.createTopic('wh.cb', 1);
    await platform.produce('wh.cb', 1, 1);
    const endpoint = await receiver();
    endpoint.reply = (r) => (r.n < 4 ? { status: 502 } : { status: 204 });
    const seen = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const s = await hooks.status('wh-cb');
        if (s) seen.add(s.status);
        await sleep(25);
      }
    })();
    await run(
      webhookGroup(
        'wh-cb',
        ['wh.cb'],
        { url: endpoint.url, circuitBreaker: { failureThreshold: 3, cooldownMs: 400, maxCooldownMs: 5_000 } },
        { retry: { maxAttempts: 20, initialBackoffMs: 5, maxBackoffMs: 20 } },
      ),
    );
    await waitFor(caughtUp('wh-cb'), 'the endpoint to recover');
    watching = false;
    await watcher;
    const got = endpoint.received;
    expect(got).toHaveLength(5);
    expect(gap(got, 3)).toBeGreaterThanOrEqual(380); // open after 3 failures: the probe waits the cooldown
    expect(gap(got, 4)).toBeGreaterThanOrEqual(760); // the probe failed: twice the cooldown
    expect(seen.has('paused')).toBe(true);
    expect((await hooks.status('wh-cb'))?.status).toBe('active');

    // The state machine on its own, with a fake clock.
    let now = 0;
    const slept: number[] = [];
    const breaker = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 100, maxCooldownMs: 250 }, undefined, () => now);
    const fakeSleep = (ms: number) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    };
    breaker.failed('x');
    expect(breaker.state).toBe('closed');
    breaker.failed('x');
    expect(breaker.state).toBe('open');
    await breaker.admit(fakeSleep);
    expect([breaker.state, slept]).toEqual(['half-open', [100]]);
    breaker.failed('probe');
    await breaker.admit(fakeSleep);
    expect(slept).toEqual([100, 200]);
    breaker.failed('probe');
    await breaker.admit(fakeSleep);
    expect(slept).toEqual([100, 200, 250]);
    breaker.succeeded();
    expect(breaker.state).toBe('closed');
    await breaker.admit(fakeSleep);
    expect(slept).toHaveLength(3);
  });

  it('an outage longer than the retry schedule: messages wait for the circuit, spend no attempts, flow on the first good probe', async () => {
    await platform.createTopic('wh.outage', 1);
    await platform.produce('wh.outage', 1, 40, 4); // 4 keys: several key lanes wait at once
    const endpoint = await receiver();
    let down = true;
    endpoint.reply = () => (down ? { status: 503 } : { status: 204 });
    await run(
      webhookGroup(
        'wh-outage',
        ['wh.outage'],
        { url: endpoint.url, circuitBreaker: { failureThreshold: 1, cooldownMs: 50, maxCooldownMs: 100 } },
        // Without the hold the first failure would cost a 30-60 s backoff and the third a dead letter.
        { retry: { maxAttempts: 3, initialBackoffMs: 60_000, maxBackoffMs: 120_000 } },
      ),
    );
    await waitFor(() => endpoint.received.length >= 12, 'a dozen probes of the dead endpoint');
    expect(endpoint.received.every((r) => endpoint.answered.get(r.n) === 503 || endpoint.answered.get(r.n) === undefined)).toBe(
      true,
    );
    expect((await hooks.status('wh-outage'))?.status).toBe('paused');
    down = false;
    await waitFor(caughtUp('wh-outage'), 'the backlog to be delivered on the first successful probe');

    // Every request was the messages' first attempt: the outage spent none, so no backoff was slept either.
    expect(new Set(endpoint.received.map((r) => r.headers['tributary-attempt']))).toEqual(new Set(['1']));
    const { rows } = await platform.pool.query(
      `SELECT count(*)::int AS n FROM tributary.dead_letters WHERE group_name = 'wh-outage'`,
    );
    expect(rows[0].n).toBe(0);
    const delivered = endpoint.received.filter((r) => endpoint.answered.get(r.n) === 204);
    expect(new Set(delivered.map((r) => r.headers['webhook-id'])).size).toBe(40);
    for (let k = 0; k < 4; k++) {
      const seqs = delivered.filter((r) => keyOf(r) === k).map(seqOf);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b)); // per key in offset order
    }
    await waitFor(async () => (await hooks.status('wh-outage'))?.status === 'active', 'the subscription to be active again');
  });

  it('dead-letters after the last attempt with every attempt, moves on, and replays (API: dead letter, range, since)', async () => {
    await platform.createTopic('wh.dl', 1);
    await platform.produce('wh.dl', 1, 5);
    const endpoint = await receiver();
    let broken = true;
    endpoint.reply = (r) => (broken && seqOf(r) === 2 ? { status: 500, body: 'nope' } : { status: 204 });
    const config = webhookGroup('wh-dl', ['wh.dl'], { url: endpoint.url });
    await run(config);
    await waitFor(caughtUp('wh-dl'), 'the group to move past the failing message');
    const ok = endpoint.received.filter((r) => endpoint.answered.get(r.n) === 204);
    expect(ok.map((r) => r.headers['webhook-id'])).toEqual(['m0', 'm1', 'm3', 'm4']);
    expect(endpoint.withId('m2')).toHaveLength(3);

    const app = (await createApp(
      {
        ...platformConfig(platform.url, []),
        logLevel: 'error',
        declared: { sources: [], groups: [config, { ...config, name: 'wh-log', sink: { type: 'log' } }] },
      },
      ['api'],
    )) as INestApplication;
    try {
      await app.listen(0, '127.0.0.1');
      const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await callApi(base, method, `/api/v1/groups${path}`, body);
        return { ...res, type: res.headers.get('content-type') ?? '' };
      };

      const dead = await call('GET', '/wh-dl/dead-letters');
      expect(dead.status).toBe(200);
      expect(dead.body).toHaveLength(1);
      expect(dead.body[0]).toMatchObject({ offset: '2', attempts: 3, error: 'HTTP 500: nope' });
      expect(
        dead.body[0].attemptLog.map((a: { attempt: number; status: number; error: string }) => [a.attempt, a.status, a.error]),
      ).toEqual([
        [1, 500, 'HTTP 500: nope'],
        [2, 500, 'HTTP 500: nope'],
        [3, 500, 'HTTP 500: nope'],
      ]);

      // Attempts are logged off the delivery path: wait for the seven first attempts before replaying.
      await waitFor(async () => (await call('GET', '/wh-dl/attempts')).body.attempts.length === 7, 'the attempt log');
      broken = false;
      const replayed = await call('POST', '/wh-dl/replay', { deadLetterId: dead.body[0].id });
      expect(replayed.status).toBe(200);
      expect(replayed.body).toMatchObject({ selected: 1, delivered: 1, failed: [], resolvedDeadLetters: [dead.body[0].id] });
      expect(endpoint.withId('m2')).toHaveLength(4);
      expect(endpoint.answered.get(endpoint.withId('m2')[3].n)).toBe(204);
      expect((await call('GET', '/wh-dl/dead-letters')).body).toEqual([]);

      const range = await call('POST', '/wh-dl/replay', { topic: 'wh.dl', partition: 0, fromOffset: '0', toOffset: 1 });
      expect(range.body).toMatchObject({ selected: 2, delivered: 2 });
      const since = await call('POST', '/wh-dl/replay', { since: new Date(Date.now() - 3_600_000).toISOString() });
      expect(since.body).toMatchObject({ selected: 5, delivered: 5 });
      expect(endpoint.received.slice(-7).map((r) => r.headers['webhook-id'])).toEqual(['m0', 'm1', 'm0', 'm1', 'm2', 'm3', 'm4']);

      const attempts = await call('GET', '/wh-dl/attempts?limit=3');
      expect(attempts.status).toBe(200);
      expect(attempts.body.status).toMatchObject({ status: 'active' });
      expect(attempts.body.attempts.map((a: { kind: string; webhookId: string }) => [a.kind, a.webhookId])).toEqual([
        ['replay', 'm4'],
        ['replay', 'm3'],
        ['replay', 'm2'],
      ]);
      const failed = await call('GET', '/wh-dl/attempts?failed=true');
      expect(failed.body.attempts).toHaveLength(3);

      const bad = await call('POST', '/wh-dl/replay', { topic: 'wh.dl' });
      expect(bad.status).toBe(400);
      expect(bad.type).toContain('application/problem+json');
      expect((await call('POST', '/wh-dl/replay', { deadLetterId: '999999' })).status).toBe(404);
      expect((await call('GET', '/wh-nope/attempts')).status).toBe(404);
      expect((await call('GET', '/wh-log/attempts')).status).toBe(409);
      // A signed test delivery: verified like any request, moves nothing, leaves no attempt behind.
      const before = endpoint.received.length;
      const attemptsBefore = (await call('GET', '/wh-dl/attempts?limit=1000')).body.attempts.length;
      const test = await call('POST', '/wh-dl/webhook/test');
      expect(test.body).toMatchObject({ ok: true, status: 204, error: null, webhookId: expect.stringMatching(/^ping-/) });
      const ping = endpoint.received[before];
      expect(JSON.parse(ping.body)).toMatchObject({ op: 'ping', id: test.body.webhookId });
      expect(verifySignature((config.sink as { secrets: string[] }).secrets[0], ping.headers, ping.body)).toBe(true);
      expect((await call('GET', '/wh-dl/attempts?limit=1000')).body.attempts).toHaveLength(attemptsBefore);
      const reply = endpoint.reply;
      endpoint.reply = () => ({ status: 503, body: 'down for maintenance' });
      expect((await call('POST', '/wh-dl/webhook/test')).body).toMatchObject({
        ok: false,
        status: 503,
        error: 'HTTP 503: down for maintenance',
      });
      endpoint.reply = reply;
      expect((await call('POST', '/wh-log/webhook/test')).status).toBe(409);
      const status = await call('GET', '/wh-dl/webhook');
      expect(status.body).toMatchObject({ url: endpoint.url, status: 'active', secrets: 1 });
      expect(JSON.stringify(status.body)).not.toContain('whsec_');
    } finally {
      await app.close();
    }

    // The same, as a function.
    const again = await new WebhookReplayer(
      { name: 'wh-dl', topics: ['wh.dl'], sink: config.sink as never },
      platform.pool,
    ).replay({
      topic: 'wh.dl',
      partition: 0,
      fromOffset: 4n,
      toOffset: 10n,
    });
    expect(again).toMatchObject({ selected: 1, delivered: 1 });
  });

  it('keeps per-key order: nothing for a key is sent before its earlier messages succeeded or were dead-lettered', async () => {
    await platform.createTopic('wh.order', 2);
    await platform.produce('wh.order', 2, 40, 4);
    const endpoint = await receiver();
    const tries = new Map<number, number>();
    endpoint.reply = (r) => {
      const seq = seqOf(r);
      const n = (tries.get(seq) ?? 0) + 1;
      tries.set(seq, n);
      if (seq === 5) return { status: 500 }; // key 1: dead-lettered
      if (keyOf(r) === 2 && n === 1) return { status: 503 }; // key 2: every message fails once
      return { status: 204 };
    };
    await run(
      webhookGroup(
        'wh-order',
        ['wh.order'],
        { url: endpoint.url },
        { batchSize: 7, retry: { maxAttempts: 3, initialBackoffMs: 5, maxBackoffMs: 20 } },
      ),
    );
    await waitFor(caughtUp('wh-order'), 'all 40 messages to be handled');
    const byKey = new Map<number, Received[]>();
    for (const r of endpoint.received) byKey.set(keyOf(r), [...(byKey.get(keyOf(r)) ?? []), r]);
    for (const [key, list] of byKey) {
      const seqs = [...new Set(list.map(seqOf))];
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      // Every request for a message comes after the last request for the key's previous message.
      for (let i = 1; i < seqs.length; i++) {
        const lastOfPrevious = Math.max(...list.filter((r) => seqOf(r) === seqs[i - 1]).map((r) => r.n));
        const firstOfThis = Math.min(...list.filter((r) => seqOf(r) === seqs[i]).map((r) => r.n));
        expect([key, firstOfThis > lastOfPrevious]).toEqual([key, true]);
      }
      expect(seqs).toHaveLength(10);
    }
    expect(tries.get(5)).toBe(3);
    const dead = await hooks.deadLetters('wh-order');
    expect(dead.map((d) => [d.key, d.attemptLog.length])).toEqual([['{"k":1}', 3]]);
  });

  it('delivers only the operations and column values a subscription asks for; the rest is acknowledged', async () => {
    await platform.createTopic('wh.filter', 1);
    const rows: [string, string, string | null][] = [
      ['c', 'new', null],
      ['u', 'paid', 'new'],
      ['u', 'shipped', 'paid'],
      ['d', null as unknown as string, 'shipped'],
      ['u', 'paid', 'paid'],
      ['t', '', ''],
    ];
    const c = await platform.pool.connect();
    try {
      await c.query('BEGIN');
      await TopicLog.append(
        c,
        rows.map(([op, after, before], i) => ({
          topic: 'wh.filter',
          partition: 0,
          key: op === 't' ? null : '{"id":1}',
          envelope: JSON.stringify({
            id: `f${i}`,
            op,
            before: op === 'c' || op === 't' ? null : { id: 1, status: before },
            after: op === 'd' || op === 't' ? null : { id: 1, status: after, amount: 12.5 },
          }),
          sourceLsn: null,
          txId: null,
          commitTimeMs: null,
        })),
      );
      await c.query('COMMIT');
    } finally {
      c.release();
    }
    const paid = await receiver();
    const deletes = await receiver();
    await run(
      webhookGroup('wh-filter-paid', ['wh.filter'], {
        url: paid.url,
        operations: ['u'],
        filter: { after: { status: 'paid', amount: '12.5' } },
      }),
    );
    await run(
      webhookGroup('wh-filter-del', ['wh.filter'], {
        url: deletes.url,
        operations: ['d', 't'],
        filter: { before: { status: ['shipped', 'x'] } },
      }),
    );
    await waitFor(
      async () => (await caughtUp('wh-filter-paid')()) && (await caughtUp('wh-filter-del')()),
      'both groups to pass every message',
    );
    expect(paid.received.map((r) => r.headers['webhook-id'])).toEqual(['f1', 'f4']);
    expect(deletes.received.map((r) => r.headers['webhook-id'])).toEqual(['f3']);
  });

  it('keeps to rateLimitPerSecond (bursts up to one second of it)', async () => {
    await platform.createTopic('wh.rate', 1);
    await platform.produce('wh.rate', 1, 30);
    const endpoint = await receiver();
    await run(webhookGroup('wh-rate', ['wh.rate'], { url: endpoint.url, rateLimitPerSecond: 20 }));
    await waitFor(caughtUp('wh-rate'), 'all 30 messages');
    // 20 at once, then 20 per second: the last 10 need at least half a second.
    expect(endpoint.received[29].at - endpoint.received[0].at).toBeGreaterThanOrEqual(450);
  });

  it('refuses loopback and private addresses unless allowed; follows no redirect; reads bodies only up to a limit', async () => {
    await platform.createTopic('wh.ssrf', 1);
    await platform.produce('wh.ssrf', 1, 1);
    const target = await receiver();
    const other = await receiver();
    await run(
      webhookGroup(
        'wh-ssrf-ip',
        ['wh.ssrf'],
        { url: target.url, allowPrivateNetworks: false },
        { retry: { maxAttempts: 2, initialBackoffMs: 5, maxBackoffMs: 5 } },
      ),
    );
    await run(
      webhookGroup(
        'wh-ssrf-name',
        ['wh.ssrf'],
        { url: `http://localhost:${target.port}/hook`, allowPrivateNetworks: false },
        { retry: { maxAttempts: 2, initialBackoffMs: 5, maxBackoffMs: 5 } },
      ),
    );
    other.reply = (r) =>
      r.path === '/redirect' ? { status: 302, headers: { location: target.url } } : { status: 500, body: 'x'.repeat(1_000_000) };
    await run(
      webhookGroup(
        'wh-redirect',
        ['wh.ssrf'],
        { url: `${other.url.replace('/hook', '/redirect')}` },
        { retry: { maxAttempts: 2, initialBackoffMs: 5, maxBackoffMs: 5 } },
      ),
    );
    await run(
      webhookGroup(
        'wh-big',
        ['wh.ssrf'],
        { url: other.url },
        { retry: { maxAttempts: 2, initialBackoffMs: 5, maxBackoffMs: 5 } },
      ),
    );
    for (const g of ['wh-ssrf-ip', 'wh-ssrf-name', 'wh-redirect', 'wh-big']) await waitFor(caughtUp(g), `${g} to give up`);

    expect(target.received).toHaveLength(0);
    const [ip] = await hooks.deadLetters('wh-ssrf-ip');
    expect(ip.error).toMatch(/^refused: 127\.0\.0\.1 resolves only to loopback, private or link-local addresses/);
    const [name] = await hooks.deadLetters('wh-ssrf-name');
    expect(name.error).toMatch(/^refused: localhost resolves only to loopback/);
    expect(name.attemptLog.map((a) => a.status)).toEqual([null, null]);
    const [redirect] = await hooks.deadLetters('wh-redirect');
    expect(redirect.error).toBe(`HTTP 302: redirect to ${target.url} not followed`);
    const [big] = await hooks.deadLetters('wh-big');
    expect(big.error).toBe(`HTTP 500: ${'x'.repeat(200)}`);

    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '224.0.0.1',
    ]) {
      expect([a, isPrivateAddress(a)]).toEqual([a, true]);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])
      expect([a, isPrivateAddress(a)]).toEqual([a, false]);
  });

  it('logs an answer whose body holds NUL (Postgres text refuses it) with the rest of its batch', async () => {
    await platform.createTopic('wh.nul', 1);
    await platform.produce('wh.nul', 1, 1);
    const endpoint = await receiver();
    endpoint.reply = () => ({ status: 500, body: 'bad\u0000byte' });
    await run(
      webhookGroup(
        'wh-nul',
        ['wh.nul'],
        { url: endpoint.url },
        { retry: { maxAttempts: 2, initialBackoffMs: 5, maxBackoffMs: 5 } },
      ),
    );
    await waitFor(caughtUp('wh-nul'), 'the message to be dead-lettered');
    const [dead] = await hooks.deadLetters('wh-nul');
    expect(dead.error).toBe('HTTP 500: bad byte');
    expect(dead.attemptLog.map((a) => [a.attempt, a.error])).toEqual([
      [1, 'HTTP 500: bad byte'],
      [2, 'HTTP 500: bad byte'],
    ]);
  });

  it('reads webhook groups from YAML: the webhook retry schedule by default, private networks only with the embedded database', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-webhook-config-'));
    try {
      const file = join(dir, 'tributary.yaml');
      const write = (sink: string, retry = '') =>
        writeFileSync(file, ['groups:', '  - name: hooks', '    topics: [a.b]', `    sink: ${sink}`, retry].join('\n'));
      const s = secret();
      write(`{ type: webhook, url: "https://example.com/in", secret: "${s}" }`);
      const external = loadConfig({ TRIBUTARY_CONFIG: file, TRIBUTARY_DATABASE_URL: 'postgres://x@h/db' }, dir).groups[0];
      expect(external.retry).toEqual(WEBHOOK_RETRY_DEFAULTS);
      expect(external.members).toBe(WEBHOOK_DEFAULT_MEMBERS);
      expect(external.sink).toMatchObject({ type: 'webhook', secrets: [s], batchSize: 1, allowPrivateNetworks: false });
      const embedded = loadConfig({ TRIBUTARY_CONFIG: file }, dir).groups[0];
      expect(embedded.sink).toMatchObject({ allowPrivateNetworks: true });
      write(`{ type: webhook, url: "https://example.com/in", secrets: ["${s}"] }`, '    retry: { maxAttempts: 3 }');
      expect(loadConfig({ TRIBUTARY_CONFIG: file }, dir).groups[0].retry).toEqual({ ...WEBHOOK_RETRY_DEFAULTS, maxAttempts: 3 });
      write(`{ type: webhook, url: "https://example.com/in", secrets: ["${s}"], headers: { Webhook-Id: x, x-ok: y } }`);
      expect(() => loadConfig({ TRIBUTARY_CONFIG: file }, dir)).toThrow(
        /groups\[0\]\.sink\.headers\.Webhook-Id: is set by Tributary/,
      );
      write(`{ type: webhook, url: "ftp://example.com/in", secrets: ["not-a-secret"], operations: [x] }`);
      expect(() => loadConfig({ TRIBUTARY_CONFIG: file }, dir)).toThrow(ConfigError);
      try {
        loadConfig({ TRIBUTARY_CONFIG: file }, dir);
      } catch (error) {
        expect((error as Error).message).toMatch(/groups\[0\]\.sink\.url/);
        expect((error as Error).message).toMatch(/groups\[0\]\.sink\.secrets\[0\]/);
        expect((error as Error).message).toMatch(/groups\[0\]\.sink\.operations\[0\]/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('in the worker runtime', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'tributary-webhook-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    function yaml(groups: { name: string; topic: string; url: string; extra?: string[] }[]): string {
      const file = join(dir, `tributary-${Math.random().toString(36).slice(2)}.yaml`);
      const lines = ['retentionCheckIntervalMs: 3600000', 'groups:'];
      for (const g of groups) {
        lines.push(
          `  - name: ${g.name}`,
          `    topics: [${g.topic}]`,
          '    sessionTimeoutMs: 2000',
          '    batchSize: 100',
          '    retry: { maxAttempts: 50, initialBackoffMs: 10, maxBackoffMs: 200 }',
          '    sink:',
          '      type: webhook',
          `      url: ${g.url}`,
          `      secret: ${secret()}`,
          '      allowPrivateNetworks: true',
          ...(g.extra ?? []).map((l) => `      ${l}`),
        );
      }
      writeFileSync(file, lines.join('\n'));
      return file;
    }

    it('a slow endpoint does not delay a healthy one', async () => {
      await platform.createTopic('wh.iso', 4);
      const slow = await receiver();
      const healthy = await receiver();
      slow.reply = () => ({ status: 204, hold: true });
      const file = yaml([
        { name: 'wh-slow', topic: 'wh.iso', url: slow.url, extra: ['timeoutMs: 120000'] },
        { name: 'wh-healthy', topic: 'wh.iso', url: healthy.url },
      ]);
      const config = loadConfig(
        { TRIBUTARY_CONFIG: file, TRIBUTARY_DATABASE_URL: platform.url, TRIBUTARY_LOG_LEVEL: 'error' },
        dir,
      );
      let app: INestApplicationContext | undefined = await createApp(config, ['worker']);
      try {
        await app.init();
        await platform.produce('wh.iso', 4, 200, 50);
        await waitFor(
          () => new Set(healthy.received.map((r) => r.headers['webhook-id'])).size === 200,
          'the healthy endpoint to get all 200',
        );
        // Still waiting on its first answers: one request per member (one per partition) at most.
        expect(slow.received.length).toBeLessThanOrEqual(WEBHOOK_DEFAULT_MEMBERS);
        slow.reply = () => ({ status: 204 });
        slow.release();
        await waitFor(
          () => new Set(slow.received.map((r) => r.headers['webhook-id'])).size === 200,
          'the slow endpoint to catch up',
        );
        await app.close();
        app = undefined;
      } finally {
        await app?.close();
      }
    });

    it('kill -9 of the worker during deliveries: nothing lost, duplicates only under the same webhook-id', async () => {
      const TOTAL = 3_000;
      await platform.createTopic('wh.kill', 4);
      const endpoint = await receiver();
      // Some failures, so retries are in flight too.
      endpoint.reply = (r) => (r.n % 37 === 5 ? { status: 503 } : { status: 204 });
      const file = yaml([{ name: 'wh-kill', topic: 'wh.kill', url: endpoint.url, extra: ['timeoutMs: 5000'] }]);
      const env = { TRIBUTARY_DATABASE_URL: platform.url, TRIBUTARY_CONFIG: file, TRIBUTARY_LOG_LEVEL: 'warn' };
      const workers: AppProcess[] = [new AppProcess(builtApp('worker'), env)];
      try {
        let produced = 0;
        const producing = (async () => {
          while (produced < TOTAL) {
            await platform.produce('wh.kill', 4, 200, 60, produced);
            produced += 200;
            await sleep(20);
          }
        })();
        const delivered = () =>
          new Set(endpoint.received.filter((r) => endpoint.answered.get(r.n) === 204).map((r) => r.headers['webhook-id']));
        for (const at of [500, 1_500]) {
          await waitFor(() => delivered().size >= at, `${at} deliveries`, 120_000);
          await workers[workers.length - 1].kill('SIGKILL');
          workers.push(new AppProcess(builtApp('worker'), env));
        }
        await producing;
        await waitFor(() => delivered().size === TOTAL, 'every message to be delivered', 120_000);
        await waitFor(caughtUp('wh-kill'), 'the group to commit everything', 60_000);

        // Each message always carried the same webhook-id (its envelope id), so duplicates are recognisable.
        const idsByEnvelope = new Map<string, Set<string>>();
        for (const r of endpoint.received) {
          const id = (JSON.parse(r.body) as { id: string }).id;
          idsByEnvelope.set(id, (idsByEnvelope.get(id) ?? new Set()).add(r.headers['webhook-id'] as string));
        }
        expect(idsByEnvelope.size).toBe(TOTAL);
        for (const [id, ids] of idsByEnvelope) expect([id, [...ids]]).toEqual([id, [id]]);
        // Per key, first successful deliveries in production order.
        const firstOk = new Map<number, number[]>();
        const done = new Set<string>();
        for (const r of endpoint.received) {
          if (endpoint.answered.get(r.n) !== 204 || done.has(r.headers['webhook-id'] as string)) continue;
          done.add(r.headers['webhook-id'] as string);
          firstOk.set(keyOf(r), [...(firstOk.get(keyOf(r)) ?? []), seqOf(r)]);
        }
        for (const seqs of firstOk.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        const okCount = endpoint.received.filter((r) => endpoint.answered.get(r.n) === 204).length;
        process.stderr.write(`kill -9 test: ${TOTAL} messages, ${okCount - TOTAL} duplicate 2xx deliveries (same webhook-id)\n`);
      } catch (error) {
        for (const w of workers) process.stderr.write(w.output.slice(-5_000));
        throw error;
      } finally {
        await Promise.all(workers.map((w) => w.kill('SIGKILL')));
      }
    });
  });
});
