import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { redactGroupSpec } from '@tributary/catalog';
import {
  groupSchema,
  redisSinkSchema,
  restoreWriteOnlySecrets,
  WriteOnlySecretError,
  type GroupConfig,
  type RedisSinkConfig,
} from '@tributary/config';
import { freePort } from '@tributary/local-postgres';
import { RedisSink, RedisStreamError, RedisUnavailableError } from '@tributary/redis-sink';
import type { ConsumedMessage, SinkEvent } from '@tributary/sink-contract';
import { GroupPlatform } from './support/group-platform';
import { waitFor } from './support/pg-cluster';
import { RedisServer, selfSignedCertificate, serviceExpected } from './support/redis-server';
import { sinkGroup, SinkGroups } from './support/sink-groups';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Every key this run writes starts with it, so parallel runs never meet. */
const PREFIX = `tributary-test:${process.pid}-${Date.now().toString(36)}`;
const itRedis = serviceExpected('127.0.0.1', 6379, 'Redis') ? it : it.skip;

export function redisConfig(url: string, extra: Partial<RedisSinkConfig> = {}): RedisSinkConfig {
  return redisSinkSchema.parse({ type: 'redis', url, streamKey: `${PREFIX}:{topic}:{partition}`, ...extra });
}

/** A stream's entries as [id, fields]. */
export async function entries(redis: Redis, stream: string): Promise<[string, Record<string, string>][]> {
  const raw = (await redis.xrange(stream, '-', '+')) as [string, string[]][];
  return raw.map(([id, flat]) => {
    const fields: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
    return [id, fields];
  });
}

/** Ids 1-0, 2-0, … n-0: one entry per offset 0 … n-1, none twice, none missing. */
function contiguousIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${i + 1}-0`);
}

describe('redis sink (Redis Streams)', () => {
  const bed = GroupPlatform.inTests();
  let redis: Redis;
  let groups: SinkGroups;
  const events: SinkEvent[] = [];
  const report = (e: SinkEvent) => Promise.resolve(void events.push(e));

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  beforeEach(() => {
    groups = new SinkGroups(bed.repo, bed.notifier);
    events.length = 0;
  });
  afterEach(() => groups.stop());
  afterAll(async () => {
    const keys = await redis.keys(`${PREFIX}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  const stream = (topic: string, partition: number) => `${PREFIX}:${topic}:${partition}`;
  const fetch = (topic: string, partition: number, from: bigint, limit: number) => bed.repo.fetch(topic, partition, from, limit);

  itRedis('writes every message once, as entry <offset+1>-0 of its partition stream, in offset order', async () => {
    await bed.platform.createTopic('r.basic', 3);
    await bed.platform.produce('r.basic', 3, 3_000, 50);
    const group: GroupConfig = sinkGroup('r-basic', ['r.basic'], { sink: redisConfig(REDIS_URL) });
    await groups.start(group, new RedisSink({ group: group.name, config: redisConfig(REDIS_URL), report }));
    const lens = () => Promise.all([0, 1, 2].map((p) => redis.xlen(stream('r.basic', p))));
    await waitFor(async () => (await lens()).reduce((a, b) => a + b) === 3_000, 'all 3,000 messages in the streams', 120_000);

    const seqByKey = new Map<string, number[]>();
    for (const p of [0, 1, 2]) {
      const written = await entries(redis, stream('r.basic', p));
      expect(written.map(([id]) => id)).toEqual(contiguousIds(written.length));
      const stored = await fetch('r.basic', p, 0n, 5_000);
      for (const [i, [, fields]] of written.entries()) {
        expect(fields).toEqual({
          topic: 'r.basic',
          partition: String(p),
          incarnation: expect.any(String),
          key: stored[i].key,
          body: stored[i].envelope,
        });
        const seq = (JSON.parse(fields.body) as { after: { seq: number } }).after.seq;
        seqByKey.set(fields.key, [...(seqByKey.get(fields.key) ?? []), seq]);
      }
    }
    expect(seqByKey.size).toBe(50);
    for (const seqs of seqByKey.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    await waitFor(async () => (await bed.repo.lag('r-basic')).every((l) => l.lag === '0'), 'the group to commit everything');
  });

  itRedis(
    'a replayed batch is refused by Redis itself and counts as written; storedPosition resumes after the newest entry',
    async () => {
      await bed.platform.createTopic('r.replay', 1);
      await bed.platform.produce('r.replay', 1, 300, 10);
      const batch = await fetch('r.replay', 0, 0n, 300);
      const sink = new RedisSink({ group: 'r-replay', config: redisConfig(REDIS_URL), report });
      try {
        expect(await sink.storedPosition('r.replay', 0)).toBeUndefined();
        await sink.deliver(batch.slice(0, 120));
        // As after a crash between the write and the commit: the same messages again, and more.
        await sink.deliver(batch.slice(0, 200));
        await sink.deliver(batch.slice(150, 300));
        const written = await entries(redis, stream('r.replay', 0));
        expect(written.map(([id]) => id)).toEqual(contiguousIds(300));
        expect(written.map(([, f]) => f.body)).toEqual(batch.map((m) => m.envelope));
        expect(events.filter((e) => e.kind === 'redis_replay_skipped').map((e) => e.detail)).toEqual([
          expect.stringMatching(/^120 message\(s\) at offsets 0\.\.119 were already in stream /),
          expect.stringMatching(/^50 message\(s\) at offsets 150\.\.199 /),
        ]);
        // Redis itself refuses an id at or below the newest: a writer without the check could not duplicate either.
        await expect(redis.xadd(stream('r.replay', 0), '5-0', 'body', 'x')).rejects.toThrow(/equal or smaller/);
        expect(await sink.storedPosition('r.replay', 0)).toEqual({
          nextOffset: 300n,
          topicIncarnation: batch[0].topicIncarnation ?? null,
        });
      } finally {
        await sink.close();
      }
    },
  );

  itRedis(
    'a stream another partition wrote to blocks the partition with a clear error (skipping would lose messages)',
    async () => {
      await bed.platform.createTopic('r.shared', 2);
      await bed.platform.produce('r.shared', 2, 100, 20);
      const shared = `${PREFIX}:shared`;
      const routed = async (p: number) =>
        (await fetch('r.shared', p, 0n, 10)).map((m): ConsumedMessage => ({ ...m, route: shared }));
      const sink = new RedisSink({ group: 'r-shared', config: redisConfig(REDIS_URL), report });
      try {
        const first = await routed(0);
        await sink.deliver(first);
        const error = (await sink.deliver(await routed(1)).catch((e: Error) => e)) as RedisStreamError;
        expect(error).toBeInstanceOf(RedisStreamError);
        expect(error.blockPartition).toBe(true);
        expect(error.message).toMatch(/refused the write: its newest entry \d+-0 is not of r\.shared\[1\] but of r\.shared\[0\]/);
        expect(await redis.xlen(shared)).toBe(first.length);
        expect(events.map((e) => [e.partition, e.kind])).toEqual([[1, 'redis_stream_refused']]);
      } finally {
        await sink.close();
      }
    },
  );

  itRedis('MAXLEN ~ trims each stream; maxBatchBytes splits a batch into round trips, in order; metrics count them', async () => {
    await bed.platform.createTopic('r.trim', 1);
    await bed.platform.produce('r.trim', 1, 3_000, 10);
    const seen = { published: 0, failed: 0, trips: 0 };
    const metrics = {
      published: (n: number) => void (seen.published += n),
      failed: (n: number) => void (seen.failed += n),
      latency: (seconds: number) => void (seconds >= 0 && seen.trips++),
    };
    const config = redisConfig(REDIS_URL, { maxLen: 200, batchSize: 500, maxBatchBytes: 8_192 });
    const sink = new RedisSink({ group: 'r-trim', config, report, metrics });
    try {
      let bodyBytes = 0;
      for (let from = 0n; from < 3_000n; from += 500n) {
        const batch = (await fetch('r.trim', 0, from, 500)).slice(0, 500); // fetch returns whole stored batches
        bodyBytes += batch.reduce((n, m) => n + Buffer.byteLength(m.envelope), 0);
        await sink.deliver(batch);
      }
      const len = await redis.xlen(stream('r.trim', 0));
      expect(len).toBeGreaterThanOrEqual(200);
      expect(len).toBeLessThan(1_000);
      const [[newest]] = (await redis.xrevrange(stream('r.trim', 0), '+', '-', 'COUNT', 1)) as [string, string[]][];
      expect(newest).toBe('3000-0');
      expect(seen.published).toBe(3_000);
      expect(seen.failed).toBe(0);
      expect(seen.trips).toBeGreaterThanOrEqual(Math.ceil(bodyBytes / 8_192));
    } finally {
      await sink.close();
    }
  });

  itRedis('AUTH: the password in the URL is used, never shown, and wrong credentials are a clear error', async () => {
    const password = `pw-${PREFIX.slice(-8)}#x`;
    const server = new RedisServer(await freePort(), password);
    await server.start();
    try {
      await bed.platform.createTopic('r.auth', 1);
      await bed.platform.produce('r.auth', 1, 20, 5);
      const batch = await fetch('r.auth', 0, 0n, 20);
      const wrongUrl = `redis://:wrong-secret@127.0.0.1:${server.port}`;
      const wrong = new RedisSink({ group: 'r-auth', config: redisConfig(wrongUrl, { timeoutMs: 3_000 }), report });
      const error = (await wrong.deliver(batch).catch((e: Error) => e)) as RedisUnavailableError;
      await wrong.close();
      expect(error).toBeInstanceOf(RedisUnavailableError);
      expect(error.blockPartition).toBe(true);
      expect(error.message).toMatch(/WRONGPASS|invalid password|NOAUTH/);
      expect(error.message).not.toContain('wrong-secret');
      expect(error.message).toContain(`redis://:***@127.0.0.1:${server.port}`);

      const right = new RedisSink({ group: 'r-auth', config: redisConfig(server.url), report });
      await right.deliver(batch);
      await right.close();
      const direct = new Redis(server.url);
      expect(await direct.xlen(stream('r.auth', 0))).toBe(20);
      await direct.quit();

      // Write-only: masked in what the API shows; sent back masked, kept only for the same host and port.
      const group = groupSchema.parse({ name: 'r-auth', topics: ['r.auth'], sink: { type: 'redis', url: server.url } });
      const shown = redactGroupSpec(group) as { sink: { url: string } };
      expect(JSON.stringify(shown)).not.toContain(encodeURIComponent(password));
      expect(shown.sink.url).toBe(`redis://:***@127.0.0.1:${server.port}`);
      const restored = restoreWriteOnlySecrets(shown, { group }, () => undefined) as { sink: { url: string } };
      expect(groupSchema.parse(restored).sink).toEqual(group.sink);
      const elsewhere = { ...shown, sink: { ...shown.sink, url: `redis://:***@127.0.0.2:${server.port}` } };
      expect(() => restoreWriteOnlySecrets(elsewhere, { group }, () => undefined)).toThrow(WriteOnlySecretError);
    } finally {
      await server.stop();
    }
  });

  itRedis('TLS: rediss:// with the CA given in tls.ca; an untrusted certificate is a clear error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-redis-tls-'));
    const cert = selfSignedCertificate(dir);
    const server = new RedisServer(await freePort(), 'tls-pass', cert);
    await server.start();
    try {
      await bed.platform.createTopic('r.tls', 1);
      await bed.platform.produce('r.tls', 1, 10, 5);
      const batch = await fetch('r.tls', 0, 0n, 10);
      const untrusted = new RedisSink({ group: 'r-tls', config: redisConfig(server.url, { timeoutMs: 3_000 }), report });
      const error = (await untrusted.deliver(batch).catch((e: Error) => e)) as RedisUnavailableError;
      await untrusted.close();
      expect(error).toBeInstanceOf(RedisUnavailableError);
      expect(error.message).toMatch(/self.signed certificate/i);
      expect(error.message).not.toContain('tls-pass');

      const trusted = new RedisSink({ group: 'r-tls', config: redisConfig(server.url, { tls: { ca: cert.ca } }), report });
      await trusted.deliver(batch);
      await trusted.close();
      const direct = new Redis(server.url, { tls: { ca: cert.ca } });
      expect(await direct.xlen(stream('r.tls', 0))).toBe(10);
      await direct.quit();
      const plain = groupSchema.safeParse({
        name: 'g',
        topics: ['t'],
        sink: { type: 'redis', url: REDIS_URL, tls: { ca: cert.ca } },
      });
      expect(plain.success ? [] : plain.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`)).toEqual([
        'sink.tls: needs a rediss:// URL',
      ]);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  itRedis('Redis down at start, then up: nothing lost, the partition says why meanwhile', async () => {
    const server = new RedisServer(await freePort());
    await bed.platform.createTopic('r.down', 2);
    await bed.platform.produce('r.down', 2, 400, 40);
    const config = redisConfig(server.url, { timeoutMs: 2_000 });
    const group = sinkGroup('r-down', ['r.down'], { sink: config, onFailure: 'dead_letter' });
    await groups.start(
      group,
      new RedisSink({ group: group.name, config, report: (e) => bed.repo.recordEvent(group.name, e, e.kind, e.detail) }),
    );
    const lag = await waitFor(
      async () => {
        const l = await bed.repo.lag('r-down');
        return l.length === 2 && l.every((p) => p.status === 'blocked') && l;
      },
      'both partitions to show the outage',
      60_000,
    );
    for (const p of lag)
      expect(p.statusDetail).toMatch(
        new RegExp(`redis at redis://127\\.0\\.0\\.1:${server.port} is unavailable: .*ECONNREFUSED`),
      );

    await bed.platform.produce('r.down', 2, 100, 40, 400);
    await server.start();
    try {
      const direct = new Redis(server.url);
      const total = async () => (await direct.xlen(stream('r.down', 0))) + (await direct.xlen(stream('r.down', 1)));
      await waitFor(async () => (await total()) === 500, 'all 500 messages once Redis is up', 120_000);
      await waitFor(
        async () => (await bed.repo.lag('r-down')).every((p) => p.status === 'ok' && p.lag === '0'),
        'status ok, lag 0',
      );
      for (const p of [0, 1]) {
        const ids = (await entries(direct, stream('r.down', p))).map(([id]) => id);
        expect(ids).toEqual(contiguousIds(ids.length));
      }
      const kinds = (await bed.repo.events('r-down')).map((e) => e.kind);
      expect(kinds.filter((k) => k === 'sink_unavailable')).toHaveLength(2);
      expect(kinds.filter((k) => k === 'sink_recovered')).toHaveLength(2);
      const deadLetters = await bed.platform.pool.query(`SELECT 1 FROM tributary.dead_letters WHERE group_name = 'r-down'`);
      expect(deadLetters.rowCount).toBe(0);
      await direct.quit();
    } finally {
      await groups.stop();
      await server.stop();
    }
  });

  it('refuses stream keys that would mix partitions or topics, naming the key', () => {
    const issues = (streamKey: string) => {
      const r = groupSchema.safeParse({ name: 'g', topics: ['t'], sink: { type: 'redis', url: REDIS_URL, streamKey } });
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues('x:{topic}')).toEqual(['sink.streamKey: must contain {partition}: each partition needs its own stream']);
    expect(issues('x:{partition}')).toEqual(['sink.streamKey: must contain {topic} or {table}: each topic needs its own stream']);
    expect(issues('x:{topic}:{partition}:{nope}')[0]).toMatch(/^sink\.streamKey: unknown placeholder \{nope\}/);
    expect(issues('x:{schema}.{table}:{partition}')).toEqual([]);
    const url = groupSchema.safeParse({ name: 'g', topics: ['t'], sink: { type: 'redis', url: 'http://h' } });
    expect(url.success ? [] : url.error.issues.map((i) => i.path.join('.'))).toEqual(['sink.url']);
  });
});
