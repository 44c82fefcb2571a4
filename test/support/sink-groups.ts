import type { GroupConfig } from '@tributary/config';
import { GroupMember, type GroupRepository, type MessageNotifier } from '@tributary/consumer-groups';
import type { Sink } from '@tributary/sink-contract';
import { GroupRunner } from '@tributary/worker';
import type { TestCluster } from './pg-cluster';
import { waitFor } from './pg-cluster';

/** A group config for in-process sink tests: fast retries, short sessions, one member. */
export function sinkGroup(name: string, topics: string[], extra: Partial<GroupConfig> = {}): GroupConfig {
  return {
    name,
    topics,
    startFrom: 'earliest',
    resetPolicy: 'earliest',
    sessionTimeoutMs: 2_000,
    batchSize: 100,
    members: 1,
    sink: { type: 'log' },
    retry: { maxAttempts: 2, initialBackoffMs: 20, maxBackoffMs: 300 },
    onFailure: 'dead_letter', // database sinks block regardless: a row is never skipped
    ...extra,
  };
}

/** Group runners started in the test process, each with its own sink; stop() ends runners, then sinks. */
export class SinkGroups {
  private readonly runners: GroupRunner[] = [];
  private readonly sinks: Sink[] = [];

  constructor(
    private readonly repo: GroupRepository,
    private readonly notifier: MessageNotifier,
  ) {}

  async start(config: GroupConfig, sink: Sink): Promise<GroupRunner> {
    await this.repo.upsertGroup(config);
    const runner = new GroupRunner(new GroupMember(this.repo, config, 'test'), config, this.repo, sink, this.notifier);
    this.runners.push(runner);
    this.sinks.push(sink);
    runner.start();
    return runner;
  }

  async stop(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop()));
    await Promise.all(this.sinks.map((s) => s.close?.() ?? Promise.resolve()));
  }
}

/** Waits until the source's slot has confirmed everything written so far and every group has lag 0. */
export async function sinksCaughtUp(
  cluster: TestCluster,
  database: string,
  slot: string,
  repo: GroupRepository,
  groups: string[],
  timeoutMs = 90_000,
): Promise<void> {
  const [{ lsn }] = await cluster.query<{ lsn: string }>(database, 'SELECT pg_current_wal_lsn()::text AS lsn');
  const caughtUp = waitFor(
    async () => {
      const [state] = await cluster.query<{ ok: boolean }>(
        database,
        `SELECT confirmed_flush_lsn >= $1::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $2`,
        [lsn, slot],
      );
      if (!state?.ok) return false;
      for (const g of groups) {
        const lag = await repo.lag(g);
        if (lag.length === 0 || lag.some((l) => l.lag !== '0' || l.status !== 'ok')) return false;
      }
      return true;
    },
    `capture and the sinks (${groups.join(', ')}) to catch up`,
    timeoutMs,
  );
  await caughtUp.catch(async (error: Error) => {
    const activity = await cluster.activity().catch((e: Error) => `(unavailable: ${e.message})`);
    throw new Error(`${error.message}\nbusy sessions of the test cluster:\n${activity}`);
  });
}
