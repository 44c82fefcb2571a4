import type { PartitionRef } from './assignment';
import type { GroupMember } from './group-member';
import type { ConsumedMessage } from '@tributary/sink-contract';
import { StaleMemberError } from './group-types';
import type { GroupRepository } from './group.repository';

export interface PulledMessage extends ConsumedMessage {
  /** 1 on first delivery, then 2, 3, … each time it is delivered again after its visibility timeout or a nack. */
  attempt: number;
}

export interface AckResult {
  acked: (PartitionRef & { offset: string })[];
  /** Not owned by this member any more (rebalanced): the group delivers them again to the new owner. */
  rejected: (PartitionRef & { offset: string; reason: string })[];
  committed: (PartitionRef & { nextOffset: string })[];
}

/**
 * A group member driven over HTTP: messages handed out stay invisible for a visibility timeout, then
 * are delivered again unless acknowledged; acks commit the contiguous prefix like any member.
 */
export class PullMember {
  lastSeenAt = Date.now();

  constructor(
    readonly member: GroupMember,
    private readonly repo: GroupRepository,
  ) {}

  async fetch(max: number, visibilityTimeoutMs: number): Promise<PulledMessage[]> {
    this.lastSeenAt = Date.now();
    await this.member.heartbeat();
    await this.member.releaseRevoked();
    const out: PulledMessage[] = [];
    for (const p of this.member.active()) {
      const now = Date.now();
      const due = [...p.inflight]
        .filter(([offset, f]) => f.visibleAt <= now && !p.tracker.isAcked(offset))
        .map(([offset]) => offset)
        .sort((a, b) => (a < b ? -1 : 1))
        .slice(0, max - out.length);
      if (due.length) {
        for (const m of await this.repo.fetchOffsets(p.topic, p.partition, due)) {
          const flight = p.inflight.get(m.offset) as { visibleAt: number; attempts: number };
          flight.visibleAt = now + visibilityTimeoutMs;
          flight.attempts++;
          out.push({ ...m, attempt: flight.attempts });
        }
      }
      if (out.length < max) {
        for (const m of await this.member.fetch(p, max - out.length)) {
          p.inflight.set(m.offset, { visibleAt: now + visibilityTimeoutMs, attempts: 1 });
          out.push({ ...m, attempt: 1 });
        }
      }
      if (out.length >= max) break;
    }
    return out;
  }

  async ack(refs: (PartitionRef & { offset: bigint })[]): Promise<AckResult> {
    this.lastSeenAt = Date.now();
    const result: AckResult = { acked: [], rejected: [], committed: [] };
    const touched = new Set<ReturnType<GroupMember['find']>>();
    for (const ref of refs) {
      const p = this.member.find(ref);
      const shown = { topic: ref.topic, partition: ref.partition, offset: String(ref.offset) };
      if (!p) {
        result.rejected.push({
          ...shown,
          reason: 'partition not owned by this member (it was rebalanced); it will be delivered again',
        });
        continue;
      }
      if (p.tracker.isAcked(ref.offset)) {
        result.acked.push(shown); // acknowledged before: acks are idempotent
        continue;
      }
      if (!p.inflight.has(ref.offset)) {
        // Acknowledging what was never handed out would move the group's position over unread messages.
        result.rejected.push({ ...shown, reason: 'offset was not delivered to this member; fetch it first' });
        continue;
      }
      this.member.ack(p, ref.offset);
      touched.add(p);
      result.acked.push(shown);
    }
    for (const p of touched) {
      if (!p) continue;
      try {
        await this.member.commit(p);
        result.committed.push({ topic: p.topic, partition: p.partition, nextOffset: String(p.committed) });
      } catch (error) {
        if (!(error instanceof StaleMemberError)) throw error;
      }
    }
    return result;
  }

  /** Makes messages visible again after `delayMs` (0: on the next fetch). Unknown offsets are ignored. */
  nack(refs: (PartitionRef & { offset: bigint })[], delayMs: number): number {
    this.lastSeenAt = Date.now();
    let count = 0;
    for (const ref of refs) {
      const flight = this.member.find(ref)?.inflight.get(ref.offset);
      if (!flight) continue;
      flight.visibleAt = Date.now() + delayMs;
      count++;
    }
    return count;
  }

  async heartbeat(): Promise<void> {
    this.lastSeenAt = Date.now();
    await this.member.heartbeat(true);
  }

  leave(): Promise<void> {
    return this.member.leave();
  }
}
