import type { EnvelopeRenderer } from '@tributary/debezium-envelope';
import type { RabbitmqSinkConfig } from '@tributary/config';
import {
  DestinationTemplate,
  envelopeId,
  type ConsumedMessage,
  type DeliveryContext,
  type Sink,
  DestinationHealth,
  type SinkEvent,
  type SinkFailure,
  type SinkMetrics,
} from '@tributary/sink-contract';
import type { ConfirmChannel } from 'amqplib';
import { AmqpConnection, RabbitmqUnavailableError } from './amqp-connection';

export interface RabbitmqSinkOptions {
  group: string;
  config: RabbitmqSinkConfig;
  report?: (event: SinkEvent) => Promise<void>;
  metrics?: SinkMetrics;
  /** Renders the bodies in the sink's `envelope` format; without it, the envelope as captured. */
  envelopes?: EnvelopeRenderer;
}

/** The broker took the message but could not keep it (a nack): retried, and the group's onFailure applies. */
export class RabbitmqNackError extends Error implements SinkFailure {
  constructor(message: string) {
    super(message);
    this.name = 'RabbitmqNackError';
  }
}

/**
 * `sink.type: rabbitmq`: each message published persistent to the exchange under its routing key, with
 * `message-id` = the envelope id. A batch resolves only when the broker confirmed every message of it,
 * so an offset is committed only for confirmed messages. At least once: a crash between the confirms
 * and the commit publishes those messages again, under the same `message-id`.
 */
export class RabbitmqSink implements Sink {
  readonly kind = 'rabbitmq';
  readonly maxBatchSize: number;
  /** A failure is the broker's (down, refused, missing exchange), not one message's. */
  readonly isolateFailures = false;
  /** Partitions publish side by side on the one confirm channel, each awaiting only its own confirms. */
  readonly concurrency = 4;
  private readonly connection: AmqpConnection;
  private readonly routingKey: DestinationTemplate;
  private readonly health: DestinationHealth;

  constructor(private readonly options: RabbitmqSinkOptions) {
    const { config } = options;
    this.maxBatchSize = config.batchSize;
    this.health = new DestinationHealth(options.report);
    this.connection = new AmqpConnection(
      config.url,
      { name: config.exchange, type: config.exchangeType, declare: config.declare },
      config.timeoutMs,
    );
    this.routingKey = new DestinationTemplate(config.routingKey);
  }

  async deliver(batch: ConsumedMessage[], context?: DeliveryContext): Promise<void> {
    if (batch.length === 0) return;
    const { topic, partition } = batch[0];
    const started = performance.now();
    try {
      const channel = await this.connection.channel();
      const bodies = this.options.envelopes ? await this.options.envelopes.render(batch) : batch.map((m) => m.envelope);
      await this.withTimeout(this.publishAll(channel, batch, bodies), context?.signal);
      this.options.metrics?.latency((performance.now() - started) / 1000);
      this.options.metrics?.published(batch.length);
    } catch (error) {
      this.options.metrics?.failed(1);
      const failure = this.failure(error as Error);
      if (failure instanceof RabbitmqUnavailableError) await this.health.failing(topic, partition, failure.message);
      throw failure;
    }
    await this.health.working(topic, partition, `rabbitmq at ${this.connection.address} confirms publishes again`);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** Publishes in order, waiting for the channel to drain when its buffer is full, then for every confirm. */
  private async publishAll(channel: ConfirmChannel, batch: ConsumedMessage[], bodies: string[]): Promise<void> {
    const { exchange } = this.options.config;
    const confirms: Promise<void>[] = [];
    for (const [i, m] of batch.entries()) {
      const body = bodies[i];
      const options = {
        persistent: true,
        contentType: 'application/json',
        messageId: envelopeId(m),
        headers: { 'tributary-topic': m.topic, 'tributary-partition': m.partition, 'tributary-offset': String(m.offset) },
      };
      let writable = true;
      confirms.push(
        new Promise<void>((resolve, reject) => {
          writable = channel.publish(exchange, this.routingKey.render(m), Buffer.from(body), options, (error: unknown) =>
            error
              ? reject(
                  new RabbitmqNackError(
                    `rabbitmq did not confirm offset ${m.offset}: ${error instanceof Error ? error.message : 'nack'}`,
                  ),
                )
              : resolve(),
          );
        }),
      );
      if (!writable) await new Promise<void>((resolve) => channel.once('drain', resolve));
    }
    await Promise.all(confirms);
  }

  /** Confirms that do not come within timeoutMs fail the attempt; the connection is dropped so the retry starts clean. */
  private async withTimeout(work: Promise<void>, signal?: AbortSignal): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const { timeoutMs } = this.options.config;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.connection.unavailableNow(`no publisher confirms within ${timeoutMs} ms`)), timeoutMs);
      onAbort = () => reject(new Error('delivery aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    work.catch(() => undefined); // rejected after the timeout won: already answered
    try {
      await Promise.race([work, expired]);
    } catch (error) {
      await this.connection.reset();
      throw error;
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  private failure(error: Error): SinkFailure {
    if (error instanceof RabbitmqUnavailableError || error instanceof RabbitmqNackError) return error;
    // A channel or connection closed under the publishes: the broker went away or closed the channel.
    return this.connection.unavailableNow(error.message);
  }
}
