/**
 * Notices a target that failed for several partitions and then answered again (an endpoint or database
 * back after an outage), so the partitions waiting out a retry backoff try again at once instead of after
 * backoffs that grew during the outage: the catch-up starts when the target is back, not minutes later.
 * A failure of one partition alone (a message the target rejects) never shortens its backoff, and a
 * partition is woken at most once until it succeeds itself: poison messages keep their retry schedule.
 * Shared by the members of a group in one process (each listens for the partitions it runs).
 */
export class TargetRecovery {
  /** Partitions (by id) that failed since the last success of any partition. */
  private readonly failing = new Set<string>();
  /** Partitions woken early that have not succeeded since: not woken again. */
  private readonly woken = new Set<string>();

  private readonly listeners: ((partitionIds: string[]) => void)[] = [];

  /** Calls `listener` with the partitions to wake when the target answers again. */
  onRecovered(listener: (partitionIds: string[]) => void): void {
    this.listeners.push(listener);
  }

  failed(partitionId: string): void {
    if (!this.woken.has(partitionId)) this.failing.add(partitionId);
  }

  succeeded(partitionId: string): void {
    this.woken.delete(partitionId);
    if (this.failing.size === 0) return;
    const waiting = this.failing.size >= 2 ? [...this.failing].filter((id) => id !== partitionId) : [];
    this.failing.clear();
    for (const id of waiting) this.woken.add(id);
    if (waiting.length) for (const listener of this.listeners) listener(waiting);
  }

  /** The partition is no longer consumed here. */
  forget(partitionId: string): void {
    this.failing.delete(partitionId);
    this.woken.delete(partitionId);
  }
}
