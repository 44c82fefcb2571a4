import type { SinkFailure } from '@tributary/sink-contract';

/** A failed delivery attempt, with what the runtime needs to schedule the next one. */
export class WebhookDeliveryError extends Error implements SinkFailure {
  constructor(
    message: string,
    /** HTTP status, when a response came. */
    readonly status?: number,
    /** From `Retry-After` on 429 or 503. */
    readonly retryAfterMs?: number,
    /** The subscription is disabled (410 Gone): block rather than retry or dead-letter. */
    readonly blockPartition?: boolean,
  ) {
    super(message);
    this.name = 'WebhookDeliveryError';
  }
}
