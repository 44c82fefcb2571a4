import fc from 'fast-check';
import type { ConsumedMessage } from '@tributary/sink-contract';
import { sleep } from '@tributary/timing';
import { deliverInKeyLanes } from '@tributary/worker';

function message(offset: number, key: string | null): ConsumedMessage {
  return { topic: 't', partition: 0, offset: BigInt(offset), key, envelope: '{}', appendedAt: new Date(0) };
}

/** A turn of the event loop or a few: attempts finish in another order than they started. */
const pause = (turns: number) => sleep(turns);

describe('key lanes', () => {
  const keys = fc.constantFrom('{"id":1}', '{"id":2}', '{"id":3}', '{"id":4}', null);
  const run = fc.record({
    keys: fc.array(keys, { minLength: 1, maxLength: 40 }),
    lanes: fc.integer({ min: 1, max: 8 }),
    delays: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 40, maxLength: 40 }),
    failAt: fc.option(fc.nat({ max: 39 }), { nil: undefined }),
  });

  it('keeps each key in offset order, at most `lanes` in flight, and returns what is not done in offset order', async () => {
    await fc.assert(
      fc.asyncProperty(run, async ({ keys: ks, lanes, delays, failAt }) => {
        const messages = ks.map((k, i) => message(i, k));
        const started: ConsumedMessage[] = [];
        const finished = new Set<ConsumedMessage>();
        let inFlight = 0;
        let most = 0;
        const rest = await deliverInKeyLanes(messages, lanes, async (m) => {
          // The key's earlier messages are all finished (and were done) before this one starts.
          for (const e of messages) if (e.key === m.key && e.offset < m.offset) expect(finished.has(e)).toBe(true);
          started.push(m);
          most = Math.max(most, ++inFlight);
          await pause(delays[Number(m.offset)]);
          inFlight--;
          if (Number(m.offset) === failAt) return false;
          finished.add(m);
          return true;
        });
        expect(most).toBeLessThanOrEqual(lanes);
        expect(rest).toEqual(messages.filter((m) => !finished.has(m)));
        if (failAt === undefined || failAt >= messages.length) expect(rest).toEqual([]);
        // Of each key, the messages done come first.
        for (const k of new Set(ks)) {
          const ofKey = messages.filter((m) => m.key === k);
          const firstLeft = ofKey.findIndex((m) => !finished.has(m));
          if (firstLeft >= 0) expect(ofKey.slice(firstLeft).some((m) => finished.has(m))).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('runs messages of different keys at once, opening a lane per success', async () => {
    let inFlight = 0;
    const widths: number[] = [];
    const messages = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => message(i, `{"id":${i}}`));
    await deliverInKeyLanes(messages, 4, async () => {
      widths.push(++inFlight);
      await pause(2);
      inFlight--;
      return true;
    });
    expect(widths[0]).toBe(1);
    expect(Math.max(...widths)).toBe(4);
  });

  it('sends one at a time to an endpoint that fails from the start', async () => {
    const started: number[] = [];
    const messages = [0, 1, 2].map((i) => message(i, `{"id":${i}}`));
    const rest = await deliverInKeyLanes(messages, 8, (m) => {
      started.push(Number(m.offset));
      return Promise.resolve(false);
    });
    expect(started).toEqual([0]);
    expect(rest).toEqual(messages);
  });

  it('rethrows an attempt error once the calls in flight are over, starting nothing more', async () => {
    const started: number[] = [];
    let settled = 0;
    const messages = [0, 1, 2, 3, 4, 5].map((i) => message(i, `{"id":${i}}`));
    await expect(
      deliverInKeyLanes(messages, 2, async (m) => {
        started.push(Number(m.offset));
        await pause(m.offset === 2n ? 5 : 1);
        settled++;
        if (m.offset === 1n) throw new Error('boom');
        return true;
      }),
    ).rejects.toThrow('boom');
    expect(started).toEqual([0, 1, 2]);
    expect(settled).toBe(3);
  });
});
