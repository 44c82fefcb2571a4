import type { GroupDefinition } from '@tributary/consumer-groups';
import { GroupDeletedError, GroupMember, GroupRepository, StaleMemberError } from '@tributary/consumer-groups';
import type { GroupConfig } from '@tributary/config';
import { RetentionJanitor } from '@tributary/topic-log';
import type { ConsumedMessage, Sink } from '@tributary/sink-contract';
import { GroupRunner } from '@tributary/worker';
import { GroupPlatform } from './support/group-platform';
import { waitFor } from './support/pg-cluster';

function definition(name: string, topics: string[], extra: Partial<GroupDefinition> = {}): GroupDefinition {
  return { name, topics, startFrom: 'earliest', resetPolicy: 'earliest', sessionTimeoutMs: 1_500, ...extra };
}

function groupConfig(name: string, topics: string[], extra: Partial<GroupConfig> = {}): GroupConfig {
  return {
    name,
    topics,
    startFrom: 'earliest',
    resetPolicy: 'earliest',
    sessionTimeoutMs: 1_500,
    batchSize: 200,
    members: 1,
    sink: { type: 'log' },
    retry: { maxAttempts: 3, initialBackoffMs: 5, maxBackoffMs: 20 },
    onFailure: 'dead_letter',
    ...extra,
  };
}

/** Remembers every delivery (redeliveries included), in order. */
class RecordingSink implements Sink {
  readonly kind = 'recording';
  readonly seen: ConsumedMessage[] = [];
  failWhen?: (m: ConsumedMessage) => boolean;
  deliver(batch: ConsumedMessage[]): Promise<void> {
    if (this.failWhen && batch.some(this.failWhen)) return Promise.reject(new Error('sink says no'));
    this.seen.push(...batch);
    return Promise.resolve();
  }
}

describe('consumer groups', () => {
  const bed = GroupPlatform.inTests();

  async function member(def: GroupDefinition, id?: string): Promise<GroupMember> {
    await bed.repo.upsertGroup(def);
    const m = new GroupMember(bed.repo, def, 'test', id);
    await m.heartbeat(true);
    return m;
  }

  function run(m: GroupMember, config: GroupConfig, sink: Sink): GroupRunner {
    const runner = new GroupRunner(m, config, bed.repo, sink, bed.notifier);
    bed.runners.push(runner);
    runner.start();
    return runner;
  }

  it('commits only the contiguous acknowledged prefix: acks 10000, 10001, 10003 -> 10002, 10003, 10004 again', async () => {
    await bed.platform.createTopic('contig', 1);
    await bed.platform.produce('contig', 1, 10_005);
    const def = definition('contig-g', ['contig']);
    await bed.repo.upsertGroup(def);
    const first = await member(def, 'a');
    const [p] = first.active();
    p.tracker.reset(10_000n);
    p.position = 10_000n;
    await first.commit(p, { status: 'ok', detail: null });
    const batch = await first.fetch(p, 5);
    expect(batch.map((m) => m.offset)).toEqual([10_000n, 10_001n, 10_002n, 10_003n, 10_004n]);
    for (const o of [10_000n, 10_001n, 10_003n]) first.ack(p, o);
    await first.commit(p);
    expect((await bed.repo.lag('contig-g'))[0].committed).toBe('10002');

    // The member dies without a word; a new one gets the partition after the session timeout.
    const second = new GroupMember(bed.repo, def, 'test', 'b');
    const took = await waitFor(async () => {
      await second.heartbeat(true);
      return second.active()[0];
    }, 'the partition to move to member b');
    const again = await second.fetch(took, 10);
    expect(again.map((m) => m.offset)).toEqual([10_002n, 10_003n, 10_004n]);
  });

  it('fetches again, in order, what an error left unacknowledged in a fetched batch', async () => {
    await bed.platform.createTopic('rewind', 1);
    await bed.platform.produce('rewind', 1, 6, 6);
    // Message 2 always fails, so it is dead-lettered; the first attempt to park it fails (a lost
    // connection, say) and the error leaves the runner with messages 2..5 of its batch unhandled.
    class FlakyDeadLetters extends GroupRepository {
      failures = 1;
      override async deadLetter(...args: Parameters<GroupRepository['deadLetter']>): Promise<void> {
        if (this.failures-- > 0) throw new Error('connection lost');
        return super.deadLetter(...args);
      }
    }
    const flaky = new FlakyDeadLetters(bed.platform.pool);
    const def = definition('rewind-g', ['rewind']);
    await flaky.upsertGroup(def);
    const sink = new RecordingSink();
    sink.failWhen = (m) => m.offset === 2n;
    const runner = new GroupRunner(
      new GroupMember(flaky, def, 'test'),
      groupConfig('rewind-g', ['rewind']),
      flaky,
      sink,
      bed.notifier,
    );
    bed.runners.push(runner);
    runner.start();
    await waitFor(async () => {
      const lag = await bed.repo.lag('rewind-g');
      return lag.length === 1 && lag[0].committed === '6';
    }, 'the end committed');
    expect(flaky.failures).toBeLessThan(0); // the fault did happen, and the retry parked the message
    expect(sink.seen.map((m) => Number(m.offset))).toEqual([0, 1, 3, 4, 5]);
    const { rows } = await bed.platform.pool.query(`SELECT "offset" FROM tributary.dead_letters WHERE group_name = 'rewind-g'`);
    expect(rows.map((r) => Number(r.offset))).toEqual([2]);
  });

  it('fans every message out to every group', async () => {
    await bed.platform.createTopic('fan', 3);
    await bed.platform.produce('fan', 3, 900, 50);
    const sinks = [new RecordingSink(), new RecordingSink(), new RecordingSink()];
    for (const [i, sink] of sinks.entries()) {
      const def = definition(`fan-${i}`, ['fan']);
      run(await member(def), groupConfig(def.name, ['fan']), sink);
    }
    await waitFor(
      () => sinks.every((s) => new Set(s.seen.map((m) => m.envelope)).size === 900),
      'all groups to see 900 messages',
    );
    for (const s of sinks) expect(new Set(s.seen.map((m) => `${m.partition}:${m.offset}`)).size).toBe(900);
    const lags = await waitFor(async () => {
      const now = await Promise.all([0, 1, 2].map((i) => bed.repo.lag(`fan-${i}`)));
      return now.every((lag) => lag.length === 3 && lag.every((l) => l.lag === '0')) && now;
    }, 'every group to commit its end');
    for (const lag of lags) expect(lag.map((l) => l.lag)).toEqual(['0', '0', '0']);
  });

  it('spreads partitions evenly and rebalances as members come and go, keeping per-key order', async () => {
    await bed.platform.createTopic('orders', 6);
    const def = definition('order-g', ['orders']);
    const config = groupConfig('order-g', ['orders'], { batchSize: 50 });
    const sink = new RecordingSink();
    const members = [await member(def, 'm1'), await member(def, 'm2'), await member(def, 'm3')];
    const running = members.map((m) => run(m, config, sink));
    await waitFor(async () => {
      for (const m of members) await m.heartbeat(true);
      const counts = members.map((m) => m.all().length);
      return counts.every((c) => c === 2) && counts;
    }, 'two partitions each');

    await bed.platform.produce('orders', 6, 3_000, 60);
    await waitFor(() => sink.seen.length >= 1_000, 'some progress');
    await running[1].stop(); // m2 leaves: its partitions move at once
    bed.runners.splice(bed.runners.indexOf(running[1]), 1);
    await bed.platform.produce('orders', 6, 3_000, 60, 3_000);
    const late = await member(def, 'm4');
    run(late, config, sink);
    await waitFor(() => new Set(sink.seen.map((m) => m.envelope)).size === 6_000, 'all 6000 messages');

    // The sink sees a batch just before its commit: wait for the commits too.
    const lag = await waitFor(async () => {
      const now = await bed.repo.lag('order-g');
      return now.length === 6 && now.every((l) => l.lag === '0') && now;
    }, 'every partition committed to its end');
    expect(lag.map((l) => l.lag)).toEqual(['0', '0', '0', '0', '0', '0']);
    // The newcomer's share is handed over after the others commit: wait for the rebalance to settle.
    const owners = await waitFor(async () => {
      const now = (await bed.repo.lag('order-g')).map((l) => l.owner);
      const counts = ['m1', 'm3', 'm4'].map((m) => now.filter((o) => o === m).length);
      return counts.every((c) => c === 2) && now;
    }, 'two partitions each for m1, m3 and m4');
    expect(new Set(owners).size).toBe(3);
    // Per key: the first delivery of each message is in production order.
    const firstSeen = new Map<string, number[]>();
    const seen = new Set<string>();
    for (const m of sink.seen) {
      if (seen.has(m.envelope)) continue;
      seen.add(m.envelope);
      const seq = JSON.parse(m.envelope).after.seq as number;
      firstSeen.set(m.key as string, [...(firstSeen.get(m.key as string) ?? []), seq]);
    }
    for (const seqs of firstSeen.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('rejects a commit from a member that lost its lease (fencing)', async () => {
    await bed.platform.createTopic('fence', 1);
    await bed.platform.produce('fence', 1, 10);
    const def = definition('fence-g', ['fence']);
    const stale = await member(def, 'stale');
    const [p] = stale.active();
    await stale.fetch(p, 10);
    // The stale member stops heartbeating; another takes over with a newer generation.
    const fresh = new GroupMember(bed.repo, def, 'test', 'fresh');
    await waitFor(async () => {
      await fresh.heartbeat(true);
      return fresh.active().length === 1;
    }, 'takeover');
    for (let o = 0n; o < 10n; o++) stale.ack(p, o);
    await expect(stale.commit(p)).rejects.toThrow(StaleMemberError);
    expect((await bed.repo.lag('fence-g'))[0]).toMatchObject({ committed: '0', owner: 'fresh' });
    const [q] = fresh.active();
    expect(q.generation).toBe(p.generation + 1n);
  });

  it('fences a member once its group is changed or deleted: no commit, no heartbeat, no state recreated', async () => {
    await bed.platform.createTopic('fenced', 1);
    await bed.platform.produce('fenced', 1, 10);
    await bed.repo.upsertGroup(definition('fenced-g', ['fenced']));
    const def = await bed.repo.getGroup('fenced-g');
    const old = new GroupMember(bed.repo, def!, 'test', 'old');
    await old.heartbeat(true);
    const [p] = old.active();
    for (const m of await old.fetch(p, 10)) old.ack(p, m.offset);
    await bed.platform.pool.query(`UPDATE tributary.consumer_groups SET version = version + 1 WHERE name = 'fenced-g'`);
    await expect(old.commit(p)).rejects.toThrow(StaleMemberError);
    await expect(old.heartbeat(true)).rejects.toThrow(new GroupDeletedError('fenced-g', 'changed'));
    expect((await bed.repo.lag('fenced-g'))[0]).toMatchObject({ committed: '0' });
    await bed.platform.pool.query(`DELETE FROM tributary.consumer_groups WHERE name = 'fenced-g'`);
    await bed.platform.pool.query(`DELETE FROM tributary.group_offsets WHERE group_name = 'fenced-g'`);
    await expect(old.heartbeat(true)).rejects.toThrow(new GroupDeletedError('fenced-g', 'deleted'));
    const { rowCount } = await bed.platform.pool.query(`SELECT 1 FROM tributary.group_offsets WHERE group_name = 'fenced-g'`);
    expect(rowCount).toBe(0);
  });

  it('dead-letters a message that keeps failing and moves on', async () => {
    await bed.platform.createTopic('poison', 1);
    await bed.platform.produce('poison', 1, 20);
    const sink = new RecordingSink();
    sink.failWhen = (m) => m.offset === 7n;
    const def = definition('poison-g', ['poison']);
    const runner = run(await member(def), groupConfig('poison-g', ['poison'], { batchSize: 20 }), sink);
    await waitFor(async () => (await bed.repo.lag('poison-g'))[0].lag === '0', 'the group to move past the poison message');
    expect(sink.seen.map((m) => Number(m.offset)).sort((a, b) => a - b)).toEqual([...Array(20).keys()].filter((o) => o !== 7));
    const { rows } = await bed.platform.pool.query(
      `SELECT "offset", attempts, error FROM tributary.dead_letters WHERE group_name = 'poison-g'`,
    );
    expect(rows).toEqual([{ offset: '7', attempts: 3, error: 'sink says no' }]);
    expect(runner.stats.deadLettered).toBe(1);
  });

  it('blocks the partition on a failing message when configured to, and resumes when it succeeds', async () => {
    await bed.platform.createTopic('blocky', 1);
    await bed.platform.produce('blocky', 1, 10);
    const sink = new RecordingSink();
    let failing = true;
    sink.failWhen = (m) => failing && m.offset === 3n;
    const def = definition('block-g', ['blocky']);
    run(await member(def), groupConfig('block-g', ['blocky'], { onFailure: 'block', batchSize: 10 }), sink);
    const blocked = await waitFor(async () => {
      const [l] = await bed.repo.lag('block-g');
      return l.status === 'blocked' && l;
    }, 'blocked status');
    expect(blocked).toMatchObject({ committed: '3', statusDetail: expect.stringContaining('blocked at offset 3: sink says no') });
    expect(sink.seen.every((m) => m.offset < 3n)).toBe(true);
    failing = false;
    await waitFor(async () => {
      const [l] = await bed.repo.lag('block-g');
      return l.lag === '0' && l.status === 'ok';
    }, 'unblocked');
  });

  it('clears a block left by an earlier owner once the new owner gets past it', async () => {
    await bed.platform.createTopic('handed', 1);
    await bed.platform.produce('handed', 1, 10);
    const failing = new RecordingSink();
    failing.failWhen = (m) => m.offset === 4n;
    const config = groupConfig('handed-g', ['handed'], { onFailure: 'block', batchSize: 10 });
    const first = run(await member(definition('handed-g', ['handed']), 'first'), config, failing);
    await waitFor(async () => (await bed.repo.lag('handed-g'))[0].status === 'blocked', 'blocked status');
    await first.stop();
    run(await member(definition('handed-g', ['handed']), 'second'), config, new RecordingSink());
    await waitFor(async () => {
      const [l] = await bed.repo.lag('handed-g');
      return l.owner === 'second' && l.lag === '0' && l.status === 'ok' && l.statusDetail === null;
    }, 'the new owner to deliver the rest and clear the block');
  });

  it('goes on with the other topics when one topic cannot be trimmed', async () => {
    // A value stored before retention was bounded: now() - interval overflows, and the janitor threw at the
    // first such topic and skipped every later one.
    await bed.platform.createTopic('a-overflowing', 1, 60_000);
    await bed.platform.produce('a-overflowing', 1, 1, 1, 0, 1);
    await bed.platform.pool.query(`UPDATE tributary.topics SET retention_ms = 9007199254740991 WHERE name = 'a-overflowing'`);
    await bed.platform.createTopic('b-expiring', 1, 60_000);
    await bed.platform.produce('b-expiring', 1, 10, 10, 0, 1);
    await bed.platform.pool.query(
      `UPDATE tributary.message_batches SET appended_at = now() - interval '2 minutes' WHERE topic = 'b-expiring'`,
    );
    const results = await new RetentionJanitor(bed.platform.pool).runOnce();
    expect(results.filter((r) => r.topic === 'b-expiring')).toEqual([{ topic: 'b-expiring', partition: 0, deleted: 10 }]);
    await bed.platform.pool.query(`UPDATE tributary.topics SET retention_ms = NULL WHERE name = 'a-overflowing'`);
  });

  it('removes expired messages without changing the offsets of the rest', async () => {
    await bed.platform.createTopic('expiring', 2, 60_000);
    // Retention removes whole record batches: one message per append here, to check it message by message.
    await bed.platform.produce('expiring', 2, 200, 20, 0, 1);
    await bed.platform.pool.query(
      `UPDATE tributary.message_batches SET appended_at = now() - interval '2 minutes' WHERE topic = 'expiring' AND last_offset < 30`,
    );
    await bed.platform.createTopic('capped', 1, null, 2_000);
    await bed.platform.produce('capped', 1, 100, 100, 0, 1);
    const janitor = new RetentionJanitor(bed.platform.pool);
    await janitor.runOnce();
    const { rows } = await bed.platform.pool.query(
      `SELECT partition, min(base_offset)::int AS first, max(last_offset)::int AS last,
              sum(last_offset - base_offset + 1)::int AS n
         FROM tributary.message_batches WHERE topic = 'expiring' GROUP BY partition ORDER BY partition`,
    );
    for (const r of rows) {
      expect(r.first).toBe(30);
      expect(r.n).toBe(r.last - 29);
    }
    const capped = await bed.platform.pool.query(
      `SELECT (SELECT bytes FROM tributary.topic_partitions WHERE topic = 'capped') AS bytes,
              (SELECT sum(bytes) FROM tributary.message_batches WHERE topic = 'capped') AS actual,
              (SELECT min(base_offset) FROM tributary.message_batches WHERE topic = 'capped') AS first,
              (SELECT max(last_offset) FROM tributary.message_batches WHERE topic = 'capped') AS last`,
    );
    expect(Number(capped.rows[0].bytes)).toBeLessThanOrEqual(2_000);
    expect(capped.rows[0].bytes).toBe(capped.rows[0].actual);
    expect(capped.rows[0].last).toBe('99');
    expect(Number(capped.rows[0].first)).toBeGreaterThan(0);
  });

  it('reads whole record batches ahead and serves small fetches from them, however large a batch is', async () => {
    await bed.platform.createTopic('big-batch', 1);
    await bed.platform.produce('big-batch', 1, 3, 3, 0, 3);
    // One append of 150,000 messages: one record batch, more messages than a function call takes arguments.
    await bed.platform.produce('big-batch', 1, 150_000, 150_000, 3, 150_000);
    const m = await member(definition('big-batch-g', ['big-batch']));
    const [p] = m.active();
    expect((await m.fetch(p, 2)).map((x) => Number(x.offset))).toEqual([0, 1]);
    // One message is left read ahead; the rest comes from the big batch, topped up in one read.
    const next = await m.fetch(p, 10);
    expect(next.map((x) => Number(x.offset))).toEqual([...Array(10).keys()].map((i) => i + 2));
    expect(p.readAhead).toHaveLength(150_003 - 12);
    expect(JSON.parse(next[9].envelope)).toMatchObject({ id: 'm11' });
  });

  it.each([
    ['earliest', '50', 'ok'],
    ['latest', '100', 'ok'],
    ['fail', '0', 'failed'],
  ] as const)('follows reset policy %s when its offset was removed by retention', async (policy, committed, status) => {
    const topic = `reset-${policy}`;
    await bed.platform.createTopic(topic, 1);
    await bed.platform.produce(topic, 1, 100, 100, 0, 10);
    const def = definition(`reset-${policy}-g`, [topic], { resetPolicy: policy });
    const m = await member(def);
    await bed.platform.pool.query(`DELETE FROM tributary.message_batches WHERE topic = $1 AND last_offset < 50`, [topic]);
    const [p] = m.active();
    const batch = await m.fetch(p, 10);
    const [lag] = await bed.repo.lag(def.name);
    expect(lag).toMatchObject({ committed, status });
    expect(batch.map((x) => Number(x.offset))).toEqual(policy === 'earliest' ? [...Array(10).keys()].map((i) => i + 50) : []);
    const { rows } = await bed.platform.pool.query(`SELECT kind, detail FROM tributary.group_events WHERE group_name = $1`, [
      def.name,
    ]);
    expect(rows).toEqual([
      { kind: policy === 'fail' ? 'offset_reset_failed' : 'offset_reset', detail: expect.stringContaining('offset 0 of') },
    ]);
    expect(m.offsetResets).toBe(1);
  });

  it('starts a new group from latest or from a timestamp', async () => {
    await bed.platform.createTopic('start', 1);
    await bed.platform.produce('start', 1, 10, 10, 0, 1);
    await bed.platform.pool.query(
      `UPDATE tributary.message_batches SET appended_at = now() - interval '1 hour' WHERE topic = 'start' AND last_offset < 6`,
    );
    const latest = await member(definition('start-latest', ['start'], { startFrom: 'latest' }));
    const since = await member(definition('start-ts', ['start'], { startFrom: new Date(Date.now() - 60_000).toISOString() }));
    expect(latest.active()[0].committed).toBe(10n);
    expect(since.active()[0].committed).toBe(6n);
  });
});
