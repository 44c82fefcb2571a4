import { backoffDelay, NO_JITTER } from '@tributary/timing';
import type { Sleeper } from './delivery-wait';

const PROBE_POLL_MS = 100;
/** An endpoint's `Retry-After` is honoured for the probe up to this (a misread date must not pause it for days). */
const MAX_RETRY_AFTER_MS = 3_600_000;

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitOptions {
  failureThreshold: number;
  cooldownMs: number;
  maxCooldownMs: number;
}

export interface CircuitListener {
  (state: CircuitState, detail: string): void;
}

/**
 * Pauses an endpoint that fails persistently: after `failureThreshold` consecutive failed requests the
 * circuit opens and requests wait; after the cooldown one request goes through as a probe (half-open).
 * A successful probe closes the circuit; a failed one opens it again for twice as long (up to the max).
 * Shared by the members of one subscription only: other subscriptions have their own.
 */
export class CircuitBreaker {
  state: CircuitState = 'closed';
  private failures = 0;
  private openUntil = 0;
  /** Times opened since the circuit last closed: each open waits twice as long as the one before. */
  private opens = 0;
  private probing = false;

  constructor(
    private readonly options: CircuitOptions,
    private readonly listener: CircuitListener = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** When the next probe may go (while open). */
  get reopensAt(): number {
    return this.openUntil;
  }

  /** Waits until a request may go: at once when closed; after the cooldown (as the one probe) when open. */
  async admit(sleep: Sleeper): Promise<void> {
    for (;;) {
      if (this.state === 'closed') return;
      if (this.state === 'open') {
        const wait = this.openUntil - this.now();
        if (wait > 0) {
          await sleep(wait);
          continue;
        }
        this.state = 'half-open';
        this.listener('half-open', 'probing the endpoint');
      }
      if (!this.probing) {
        this.probing = true;
        return;
      }
      await sleep(PROBE_POLL_MS); // another member's probe is in flight
    }
  }

  succeeded(): void {
    this.failures = 0;
    if (this.state !== 'closed') {
      this.state = 'closed';
      this.opens = 0;
      this.listener('closed', 'the endpoint answered; deliveries resume');
    }
    this.endProbe();
  }

  /** A failed request; `retryAfterMs` (the endpoint's `Retry-After`) makes an opening circuit wait at least that long. */
  failed(reason: string, retryAfterMs?: number): void {
    this.failures++;
    const wasProbe = this.state === 'half-open' && this.probing;
    if (wasProbe || (this.state === 'closed' && this.failures >= this.options.failureThreshold)) {
      this.state = 'open';
      const cooldown = backoffDelay(++this.opens, this.options.cooldownMs, this.options.maxCooldownMs, NO_JITTER);
      this.openUntil = this.now() + Math.max(cooldown, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
      const detail =
        `${wasProbe ? 'probe failed' : `${this.failures} consecutive failures`} (last: ${reason}); ` +
        `paused until ${new Date(this.openUntil).toISOString()}`;
      this.listener('open', detail);
    }
    this.endProbe();
  }

  /** A probe that never got an answer either way (called off): let another request probe. */
  released(): void {
    this.endProbe();
  }

  private endProbe(): void {
    this.probing = false;
  }
}
