import type { Logger } from '@nestjs/common';
import type { GroupMember, OwnedPartition } from '@tributary/consumer-groups';

type StatusChange = { status: 'ok' | 'blocked'; detail: string | null };

/**
 * The commits of one partition, off the delivery path: acknowledgements ask for a commit, and the
 * contiguous acknowledged prefix is committed at most every `intervalMs` (the first one after a quiet
 * spell at once), without waiting for the WAL flush. A lost or late commit only means redelivery:
 * webhooks are at least once with stable ids, database sinks skip what the target already holds.
 * Commits of a partition run one after the other, so the stored offset never moves back.
 */
export class OffsetCommitter {
  private chain: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private running = false;
  private wanted = false;
  private lastAt = 0;
  private closed = false;

  constructor(
    private readonly member: GroupMember,
    private readonly p: OwnedPartition,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** Asks for a commit of what is acknowledged; never waits. */
  request(): void {
    this.wanted = true;
    if (this.closed || this.running || this.timer) return;
    const wait = this.lastAt + this.intervalMs - Date.now();
    if (wait <= 0) this.runRequested();
    else this.timer = setTimeout(() => this.runRequested(), wait);
  }

  /** Commits now, durably, after any commit in flight (a status change, a skip ahead, the last commit). */
  async now(status?: StatusChange): Promise<void> {
    this.cancelTimer();
    this.wanted = false;
    const commit = this.chain.then(() => this.member.commit(this.p, status));
    this.chain = commit.catch(() => undefined);
    await commit;
  }

  /** Ends the schedule: what was asked for is committed now (errors are logged, the caller goes on). */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelTimer();
    const wanted = this.wanted;
    this.wanted = false;
    if (!wanted || this.member.find(this.p) !== this.p) return this.chain;
    await this.now().catch((e: Error) => this.logger.warn(`commit of ${this.p.topic}[${this.p.partition}] failed: ${e.message}`));
  }

  private runRequested(): void {
    this.timer = undefined;
    if (!this.wanted) return;
    this.wanted = false;
    this.running = true;
    const commit = this.chain.then(() => this.member.commit(this.p, undefined, { durable: false }));
    this.chain = commit.then(
      () => this.finished(),
      (e: Error) => {
        // Fenced: GroupMember dropped the partition, whose loop then ends. Anything else: try again later.
        if (this.member.find(this.p) === this.p) {
          this.logger.warn(`commit of ${this.p.topic}[${this.p.partition}] failed: ${e.message}; retrying`);
          this.wanted = true;
        }
        this.finished();
      },
    );
  }

  private finished(): void {
    this.running = false;
    this.lastAt = Date.now();
    if (this.wanted && !this.closed) this.request();
  }

  private cancelTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
