import { Logger } from '@nestjs/common';
import type { ConsumedMessage } from '@tributary/sink-contract';
import type { Pool } from 'pg';
import { backoffDelay, NO_JITTER, sleepUnlessAborted } from '@tributary/timing';
import type { WebhookSinkConfig } from '@tributary/config';
import { WebhookDeliveryError } from './webhook-errors';
import { WebhookRepository } from './webhook.repository';
import { WebhookSink } from './webhook.sink';

/** What to deliver again: one dead letter, a range of offsets of one partition, or everything since a time. */
export type ReplaySelector =
  | { deadLetterId: string }
  | { topic: string; partition: number; fromOffset: string | bigint; toOffset: string | bigint }
  | { since: string | Date };

export interface ReplayOptions {
  /** Most messages replayed by one call. */
  limit?: number;
  /** Attempts per request (with a short backoff, honouring Retry-After up to `maxWaitMs`). */
  attempts?: number;
  maxWaitMs?: number;
  signal?: AbortSignal;
}

export interface ReplayResult {
  /** Messages selected (retained and wanted by the subscription). */
  selected: number;
  delivered: number;
  /** Messages the subscription's filter leaves out. */
  skipped: number;
  /** Per partition, the first message that could not be delivered (later ones of that partition were not tried). */
  failed: { topic: string; partition: number; offset: string; error: string }[];
  /** Dead letters delivered by this replay, and so removed from the dead letter table. */
  resolvedDeadLetters: string[];
}

export class ReplayNotFoundError extends Error {}

/** Another replay of the same dead letter is delivering it right now. */
export class ReplayBusyError extends Error {}

/**
 * Delivers stored messages of a webhook subscription again, outside its live stream: in offset order
 * per partition, with the same webhook ids (receivers may recognise them as already seen), signed with
 * the current secrets, each attempt logged as a `replay`. A partition stops at its first failure.
 */
export class WebhookReplayer {
  private readonly logger: Logger;
  private readonly repo: WebhookRepository;

  constructor(
    private readonly group: { name: string; topics: string[]; sink: WebhookSinkConfig },
    private readonly pool: Pool,
  ) {
    this.logger = new Logger(`Webhook ${group.name}`);
    this.repo = new WebhookRepository(pool);
  }

  async replay(selector: ReplaySelector, options: ReplayOptions = {}): Promise<ReplayResult> {
    if (!('deadLetterId' in selector)) return this.run(selector, options);
    // Claimed, then read again: a replay that finished just before has removed it (not found, not twice).
    const claimed = await this.repo.withDeadLetterClaim(selector.deadLetterId, () => this.run(selector, options));
    if (!claimed) throw new ReplayBusyError(`dead letter ${selector.deadLetterId} is being replayed right now`);
    return claimed.value;
  }

  private async run(selector: ReplaySelector, options: ReplayOptions): Promise<ReplayResult> {
    const limit = Math.min(10_000, options.limit ?? 1_000);
    let messages: ConsumedMessage[];
    let deadLetterId: string | undefined;
    if ('deadLetterId' in selector) {
      const message = await this.repo.deadLetterMessage(this.group.name, selector.deadLetterId);
      if (!message)
        throw new ReplayNotFoundError(`dead letter ${selector.deadLetterId} of group "${this.group.name}" does not exist`);
      messages = [message];
      deadLetterId = selector.deadLetterId;
    } else if ('since' in selector) {
      messages = await this.repo.since(this.group.topics, new Date(selector.since), limit);
    } else {
      const from = BigInt(selector.fromOffset);
      const to = BigInt(selector.toOffset);
      messages = to < from ? [] : await this.repo.range(selector.topic, selector.partition, from, to, limit);
    }

    const sink = new WebhookSink({ group: this.group.name, config: this.group.sink, pool: this.pool, kind: 'replay' });
    const result: ReplayResult = { selected: 0, delivered: 0, skipped: 0, failed: [], resolvedDeadLetters: [] };
    try {
      const wanted = new Set(sink.wanted(messages));
      result.skipped = messages.length - wanted.size;
      result.selected = wanted.size;
      for (const partition of groupByPartition(messages.filter((m) => wanted.has(m)))) {
        for (let i = 0; i < partition.length; i += sink.maxBatchSize) {
          const chunk = partition.slice(i, i + sink.maxBatchSize);
          const error = await this.attempt(sink, chunk, options);
          if (error) {
            result.failed.push({ topic: chunk[0].topic, partition: chunk[0].partition, offset: String(chunk[0].offset), error });
            break;
          }
          result.delivered += chunk.length;
        }
      }
      if (deadLetterId && result.failed.length === 0) {
        await this.repo.deleteDeadLetter(this.group.name, deadLetterId);
        result.resolvedDeadLetters.push(deadLetterId);
      }
    } finally {
      await sink.close();
    }
    this.logger.log(
      `replay: ${result.delivered} of ${result.selected} delivered` +
        (result.failed.length
          ? `, stopped at ${result.failed.map((f) => `${f.topic}[${f.partition}]@${f.offset}`).join(', ')}`
          : ''),
    );
    return result;
  }

  private async attempt(sink: WebhookSink, chunk: ConsumedMessage[], options: ReplayOptions): Promise<string | undefined> {
    const attempts = options.attempts ?? 3;
    const signal = options.signal ?? new AbortController().signal;
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await sink.deliver(chunk, { attempt, signal });
        return undefined;
      } catch (error) {
        last = (error as Error).message;
        if (error instanceof WebhookDeliveryError && error.blockPartition) break;
        if (!(error instanceof WebhookDeliveryError) || attempt === attempts) continue;
        const maxWaitMs = options.maxWaitMs ?? 10_000;
        await sleepUnlessAborted(
          Math.min(maxWaitMs, error.retryAfterMs ?? backoffDelay(attempt, 250, maxWaitMs, NO_JITTER)),
          signal,
        );
        if (signal.aborted) break;
      }
    }
    return last;
  }
}

function groupByPartition(messages: ConsumedMessage[]): ConsumedMessage[][] {
  const byPartition = new Map<string, ConsumedMessage[]>();
  for (const m of messages) {
    const id = `${m.topic}\u0000${m.partition}`;
    const list = byPartition.get(id);
    if (list) list.push(m);
    else byPartition.set(id, [m]);
  }
  return [...byPartition.values()].map((list) => list.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0)));
}
