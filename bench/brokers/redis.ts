import Redis from 'ioredis';
import type { BrokerTarget } from '../support/broker-bench';

const URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** What a plain client pipelines at once: enough to fill the socket, small enough to keep memory flat. */
const PIPELINE = 1_000;

const prefix = (runId: string) => `tributary-bench:${runId}`;

/** Every stream of the run: the sink's (one per partition) and the plain client's. */
async function streamsOf(redis: Redis, runId: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix(runId)}:*`, 'COUNT', 1_000);
    keys.push(...found);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** Redis Streams: the sink writes one stream per partition; the plain client pipelines XADDs to one stream. */
export const target: BrokerTarget = {
  name: 'Redis Streams',

  async setUp(runId) {
    await target.tearDown(runId);
  },

  sink: (runId) => ({ type: 'redis', url: URL, streamKey: `${prefix(runId)}:{topic}:{partition}` }),

  async plainPublish(runId, bodies) {
    const redis = new Redis(URL);
    try {
      for (let i = 0; i < bodies.length; i += PIPELINE) {
        const pipeline = redis.pipeline();
        for (const body of bodies.slice(i, i + PIPELINE)) pipeline.xadd(`${prefix(runId)}:plain`, '*', 'body', body);
        const results = await pipeline.exec();
        const failed = results?.find(([error]) => error);
        if (failed?.[0]) throw failed[0];
      }
    } finally {
      await redis.quit();
    }
  },

  async readCount(runId) {
    const redis = new Redis(URL);
    try {
      let count = 0;
      for (const key of await streamsOf(redis, runId)) count += await redis.xlen(key);
      return count;
    } finally {
      await redis.quit();
    }
  },

  async consume(runId, onBody) {
    const redis = new Redis(URL);
    await redis.ping(); // connected before the caller starts the clock
    let stopped = false;
    const positions = new Map<string, string>();
    const reading = (async () => {
      while (!stopped) {
        // Streams appear as partitions get their first message: look for new ones between reads.
        for (const key of await streamsOf(redis, runId)) if (!positions.has(key)) positions.set(key, '0-0');
        if (positions.size === 0) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          continue;
        }
        const keys = [...positions.keys()];
        const answer = await redis.xread(
          'COUNT',
          1_000,
          'BLOCK',
          50,
          'STREAMS',
          ...keys,
          ...keys.map((k) => positions.get(k) ?? '0-0'),
        );
        for (const [key, entries] of answer ?? []) {
          for (const [id, fields] of entries) {
            onBody(fields[fields.indexOf('body') + 1]);
            positions.set(key, id);
          }
        }
      }
    })();
    return async () => {
      stopped = true;
      await reading;
      await redis.quit();
    };
  },

  async tearDown(runId) {
    const redis = new Redis(URL);
    try {
      const keys = await streamsOf(redis, runId);
      if (keys.length) await redis.del(...keys);
    } finally {
      await redis.quit();
    }
  },
};
