import { z } from 'zod';
import { envelopeFormatSchema } from './envelope-format';
import { knownTemplateFields } from './redis-sink.schema';

/**
 * `sink.type: rabbitmq`: every message published persistent to an exchange, with publisher confirms
 * awaited before the batch resolves (so before the offset commits). At least once: a message confirmed
 * but not committed is published again, under the same `message-id`.
 */
export const rabbitmqSinkSchema = z
  .object({
    type: z.literal('rabbitmq'),
    /** The body of each message: our envelope as captured, or Debezium's PostgreSQL connector value (docs/envelope.md). */
    envelope: envelopeFormatSchema,
    /** `amqp://user:password@host:port/vhost` or `amqps://`; the password is a write-only secret. */
    url: z
      .string()
      .regex(/^amqps?:\/\//i, 'must be an amqp:// or amqps:// URL')
      .refine((u) => {
        try {
          new URL(u);
          return true;
        } catch {
          return false;
        }
      }, 'is not a valid URL (percent-encode special characters in the password, e.g. # as %23)'),
    exchange: z.string().regex(/^[A-Za-z0-9_.:-]{1,255}$/, 'must be 1-255 letters, digits, dots, dashes, colons or underscores'),
    exchangeType: z.enum(['topic', 'direct', 'fanout', 'headers']).default('topic'),
    /** true: declared (durable) at start; false: only checked, and a missing exchange is an error. */
    declare: z.boolean().default(true),
    routingKey: z.string().min(1).max(255).default('{source}.{schema}.{table}.{op}').superRefine(knownTemplateFields),
    /** The most messages one delivery publishes before it waits for their confirms. */
    batchSize: z.number().int().min(1).max(10_000).default(1_000),
    /** Connecting and waiting for confirms: longer fails the attempt (and it is retried). */
    timeoutMs: z.number().int().min(100).max(300_000).default(10_000),
  })
  .strict();

export type RabbitmqSinkConfig = z.infer<typeof rabbitmqSinkSchema>;
