import { Logger } from '@nestjs/common';
import type { GroupConfig } from '@tributary/config';
import type { GroupMember, GroupRepository, MessageNotifier, OwnedPartition } from '@tributary/consumer-groups';
import { GroupDeletedError, partitionId } from '@tributary/consumer-groups';
import type { PlatformWritability } from '@tributary/store';
import { MessagePipeline } from '@tributary/message-pipeline';
import { backoffDelay, sleepUnlessAborted } from '@tributary/timing';
import { ConcurrencySlots } from './concurrency-slots';
import { PartitionLoop } from './partition-loop';
import type { RunnerScope, RunnerStats } from './runner-scope';
import type { ConsumedMessage, Sink } from '@tributary/sink-contract';
import { TargetRecovery } from './target-recovery';

export type { RunnerStats } from './runner-scope';

/** How often a member whose heartbeat the platform database refused (read-only, full) tries again. */
const UNWRITABLE_POLL_MS = 2_000;

/**
 * Runs one member of a group. The membership keeps its own schedule (heartbeats, taking and handing
 * over partitions), and every owned partition is consumed by its own PartitionLoop: a partition that
 * retries or blocks (PartitionDelivery) holds up none of the others. At most `sink.concurrency`
 * deliver calls run at once (default 1), each for a different partition.
 */
export class GroupRunner {
  private readonly logger: Logger;
  private stopping = false;
  private membership?: Promise<void>;
  /** The running loop of each partition (by partition id); a new lease's loop waits for the old one to end. */
  private readonly loops = new Map<string, PartitionLoop>();
  /** Ends the membership loop's wait between heartbeats (stop). */
  private readonly wakeMembership = new AbortController();
  /** Aborted by stop(): calls off the sink's other calls (storedPosition). */
  private readonly stopped = new AbortController();
  private readonly recorded = new Set<string>();
  private readonly scope: RunnerScope;
  readonly stats: RunnerStats = { delivered: 0, deadLettered: 0, retries: 0 };

  constructor(
    readonly member: GroupMember,
    config: GroupConfig,
    private readonly repo: GroupRepository,
    sink: Sink,
    notifier: MessageNotifier,
    /** Called with each batch once the sink accepted it (tests and metrics). */
    onDelivered?: (batch: ConsumedMessage[]) => void,
    /** Shared by the group's members in this process: a target back after an outage wakes them all. */
    recovery = new TargetRecovery(),
    /** This process's record of platform writes refused (read-only, full): shown by /ready. */
    private readonly writability?: PlatformWritability,
  ) {
    recovery.onRecovered((ids) => {
      for (const id of ids) this.loops.get(id)?.wake(); // ends a backoff wait: the next attempt goes now
    });
    this.logger = new Logger(`Group ${config.name}`);
    this.scope = {
      member,
      config,
      repo,
      sink,
      pipeline: new MessagePipeline(config),
      notifier,
      slots: new ConcurrencySlots(sink.concurrency ?? 1),
      recovery,
      stats: this.stats,
      logger: this.logger,
      stopSignal: this.stopped.signal,
      synced: new WeakSet<OwnedPartition>(),
      onDelivered,
      stopping: () => this.stopping,
      recordOnce: (p, kind, detail) => this.recordOnce(p, kind, detail),
    };
  }

  start(): void {
    this.membership ??= this.run();
  }

  /**
   * Stops fetching, commits what is acknowledged and leaves the group. The sink calls in hand are aborted
   * (their signal): a sink that waits on a target ends the wait, so a hung target never holds up a stop;
   * what it did not finish is delivered again by the next owner.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    this.wakeMembership.abort();
    for (const loop of this.loops.values()) loop.abort();
    await this.membership;
    await this.scope.pipeline.close();
    this.platformWritable(); // a stopped member reports nothing any more
    await this.member.leave().catch((e: Error) => this.logger.warn(`leaving the group failed: ${e.message}`));
  }

  /** The membership loop: a heartbeat when due, then the partition loops brought in line with what is owned. */
  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      let wait = this.member.heartbeatIntervalMs;
      try {
        await this.member.heartbeat(true); // this loop keeps the schedule itself
        this.followOwnership();
        await this.releaseIdleRevoked();
        if (failures) this.platformWritable();
        failures = 0;
      } catch (error) {
        if (error instanceof GroupDeletedError) {
          this.logger.log(`member ${this.member.id}: ${error.message}; stopping`);
          this.stopping = true; // the worker following the catalog removes this runner
          break;
        }
        failures++;
        const refused = this.writability?.report(this.writer, error);
        // A platform database that refuses writes is retried at a steady pace (said once), so the member
        // is back within seconds of it taking writes again; any other failure backs off.
        wait = refused ? UNWRITABLE_POLL_MS : backoffDelay(failures, 200, 10_000);
        if (!refused || failures === 1) {
          this.logger.error(`member ${this.member.id}: ${(error as Error).message}; retrying in ${wait} ms`);
        }
      }
      await this.sleep(wait);
    }
    for (const loop of this.loops.values()) loop.abort();
    await Promise.all([...this.loops.values()].map((loop) => loop.run()));
  }

  private get writer(): string {
    return `group:${this.scope.config.name}:${this.member.id}`;
  }

  private platformWritable(): void {
    this.writability?.clear(this.writer);
  }

  /** Starts a loop for every partition to consume; wakes (or, for a lost lease, aborts) the loops that are to end. */
  private followOwnership(): void {
    if (this.stopping) return;
    for (const loop of this.loops.values()) {
      if (this.member.find(loop.p) !== loop.p) loop.abort();
      else if (!loop.consuming()) loop.wake();
    }
    for (const p of this.member.active()) {
      const id = partitionId(p);
      if (this.loops.has(id)) continue;
      const loop = new PartitionLoop(this.scope, p);
      this.loops.set(id, loop);
      void loop.run().finally(() => {
        if (this.loops.get(id) === loop) {
          this.loops.delete(id);
          this.scope.recovery.forget(id);
        }
        this.followOwnership(); // a newer lease of the same partition may be waiting for this loop to end
      });
    }
  }

  /** Revoked partitions that no loop consumes (paused, failed) are handed over here; loops hand over their own. */
  private async releaseIdleRevoked(): Promise<void> {
    for (const p of this.member.all()) {
      if (p.revoked && !this.loops.has(partitionId(p))) await this.member.release(p);
    }
  }

  /** Records a group event once per partition incarnation in this runner (every re-ownership would repeat it). */
  private async recordOnce(p: OwnedPartition, kind: string, detail: string): Promise<void> {
    const key = `${kind}\u0000${p.topic}\u0000${p.partition}\u0000${p.topicIncarnation}`;
    if (this.recorded.has(key)) return;
    this.logger.warn(detail);
    await this.repo.recordEvent(this.scope.config.name, p, kind, detail);
    this.recorded.add(key);
  }

  private sleep(ms: number): Promise<void> {
    return sleepUnlessAborted(ms, this.wakeMembership.signal);
  }
}
