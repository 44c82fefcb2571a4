import fc from 'fast-check';
import type { GroupDefinition } from '@tributary/consumer-groups';
import { GroupMember, GroupRepository, OffsetTracker } from '@tributary/consumer-groups';
import { TestCluster } from './support/pg-cluster';
import { TestPlatform } from './support/platform';

type Command =
  | { kind: 'fetch'; count: number }
  | { kind: 'ack'; pick: number }
  | { kind: 'nack'; pick: number }
  | { kind: 'commit' }
  | { kind: 'crash' };

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant('fetch' as const), count: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('ack' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('nack' as const), pick: fc.nat() }),
  fc.constant({ kind: 'commit' as const }),
  fc.constant({ kind: 'crash' as const }),
);

const MESSAGES = 40;

describe('offset tracking under random acks, nacks and crashes (property)', () => {
  it('never commits past an unacknowledged offset (pure tracker, many runs)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 30 })), { maxLength: 200 }), (steps) => {
        const tracker = new OffsetTracker(0n);
        const acked = new Set<number>();
        for (const [isAck, offset] of steps) {
          if (isAck) {
            tracker.ack(BigInt(offset));
            acked.add(offset);
          }
          const point = Number(tracker.advance());
          for (let o = 0; o < point; o++) expect(acked.has(o)).toBe(true);
          expect(acked.has(point)).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });

  describe('against the real group member and database', () => {
    let cluster: TestCluster;
    let platform: TestPlatform;
    let repo: GroupRepository;
    let run = 0;

    beforeAll(async () => {
      cluster = await TestCluster.start(18);
      platform = await TestPlatform.create(cluster, 'platform');
      repo = new GroupRepository(platform.pool);
      await platform.createTopic('prop', 1);
      await platform.produce('prop', 1, MESSAGES);
    });

    afterAll(async () => {
      await platform?.close();
      await cluster?.stop();
    });

    it('never loses a message and never commits past an unacked one', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 60 }), async (commands) => {
          const def: GroupDefinition = {
            name: `prop-${run++}`,
            topics: ['prop'],
            startFrom: 'earliest',
            resetPolicy: 'earliest',
            sessionTimeoutMs: 60_000,
          };
          await repo.upsertGroup(def);
          const processed = new Set<number>(); // acked by "the sink" at some point in history
          let member = new GroupMember(repo, def, 'prop', 'only');
          await member.heartbeat(true);
          let p = member.active()[0];
          let inflight: number[] = [];

          const committed = async () => Number((await repo.lag(def.name))[0].committed);
          const check = async () => {
            const c = await committed();
            for (let o = 0; o < c; o++) if (!processed.has(o)) throw new Error(`committed ${c} passes unprocessed offset ${o}`);
          };

          for (const cmd of commands) {
            if (cmd.kind === 'fetch') {
              inflight.push(...(await member.fetch(p, cmd.count)).map((m) => Number(m.offset)));
            } else if (cmd.kind === 'ack' && inflight.length) {
              const [o] = inflight.splice(cmd.pick % inflight.length, 1);
              member.ack(p, BigInt(o));
              processed.add(o);
            } else if (cmd.kind === 'nack' && inflight.length) {
              // Not processed: the member must deliver it again before moving its commit past it.
              const [o] = inflight.splice(cmd.pick % inflight.length, 1);
              p.position = BigInt(Math.min(Number(p.position), o));
            } else if (cmd.kind === 'commit') {
              await member.commit(p);
            } else if (cmd.kind === 'crash') {
              member = new GroupMember(repo, def, 'prop', 'only'); // restarts with nothing in memory
              await member.heartbeat(true);
              p = member.active()[0];
              inflight = [];
            }
            await check();
          }
          // Drain: what is still in flight times out and is delivered again, then everything is consumed.
          if (inflight.length) p.position = BigInt(Math.min(Number(p.position), ...inflight));
          for (;;) {
            const batch = await member.fetch(p, 10);
            if (!batch.length) break;
            for (const m of batch) {
              member.ack(p, m.offset);
              processed.add(Number(m.offset));
            }
            await member.commit(p);
            await check();
          }
          expect(await committed()).toBe(MESSAGES);
          expect(processed.size).toBe(MESSAGES);
        }),
        { numRuns: 40 },
      );
    });
  });
});
