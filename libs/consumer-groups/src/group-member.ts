import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { PartitionRef } from './assignment';
import { partitionId } from './assignment';
import type { ConsumedMessage } from '@tributary/sink-contract';
import type { GroupDefinition, Lease } from './group-types';
import { StaleMemberError } from './group-types';
import type { GroupRepository } from './group.repository';
import { OffsetTracker } from './offset-tracker';

export interface OwnedPartition extends Lease {
  tracker: OffsetTracker;
  /** What is committed in the database. */
  committed: bigint;
  /** Next offset to fetch (ahead of `committed` while messages are in flight). */
  position: bigint;
  /** The assignment moved it elsewhere: finish, commit, release. */
  revoked: boolean;
  /** Pull consumers: offsets handed out and when they become visible again. */
  inflight: Map<bigint, { visibleAt: number; attempts: number }>;
  /** A block stored by an earlier owner (or this one): cleared by the first commit that moves past it. */
  storedBlock: boolean;
  /** Messages fetched beyond what was asked, from `position` on; dropped when the position moves elsewhere. */
  readAhead: ConsumedMessage[];
}

/**
 * Fetches read at least this many messages, and the whole record batches they are in: reading a few
 * messages of a batch costs about as much as reading all of it. Small consumer batches (a webhook
 * sending one message per request) are served from what was read ahead.
 */
const READ_AHEAD = 500;

/**
 * One member of a consumer group: heartbeats its membership, holds the partitions the assignment gives
 * it (with their lease generations), fetches in offset order, and commits the contiguous acknowledged
 * prefix, fenced by generation. Used by the worker runtime and by the HTTP pull API alike.
 */
export class GroupMember {
  readonly id: string;
  private readonly logger: Logger;
  private readonly partitions = new Map<string, OwnedPartition>();
  private nextHeartbeatAt = 0;
  offsetResets = 0;
  lastHeartbeatAt?: Date;
  /** Set by an operator through the API; refreshed at every heartbeat. */
  paused = false;

  constructor(
    private readonly repo: GroupRepository,
    readonly group: GroupDefinition,
    private readonly client: string,
    id?: string,
  ) {
    this.id = id ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.logger = new Logger(`Group ${group.name}`);
  }

  get heartbeatIntervalMs(): number {
    return Math.max(100, Math.floor(this.group.sessionTimeoutMs / 6));
  }

  /** Renews membership when due (or when forced) and brings the owned partitions up to date. */
  async heartbeat(force = false): Promise<void> {
    if (!force && Date.now() < this.nextHeartbeatAt) return;
    const result = await this.repo.heartbeat(this.group, this.id, this.client);
    this.paused = result.paused;
    this.lastHeartbeatAt = new Date();
    this.nextHeartbeatAt = Date.now() + this.heartbeatIntervalMs;
    const owned = new Set(result.owned.map(partitionId));
    const revoke = new Set(result.revoke.map(partitionId));
    for (const [id, p] of this.partitions) {
      if (!owned.has(id)) {
        this.partitions.delete(id);
        this.logger.warn(
          `member ${this.id} lost ${p.topic}[${p.partition}] (lease expired); uncommitted messages will be redelivered`,
        );
      }
    }
    for (const lease of result.owned) {
      const id = partitionId(lease);
      const known = this.partitions.get(id);
      // A topic deleted and re-created under its name is new, whatever generation its lease is at.
      if (known && known.generation === lease.generation && known.topicIncarnation === lease.topicIncarnation) {
        known.revoked = revoke.has(id);
        continue;
      }
      this.partitions.set(id, {
        ...lease,
        // A block is retried by whoever owns the partition; only a reset-policy failure waits for an operator.
        status: lease.status === 'blocked' ? 'ok' : lease.status,
        storedBlock: lease.status === 'blocked',
        tracker: new OffsetTracker(lease.nextOffset),
        committed: lease.nextOffset,
        position: lease.nextOffset,
        revoked: revoke.has(id),
        inflight: new Map(),
        readAhead: [],
      });
      this.logger.log(
        `member ${this.id} owns ${lease.topic}[${lease.partition}] (generation ${lease.generation}) from offset ${lease.nextOffset}`,
      );
    }
  }

  /** Partitions to consume now: owned, not being handed over, not failed or blocked. */
  active(): OwnedPartition[] {
    if (this.paused) return [];
    return [...this.partitions.values()].filter((p) => !p.revoked && p.status === 'ok');
  }

  all(): OwnedPartition[] {
    return [...this.partitions.values()];
  }

  find(ref: PartitionRef): OwnedPartition | undefined {
    return this.partitions.get(partitionId(ref));
  }

  /** The next messages of a partition, from its fetch position; applies the reset policy if retention removed them. */
  async fetch(p: OwnedPartition, limit: number): Promise<ConsumedMessage[]> {
    if (p.readAhead.length && p.readAhead[0].offset !== p.position) p.readAhead = [];
    if (p.readAhead.length < limit) {
      const size = Math.max(limit - p.readAhead.length, READ_AHEAD);
      const more = p.readAhead.length ? await this.readAfterReadAhead(p, size) : await this.readAtPosition(p, size);
      if (!more) return [];
      // concat, not push(...more): a record batch may hold more messages than a call takes arguments.
      p.readAhead = p.readAhead.concat(more);
    }
    const messages = p.readAhead.splice(0, limit);
    if (messages.length) p.position = messages[messages.length - 1].offset + 1n;
    return messages;
  }

  /**
   * Reads the messages after those read ahead, so the next fetch finds them in memory: called while the
   * batch in hand is delivered. Dropped if the fetch position moved meanwhile (a rewind after a failure).
   */
  async readMore(p: OwnedPartition, limit: number): Promise<void> {
    if (p.readAhead.length >= limit) return;
    const from = p.position + BigInt(p.readAhead.length);
    const more = await this.readAfterReadAhead(p, Math.max(limit, READ_AHEAD));
    if (more.length && p.position + BigInt(p.readAhead.length) === from && (p.readAhead[0]?.offset ?? from) === p.position) {
      p.readAhead = p.readAhead.concat(more);
    }
  }

  /** Messages from the fetch position on; undefined when retention removed them and the reset policy stopped the partition. */
  private async readAtPosition(p: OwnedPartition, size: number): Promise<ConsumedMessage[] | undefined> {
    const messages = await this.repo.fetch(p.topic, p.partition, p.position, size);
    if (messages.length && messages[0].offset === p.position) return messages;
    const bounds = await this.repo.bounds(p.topic, p.partition);
    if (p.position >= bounds.earliest) return messages;
    await this.applyResetPolicy(p, bounds.earliest, bounds.end);
    if (p.status !== 'ok') return undefined;
    return this.repo.fetch(p.topic, p.partition, p.position, size);
  }

  /** Messages right after those read ahead; none if retention removed them meanwhile (the next fetch sees to it). */
  private async readAfterReadAhead(p: OwnedPartition, size: number): Promise<ConsumedMessage[]> {
    const from = p.position + BigInt(p.readAhead.length);
    const more = await this.repo.fetch(p.topic, p.partition, from, size);
    return more.length && more[0].offset === from ? more : [];
  }

  ack(p: OwnedPartition, offset: bigint): void {
    p.tracker.ack(offset);
    p.inflight.delete(offset);
  }

  /**
   * Commits the contiguous acknowledged prefix, if it moved. A fenced commit drops the partition.
   * `durable: false` for the frequent commits of delivered messages: losing one in a crash of the
   * platform database only means those messages are delivered again. A status change is always durable.
   */
  async commit(
    p: OwnedPartition,
    status?: { status: 'ok' | 'blocked'; detail: string | null },
    options: { durable?: boolean } = {},
  ): Promise<void> {
    const point = p.tracker.advance();
    if (point === p.committed && !status) return;
    // Moving past the offset it blocked at means the block is over, whoever stored it.
    if (!status && p.storedBlock) status = { status: 'ok', detail: null };
    const durable = status !== undefined || options.durable !== false;
    try {
      await this.repo.commit(this.group.name, this.id, p, point, status, this.group.incarnation, durable);
      p.committed = point;
      if (status) {
        p.status = status.status;
        p.storedBlock = status.status === 'blocked';
      }
    } catch (error) {
      if (error instanceof StaleMemberError) {
        this.partitions.delete(partitionId(p));
        this.logger.warn(error.message);
      }
      throw error;
    }
  }

  /** Commits and hands back the partitions the assignment moved to other members. */
  async releaseRevoked(): Promise<void> {
    for (const p of this.partitions.values()) {
      if (p.revoked) await this.release(p);
    }
  }

  /** Commits what is acknowledged and hands one revoked partition back (nothing if it is no longer ours). */
  async release(p: OwnedPartition): Promise<void> {
    if (this.partitions.get(partitionId(p)) !== p) return;
    await this.commit(p).catch((e: Error) => this.logger.warn(`commit before hand-over failed: ${e.message}`));
    await this.repo.release(this.group.name, this.id, p);
    this.partitions.delete(partitionId(p));
    this.logger.log(`member ${this.id} handed over ${p.topic}[${p.partition}]`);
  }

  /** Commits what is acknowledged and leaves the group, so its partitions move at once. */
  async leave(): Promise<void> {
    for (const p of this.partitions.values()) {
      await this.commit(p).catch((e: Error) => this.logger.warn(`final commit failed: ${e.message}`));
    }
    this.partitions.clear();
    await this.repo.leave(this.group.name, this.id);
  }

  private async applyResetPolicy(p: OwnedPartition, earliest: bigint, end: bigint): Promise<void> {
    const policy = this.group.resetPolicy;
    const what = `offset ${p.position} of ${p.topic}[${p.partition}] was removed by retention (earliest retained: ${earliest})`;
    this.offsetResets++;
    if (policy === 'fail') {
      const detail = `${what}; reset policy is "fail": consumption of this partition stopped until an operator resets its offset`;
      this.logger.error(`group ${this.group.name}: ${detail}`);
      await this.repo.commit(this.group.name, this.id, p, p.committed, { status: 'failed', detail }, this.group.incarnation);
      p.status = 'failed';
      await this.repo.recordEvent(this.group.name, p, 'offset_reset_failed', detail);
      return;
    }
    const target = policy === 'latest' ? end : earliest;
    const detail = `${what}; reset to ${policy} offset ${target}`;
    this.logger.warn(`group ${this.group.name}: ${detail}`);
    p.tracker.reset(target);
    p.inflight.clear();
    p.position = target;
    await this.repo.commit(this.group.name, this.id, p, target, undefined, this.group.incarnation);
    p.committed = target;
    await this.repo.recordEvent(this.group.name, p, 'offset_reset', detail);
  }
}
