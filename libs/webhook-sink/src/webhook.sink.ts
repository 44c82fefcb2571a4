import type { ConsumedMessage, DeliveryContext, Sink } from '@tributary/sink-contract';
import type { Pool } from 'pg';
import type { AttemptKind } from './attempt-log';
import { DeliveryAbortedError, sleeperFor } from './delivery-wait';
import { EnvelopeRenderer } from '@tributary/debezium-envelope';
import { MessageFilter } from './message.filter';
import { parseRetryAfter } from './retry-after';
import { acquireState, DISABLED_POLL_MS, releaseState, SubscriptionState } from './subscription-state';
import type { WebhookSinkConfig } from '@tributary/config';
import { WebhookDeliveryError } from './webhook-errors';
import type { HttpOutcome } from './webhook-http';
import { buildPayload } from './webhook-payload';
import { secretKey, signatureHeader } from './webhook-signature';

export interface WebhookSinkOptions {
  /** The consumer group this subscription is. */
  group: string;
  config: WebhookSinkConfig;
  /** The platform database (attempt log, subscription status). */
  pool: Pool;
  /** `replay` sinks have their own endpoint state and log their attempts as replays. */
  kind?: AttemptKind;
  /**
   * How long one deliver call waits for an endpoint whose circuit is open before its failure counts as an
   * attempt (the group's `retry.maxBackoffMs`: an outage costs a message at most one attempt per max
   * backoff, so the retry schedule still ends, in dead letters, for an endpoint that never heals). 0: no hold.
   */
  holdWhilePausedMs?: number;
}

/**
 * Partitions a member delivers to at once (each still one request at a time, in order). One partition's
 * retries and backoff then never hold up the member's others, and a member owning many partitions (a
 * group over many tables) keeps the endpoint busy; with the default 4 members that is at most 64
 * requests in flight per subscription and process, as many as the client keeps connections for.
 * `rateLimitPerSecond` is the knob for endpoints that want less.
 */
export const WEBHOOK_CONCURRENCY = 16;

/**
 * Requests in flight per partition when each carries one message, each for another key (a key's
 * messages still go one after the other, in offset order): a partition behind on a healthy endpoint
 * catches up at several times one round trip per message. 8 per partition stay well
 * within WEBHOOK_CONCURRENCY and the connections the client keeps, with the default 4 members owning a partition each.
 */
export const WEBHOOK_KEY_LANES = 8;

/**
 * Delivers a consumer group's messages to an HTTP endpoint as Standard Webhooks requests: one message
 * per request (its envelope as the body) or a JSON array of up to `batchSize`. Each `deliver` call is
 * one attempt; the runtime schedules retries (backoff, `Retry-After`), dead-letters or blocks.
 */
export class WebhookSink implements Sink {
  readonly kind = 'webhook';
  readonly maxBatchSize: number;
  /** A batch request is the unit: if it keeps failing, its messages meet the failure policy together. */
  readonly isolateFailures = false;
  readonly concurrency = WEBHOOK_CONCURRENCY;
  readonly keyLanes: number;
  private readonly batched: boolean;
  private readonly keys: Buffer[];
  private readonly filter: MessageFilter;
  private readonly envelopes: EnvelopeRenderer;
  private readonly state: SubscriptionState;
  private readonly attemptKind: AttemptKind;
  private closed = false;

  constructor(private readonly options: WebhookSinkOptions) {
    const { config } = options;
    this.batched = config.batchSize > 1;
    this.maxBatchSize = config.batchSize;
    this.keyLanes = this.batched ? 1 : WEBHOOK_KEY_LANES;
    this.keys = config.secrets.map(secretKey);
    this.filter = new MessageFilter(config);
    this.envelopes = new EnvelopeRenderer(config.envelope, options.pool);
    this.attemptKind = options.kind ?? 'delivery';
    this.state =
      this.attemptKind === 'delivery'
        ? acquireState(options.group, config, options.pool)
        : new SubscriptionState(options.group, config, options.pool, false);
  }

  /** The messages this subscription wants out of a batch (the rest is acknowledged without a request). */
  wanted(batch: ConsumedMessage[]): ConsumedMessage[] {
    return this.filter.everything ? batch : batch.filter((m) => this.filter.matches(m));
  }

  async deliver(batch: ConsumedMessage[], context?: DeliveryContext): Promise<void> {
    const selected = this.wanted(batch);
    if (selected.length === 0) return;
    if (!this.state.loaded) await this.state.ready();
    const single = selected.length <= this.maxBatchSize && selected.every((m) => m.route === selected[0].route);
    if (single) return this.send(selected, context);
    // One request per run of messages with the same route (its URL path), at most maxBatchSize each, in order.
    for (let i = 0; i < selected.length;) {
      let end = i + 1;
      while (end < selected.length && end - i < this.maxBatchSize && selected[end].route === selected[i].route) end++;
      await this.send(selected.slice(i, end), context);
      i = end;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.attemptKind === 'delivery') await releaseState(this.state);
    else await this.state.close();
  }

  /**
   * Sends one request, and while the endpoint is paused (the circuit is open) sends it again each time the
   * circuit lets a probe through, for up to `holdWhilePausedMs`. A failure of a paused endpoint is the
   * endpoint's, not the message's: were it thrown, every message would spend its attempts on an outage
   * and sleep the retry backoff (16-32 s after a minute) past the moment the endpoint heals. Held here,
   * the partition resumes with the successful probe, and the message's attempts count only what failed
   * while the endpoint took requests.
   */
  private async send(messages: ConsumedMessage[], context?: DeliveryContext): Promise<void> {
    const state = this.state;
    if (state.disabled && this.attemptKind === 'delivery' && (await state.stillDisabled())) {
      throw new WebhookDeliveryError(`subscription disabled: ${state.disabled}`, undefined, DISABLED_POLL_MS, true);
    }
    // Rendered before the circuit admits the request: a failed schema lookup then costs no probe.
    const bodies = this.envelopes.verbatim ? undefined : await this.envelopes.render(messages);
    const holdUntil = Date.now() + (this.options.holdWhilePausedMs ?? 0);
    for (;;) {
      const failure = await this.request(messages, bodies, context);
      if (!failure) return;
      const paused = state.breaker.state !== 'closed' && !failure.blockPartition;
      if (!paused || Date.now() >= holdUntil) throw failure;
    }
  }

  /** One request: waits for the circuit and the rate limit, signs, posts, logs the attempt; the failure, if any. */
  private async request(
    messages: ConsumedMessage[],
    bodies: string[] | undefined,
    context?: DeliveryContext,
  ): Promise<WebhookDeliveryError | undefined> {
    const state = this.state;
    // The waits (an open circuit, the rate limit) are set up only when there is one to wait out.
    const sleep = state.breaker.state !== 'closed' || state.limiter ? sleeperFor(context?.signal, context?.wait) : undefined;
    if (sleep && state.breaker.state !== 'closed') await state.breaker.admit(sleep);
    let outcome: HttpOutcome;
    const { id, body } = buildPayload(messages, this.batched, bodies);
    try {
      if (sleep && state.limiter) await state.limiter.take(sleep);
      outcome = await state.client.post(
        this.headers(messages, id, body, context),
        body,
        this.options.config.timeoutMs,
        messages[0].route,
      );
    } catch (error) {
      state.breaker.released();
      throw error instanceof DeliveryAbortedError ? error : new WebhookDeliveryError((error as Error).message);
    }
    const ok = outcome.status !== undefined && outcome.status >= 200 && outcome.status < 300;
    const reason = ok ? null : describe(outcome);
    const logging = state.log.record(
      {
        group: this.options.group,
        webhookId: id,
        topic: messages[0].topic,
        partition: messages[0].partition,
        firstOffset: messages[0].offset,
        lastOffset: messages[messages.length - 1].offset,
        messages: messages.length,
        attempt: context?.attempt ?? 1,
        kind: this.attemptKind,
        status: outcome.status ?? null,
        latencyMs: outcome.latencyMs,
        error: reason,
        at: new Date(Date.now() - outcome.latencyMs),
      },
      !ok,
    );
    if (logging) await logging; // a failure is written before it is reported; a success only under backpressure
    if (ok) {
      state.breaker.succeeded();
      return undefined;
    }
    return this.judge(outcome, reason as string);
  }

  /** The failure of an answered-but-failed request (or of none): 410 disables the subscription. */
  private async judge(outcome: HttpOutcome, message: string): Promise<WebhookDeliveryError> {
    const retryAfterMs =
      outcome.status === 429 || outcome.status === 503 ? parseRetryAfter(outcome.headers?.['retry-after']) : undefined;
    this.state.breaker.failed(message, retryAfterMs);
    if (outcome.status === 410) {
      await this.state.disable(`the endpoint answered 410 Gone at ${new Date().toISOString()}`);
      return new WebhookDeliveryError(`${message}: subscription disabled`, 410, DISABLED_POLL_MS, true);
    }
    return new WebhookDeliveryError(message, outcome.status, retryAfterMs);
  }

  private headers(messages: ConsumedMessage[], id: string, body: string, context?: DeliveryContext): Record<string, string> {
    const timestamp = Math.floor(Date.now() / 1_000);
    const first = messages[0];
    const last = messages[messages.length - 1];
    // The subscription's own headers, content type and user agent are the client's fixed ones.
    return {
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(this.keys, id, timestamp, body),
      'tributary-topic': first.topic,
      'tributary-partition': String(first.partition),
      'tributary-offset': first === last ? String(first.offset) : `${first.offset}-${last.offset}`,
      'tributary-attempt': String(context?.attempt ?? 1),
    };
  }
}

function describe(outcome: HttpOutcome): string {
  if (outcome.status === undefined) return outcome.error ?? 'no response';
  if (outcome.status >= 300 && outcome.status < 400) {
    const location = outcome.headers?.location;
    return `HTTP ${outcome.status}: redirect${location ? ` to ${location}` : ''} not followed`;
  }
  // NUL cannot be stored in a Postgres text column: it would cost the attempt log its whole batch.
  const text = (outcome.body ?? '').replaceAll('\u0000', ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
  return `HTTP ${outcome.status}${text ? `: ${text}` : ''}`;
}
