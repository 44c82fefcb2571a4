import type { SinkFailure } from '@tributary/sink-contract';

/** How soon a blocked partition tries an unreachable or misconfigured broker again. */
export const NATS_RETRY_MS = 1_000;

/**
 * A failed publish or set-up. The broker being unreachable or the stream being wrong is never the
 * message's fault: those block the partition (retried every `retryAfterMs`, nothing dead-lettered);
 * only what is about the message itself (too large, say) goes through the group's retries and `onFailure`.
 */
export class NatsSinkError extends Error implements SinkFailure {
  readonly blockPartition: boolean;
  readonly retryAfterMs?: number;

  constructor(message: string, kind: 'unreachable' | 'misconfigured' | 'message') {
    super(message);
    this.name = 'NatsSinkError';
    if (kind !== 'message') {
      this.blockPartition = true;
      this.retryAfterMs = NATS_RETRY_MS;
    } else this.blockPartition = false;
  }
}

/** The JetStream API error codes the sink acts on. */
export const JS_CODES = {
  streamNotFound: 10059,
  wrongLastSequence: 10071,
  streamNameInUse: 10058,
  subjectsOverlap: 10065,
} as const;

/** The API error code of a JetStream error, if it is one. */
export function jetStreamCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}
