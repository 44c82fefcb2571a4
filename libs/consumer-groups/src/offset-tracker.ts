/**
 * Acknowledgements of one partition, and the offset a group may commit: the committed position moves
 * only over the contiguous acknowledged prefix. With 10000 committed and 10000, 10001 and 10003 acked,
 * the commit point is 10002; 10003 stays acked here but is delivered again after a restart.
 */
export class OffsetTracker {
  private readonly acked = new Set<bigint>();

  constructor(private committed: bigint) {}

  /** The next offset to consume as last committed (or as this tracker would commit it). */
  get position(): bigint {
    return this.committed;
  }

  ack(offset: bigint): void {
    if (offset >= this.committed) this.acked.add(offset);
  }

  isAcked(offset: bigint): boolean {
    return offset < this.committed || this.acked.has(offset);
  }

  /** Advances over the contiguous acked prefix; returns the new commit point. */
  advance(): bigint {
    while (this.acked.delete(this.committed)) this.committed++;
    return this.committed;
  }

  /** Forgets everything and starts over at `offset` (after a reset or an ownership change). */
  reset(offset: bigint): void {
    this.acked.clear();
    this.committed = offset;
  }

  get pendingAcks(): number {
    return this.acked.size;
  }
}
