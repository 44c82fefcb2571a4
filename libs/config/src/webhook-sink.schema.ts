import { z } from 'zod';
import { envelopeFormatSchema } from './envelope-format';

/** The operations a subscription can ask for: create, update, delete, truncate, read (snapshot). */
export const WEBHOOK_OPERATIONS = ['c', 'u', 'd', 't', 'r'] as const;
export type WebhookOperation = (typeof WEBHOOK_OPERATIONS)[number];

/**
 * Retry schedule of webhook groups when their `retry` block leaves it out: 16 attempts with backoff from
 * 1 s doubling to 1 h (full jitter in [base/2, base]), so a message is given up on after 2.6 to 5.1 hours.
 */
export const WEBHOOK_RETRY_DEFAULTS = { maxAttempts: 16, initialBackoffMs: 1_000, maxBackoffMs: 3_600_000 } as const;

/** `whsec_` + base64 of 16 to 64 random bytes (the Standard Webhooks secret format). */
const SECRET = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be "whsec_" followed by base64')
  .refine((s) => {
    const bytes = Buffer.from(s.slice('whsec_'.length), 'base64').length;
    return bytes >= 16 && bytes <= 64;
  }, 'must encode 16 to 64 bytes');

/** Headers the sender owns: the signature set, framing and routing. */
const RESERVED_HEADERS =
  /^(webhook-.*|tributary-.*|content-type|content-length|transfer-encoding|connection|host|keep-alive|upgrade|te|trailer)$/i;

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
/** Column name -> wanted value (or any of a list of values). */
const columnMatch = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/), z.union([scalar, z.array(scalar).min(1)]));

export const webhookSinkSchema = z
  .object({
    type: z.literal('webhook'),
    url: z
      .string()
      .url('must be an http:// or https:// URL')
      .regex(/^https?:\/\//i, 'must be an http:// or https:// URL'),
    /** Operations delivered; the others are skipped (and acknowledged). */
    operations: z
      .array(z.enum(WEBHOOK_OPERATIONS))
      .min(1)
      .default([...WEBHOOK_OPERATIONS]),
    /** Only messages whose row values equal these (all of them) are delivered. */
    filter: z.object({ after: columnMatch.optional(), before: columnMatch.optional() }).strict().optional(),
    /** The body's shape: our envelope, or Debezium's (docs/webhooks.md); the signature covers what is sent. */
    envelope: envelopeFormatSchema,
    /** 1: one message per request, its envelope as the body. More: up to this many, as a JSON array. */
    batchSize: z.number().int().min(1).max(1_000).default(1),
    timeoutMs: z.number().int().min(100).max(300_000).default(10_000),
    /** Requests per second at most (per subscription, in each worker process); unlimited when left out. */
    rateLimitPerSecond: z.number().positive().max(100_000).optional(),
    headers: z
      .record(
        z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP header name'),
        z.string().regex(/^[^\r\n]*$/, 'must be one line'),
      )
      .superRefine((headers, ctx) => {
        for (const name of Object.keys(headers)) {
          if (RESERVED_HEADERS.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'is set by Tributary' });
        }
      })
      .default({}),
    /** One secret, or two while rotating (both signatures are sent). */
    secrets: z.array(SECRET).min(1).max(2),
    /** Deliver to loopback, private and link-local addresses. Default: false (true with the embedded database). */
    allowPrivateNetworks: z.boolean().optional(),
    /**
     * Consecutive failed requests that pause the endpoint; it is probed after a cooldown that doubles up to the
     * max. Short by default (0.5 s doubling to 1 s): a probe is one of the waiting messages' requests, so a dead
     * endpoint sees one request a second per subscription and worker process, and a healed one gets its backlog
     * within a second (bench:fanout: 12,000 messages behind need ≤ 4 s for 3,000 messages/s, of which the
     * deliveries take about 2.5; a 5 s max cost 2.5 s on average before the first one).
     */
    circuitBreaker: z
      .object({
        failureThreshold: z.number().int().min(1).max(1_000).default(5),
        cooldownMs: z.number().int().min(10).max(3_600_000).default(500),
        maxCooldownMs: z.number().int().min(10).max(86_400_000).default(1_000),
      })
      .strict()
      .default({ failureThreshold: 5, cooldownMs: 500, maxCooldownMs: 1_000 }),
    /** How long the attempt log of this subscription is kept. */
    attemptLogRetentionMs: z
      .number()
      .int()
      .min(60_000)
      .default(3 * 24 * 3_600_000),
  })
  .strict();

export type WebhookSinkConfig = z.infer<typeof webhookSinkSchema>;

/**
 * In-process members of a webhook group unless configured: with a member per partition (topics have 4
 * by default), a message stuck in retries holds up only its own partition, not the subscription's others.
 */
export const WEBHOOK_DEFAULT_MEMBERS = 4;

/**
 * Input preprocessing for a group: a webhook group's `retry` block defaults to the webhook schedule
 * (keys given in the file win), `members` to WEBHOOK_DEFAULT_MEMBERS, and `secret: whsec_…` is accepted
 * for `secrets: [whsec_…]`.
 */
export function webhookGroupDefaults(input: unknown): unknown {
  if (!isObject(input) || !isObject(input.sink) || input.sink.type !== 'webhook') return input;
  const sink = { ...input.sink };
  if (sink.secret !== undefined && sink.secrets === undefined) {
    sink.secrets = [sink.secret];
    delete sink.secret;
  }
  const retry = isObject(input.retry) ? input.retry : input.retry === undefined ? {} : input.retry;
  return {
    ...input,
    sink,
    members: input.members ?? WEBHOOK_DEFAULT_MEMBERS,
    retry: isObject(retry) ? { ...WEBHOOK_RETRY_DEFAULTS, ...retry } : retry,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
