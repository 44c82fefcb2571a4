import type { GroupRepository } from '@tributary/consumer-groups';
import { GroupMember } from '@tributary/consumer-groups';
import type { GroupConfig } from '@tributary/config';
import type { ConsumedMessage, Sink } from '@tributary/sink-contract';
import { GroupRunner } from '@tributary/worker';
import { GroupPlatform } from './support/group-platform';
import { waitFor } from './support/pg-cluster';
import { SinkBed } from './support/sink-bed';
import { sinkGroup } from './support/sink-groups';

const FINE = ['fine_a', 'fine_b'];
const TABLES = [...FINE, 'rejected'].map((t) => `public.${t}`);

/** Lag and status of one group's partitions, by topic. */
async function partitions(repo: GroupRepository, group: string): Promise<Map<string, { lag: string; status: string }>> {
  return new Map((await repo.lag(group)).map((l) => [l.topic, { lag: l.lag, status: l.status }]));
}

describe('one partition in trouble holds up no other partition of its member', () => {
  let bed: SinkBed;

  beforeAll(async () => {
    bed = await SinkBed.start({
      tables: TABLES,
      prepare: async (cluster) => {
        for (const t of TABLES) await cluster.query('src', `CREATE TABLE ${t} (id int PRIMARY KEY, v text NOT NULL)`);
        // The target of one table refuses every row the source has.
        await cluster.query('target', `CREATE TABLE rejected (id int PRIMARY KEY, v text CHECK (v = 'never'))`);
      },
    });
  });

  afterAll(async () => {
    await bed?.stop();
  });

  it('a database sink: the table whose target rejects every row blocks, the other tables keep lag 0', async () => {
    const sink = bed.postgresSink('iso-pg');
    await bed.groups.start(
      sinkGroup('iso-pg', ['src.public.*'], { retry: { maxAttempts: 2, initialBackoffMs: 10, maxBackoffMs: 100 } }),
      sink,
    );
    let next = 1;
    const write = async (tables: string[]) => {
      for (let i = 0; i < 20; i++, next++) {
        for (const t of tables) await bed.source.query(`INSERT INTO ${t} VALUES ($1, $2)`, [next, `row ${next}`]);
      }
    };
    await write(TABLES);
    await waitFor(
      async () => (await partitions(bed.repo, 'iso-pg')).get('src.public.rejected')?.status === 'blocked',
      'the rejected table to block',
    );
    for (let round = 0; round < 3; round++) {
      await write(FINE.map((t) => `public.${t}`));
      const expected = next - 1;
      await waitFor(async () => {
        const lag = await partitions(bed.repo, 'iso-pg');
        const fine = FINE.map((t) => lag.get(`src.public.${t}`));
        if (!fine.every((l) => l?.lag === '0' && l.status === 'ok')) return false;
        const counts = await Promise.all(
          FINE.map(async (t) => (await bed.cluster.query<{ n: number }>('target', `SELECT count(*)::int AS n FROM ${t}`))[0].n),
        );
        return counts.every((n) => n === expected);
      }, `round ${round}: the fine tables delivered and committed while the rejected one is blocked`);
    }
    const rejected = (await partitions(bed.repo, 'iso-pg')).get('src.public.rejected');
    expect(rejected).toEqual({ lag: '20', status: 'blocked' });
  });
});

/** Fails every delivery of one topic while `failing`; counts calls in flight. */
class TroubledSink implements Sink {
  readonly kind = 'troubled';
  readonly seen: ConsumedMessage[] = [];
  failing = true;
  failures = 0;
  inFlight = 0;
  maxInFlight = 0;
  gate?: Promise<void>;

  constructor(
    private readonly troubled: string | undefined,
    readonly concurrency?: number,
  ) {}

  async deliver(batch: ConsumedMessage[]): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.gate;
      if (this.failing && batch[0].topic === this.troubled) {
        this.failures++;
        throw new Error('this topic is in trouble');
      }
      this.seen.push(...batch);
    } finally {
      this.inFlight--;
    }
  }
}

describe('partition loops of one member (in-process sink)', () => {
  const bed = GroupPlatform.inTests();

  async function run(name: string, topics: string[], sink: Sink, extra: Partial<GroupConfig>): Promise<void> {
    for (const t of topics) {
      await bed.platform.createTopic(t, 1);
      await bed.platform.produce(t, 1, 30);
    }
    const config = sinkGroup(name, topics, { sessionTimeoutMs: 1_500, batchSize: 10, ...extra });
    await bed.repo.upsertGroup(config);
    const runner = new GroupRunner(new GroupMember(bed.repo, config, 'test'), config, bed.repo, sink, bed.notifier);
    bed.runners.push(runner);
    runner.start();
  }

  const delivered = (sink: TroubledSink, topic: string) =>
    new Set(sink.seen.filter((m) => m.topic === topic).map((m) => m.offset)).size;

  it.each([
    ['blocks (onFailure block)', { onFailure: 'block' as const }],
    ['keeps retrying (a long retry budget)', { retry: { maxAttempts: 1_000, initialBackoffMs: 20, maxBackoffMs: 100 } }],
  ])('the others go on while one partition %s', async (label, extra) => {
    const name = label.startsWith('blocks') ? 'iso-block' : 'iso-retry';
    const topics = [`${name}-a`, `${name}-bad`, `${name}-c`];
    const sink = new TroubledSink(`${name}-bad`);
    await run(name, topics, sink, extra);
    await waitFor(() => sink.failures >= 3, 'the troubled partition to fail a few times');
    for (let round = 1; round <= 2; round++) {
      for (const t of [topics[0], topics[2]]) await bed.platform.produce(t, 1, 30, 30, 30 * round);
      await waitFor(async () => {
        const lag = await partitions(bed.repo, name);
        return [topics[0], topics[2]].every((t) => lag.get(t)?.lag === '0' && delivered(sink, t) === 30 * (round + 1));
      }, `round ${round}: the other partitions delivered and committed`);
    }
    expect((await partitions(bed.repo, name)).get(`${name}-bad`)?.lag).toBe('30');
    sink.failing = false;
    await waitFor(async () => (await partitions(bed.repo, name)).get(`${name}-bad`)?.lag === '0', 'the troubled one to catch up');
  });

  it.each([
    [undefined, 1],
    [2, 2],
  ])('runs at most sink.concurrency (%s) deliver calls at once, over different partitions', async (concurrency, most) => {
    const name = `iso-conc-${concurrency ?? 'default'}`;
    const topics = [0, 1, 2].map((i) => `${name}-${i}`);
    const sink = new TroubledSink(undefined, concurrency);
    let open!: () => void;
    sink.gate = new Promise((resolve) => (open = resolve));
    await run(name, topics, sink, {});
    await waitFor(() => sink.inFlight === most, `${most} deliver call(s) in flight`);
    open();
    await waitFor(() => topics.every((t) => delivered(sink, t) === 30), 'every message delivered');
    expect(sink.maxInFlight).toBe(most);
  });
});
