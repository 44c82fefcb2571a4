/**
 * Messages waiting to be handled at which the replication stream pauses, and at which it resumes. The
 * socket's buffers hold what the server sends meanwhile; messages decoded early only outlive the garbage
 * collector's young generation (pausing at 1,000 instead of 100 cost 15 % of capture's throughput).
 */
const PAUSE_AT_QUEUED = 100;
const RESUME_AT_QUEUED = 10;

/** The replication stream as seen by the intake: it can stop reading its socket, and start again. */
export interface PausableStream {
  pause(): void;
  resume(): void;
}

/**
 * Stream intake and back-pressure: runs the handlers of the replication stream's messages one at a time,
 * in arrival order. Messages arrive as fast as the socket delivers them; while too many wait here the
 * stream is paused, so a slow platform holds back the server instead of filling memory. Once the session
 * failed, queued handlers no longer run.
 */
export class StreamIntake {
  /** The replication stream is paused: too many messages wait for their turn. */
  private paused = false;
  private serial: Promise<unknown> = Promise.resolve();
  /** Handlers queued and not finished. */
  private queued = 0;

  constructor(
    private readonly stream: PausableStream,
    private readonly failed: () => boolean,
  ) {}

  /** Nothing is queued: a message may be handled at once, in order with everything before it. */
  get empty(): boolean {
    return this.queued === 0;
  }

  /** Runs `fn` after every handler queued before it; skipped (resolving undefined) once the session failed. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    if (++this.queued >= PAUSE_AT_QUEUED && !this.paused) {
      this.paused = true;
      this.stream.pause();
    }
    const next = this.serial
      .then(() => (this.failed() ? (undefined as T) : fn()))
      .finally(() => {
        if (--this.queued <= RESUME_AT_QUEUED && this.paused) {
          this.paused = false;
          this.stream.resume();
        }
      });
    this.serial = next.catch(() => undefined);
    return next;
  }
}
