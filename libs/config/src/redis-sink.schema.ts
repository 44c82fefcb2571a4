import { z } from 'zod';
import { envelopeFormatSchema } from './envelope-format';
import { parsesAsUrl, URL_PARSE_ERROR } from './url-shape';

/** What a stream key or routing key template may name; every one comes from the message or its envelope. */
export const BROKER_TEMPLATE_FIELDS = ['topic', 'partition', 'source', 'schema', 'table', 'op'] as const;

/** The `{name}` placeholders of a template. */
export function templateFields(template: string): string[] {
  return [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]);
}

/** Refines a template: every placeholder is one of BROKER_TEMPLATE_FIELDS. */
export function knownTemplateFields(template: string, ctx: z.RefinementCtx): void {
  for (const name of templateFields(template)) {
    if (!(BROKER_TEMPLATE_FIELDS as readonly string[]).includes(name))
      ctx.addIssue({
        code: 'custom',
        message: `unknown placeholder {${name}}; use ${BROKER_TEMPLATE_FIELDS.map((f) => `{${f}}`).join(', ')}`,
      });
  }
}

/**
 * `sink.type: redis`: every message an entry of a Redis stream whose id is derived from its offset, so
 * Redis itself refuses a replay. The template must keep partitions (and topics) apart: entry ids of two
 * partitions in one stream would collide, and the sink refuses a stream another partition wrote to.
 */
export const redisSinkSchema = z
  .object({
    type: z.literal('redis'),
    /** The body of each message: our envelope as captured, or Debezium's PostgreSQL connector value (docs/envelope.md). */
    envelope: envelopeFormatSchema,
    /** `redis://[user:password@]host:port[/db]` or `rediss://` for TLS; the password is a write-only secret. */
    url: z
      .string()
      .regex(/^rediss?:\/\//i, 'must be a redis:// or rediss:// URL')
      .refine(parsesAsUrl, URL_PARSE_ERROR),
    streamKey: z
      .string()
      .min(1)
      .max(512)
      .default('tributary:{topic}:{partition}')
      .superRefine(knownTemplateFields)
      .refine((t) => templateFields(t).includes('partition'), 'must contain {partition}: each partition needs its own stream')
      .refine(
        (t) => ['topic', 'table'].some((f) => templateFields(t).includes(f)),
        'must contain {topic} or {table}: each topic needs its own stream',
      )
      .refine((t) => !templateFields(t).includes('op'), '{op} would split a partition by operation; not allowed'),
    /** Trims each stream to about this many entries (`XADD … MAXLEN ~`); left out: never trimmed. */
    maxLen: z.number().int().min(1).max(1_000_000_000).optional(),
    /** The most messages one delivery writes (the group's batchSize applies too). */
    batchSize: z.number().int().min(1).max(10_000).default(1_000),
    /** The most bytes of message bodies one round trip carries; a larger batch is written in several. */
    maxBatchBytes: z
      .number()
      .int()
      .min(1_024)
      .max(64 * 1_048_576)
      .default(1_048_576),
    /** With `rediss://`: the PEM certificate(s) of the CA that signed the server's certificate, when not a public one. */
    tls: z
      .object({
        ca: z
          .string()
          .regex(/-----BEGIN CERTIFICATE-----/, 'must be PEM certificate text')
          .optional(),
      })
      .strict()
      .optional(),
    /** Connecting and each command: longer fails the attempt (and it is retried). */
    timeoutMs: z.number().int().min(100).max(300_000).default(10_000),
  })
  .strict()
  .refine((s) => !s.tls || /^rediss:/i.test(s.url), { path: ['tls'], message: 'needs a rediss:// URL' });

export type RedisSinkConfig = z.infer<typeof redisSinkSchema>;
