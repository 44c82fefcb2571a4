import { z } from 'zod';
import { envelopeFormatSchema } from './envelope-format';

/** The variables a subject template may use; `{source}`, `{schema}` and `{table}` are the parts of the topic's name. */
export const NATS_SUBJECT_VARIABLES = ['topic', 'source', 'schema', 'table', 'partition'] as const;

export const NATS_DEFAULT_SUBJECT = 'tributary.{source}.{schema}.{table}.{partition}';

const TOKEN = /^(?:[A-Za-z0-9_-]|\{(?:topic|source|schema|table|partition)\})+$/;
const LITERAL = /^[A-Za-z0-9_-]+$/;
/** A stream subject filter: literal tokens, `*` for one token, `>` as the last one. */
const FILTER = /^(?:[A-Za-z0-9_-]+|\*)(?:\.(?:[A-Za-z0-9_-]+|\*))*(?:\.>)?$|^>$/;

/**
 * Why a subject template is refused, or undefined. Exactly once rests on each subject holding one
 * partition of one topic (the stream's last message on it says where that partition is), so a template
 * must name the partition and the whole topic, and start with a literal token (the stream's subjects).
 */
export function subjectTemplateProblem(template: string): string | undefined {
  const tokens = template.split('.');
  if (tokens.some((t) => !TOKEN.test(t)))
    return `must be dot-separated tokens of letters, digits, _ and -, with variables among {${NATS_SUBJECT_VARIABLES.join('}, {')}}`;
  if (!LITERAL.test(tokens[0])) return 'must start with a literal token (the stream takes "<that token>.>")';
  if (!template.includes('{partition}')) return 'must contain {partition}: each subject holds one partition';
  const wholeTopic = template.includes('{topic}') || ['{source}', '{schema}', '{table}'].every((v) => template.includes(v));
  if (!wholeTopic) return 'must contain {topic}, or {source}, {schema} and {table}: each subject holds one topic';
  return undefined;
}

/** The subjects a stream needs for a template: its literal leading tokens, then `>`. */
export function streamSubjectsFor(template: string): string {
  const tokens = template.split('.');
  const literal: string[] = [];
  for (const t of tokens) {
    if (!LITERAL.test(t)) break;
    literal.push(t);
  }
  return `${literal.join('.')}.>`;
}

/**
 * `sink.type: nats`: NATS JetStream. The URL carries the credentials (`nats://user:password@host:4222`,
 * or `?token=`); `tls://` or `?tls=true` for TLS. The URL is a write-only secret.
 */
export const natsSinkSchema = z
  .object({
    type: z.literal('nats'),
    /** The body of each message: our envelope as captured, or Debezium's PostgreSQL connector value (docs/envelope.md). */
    envelope: envelopeFormatSchema,
    url: z
      .string()
      .regex(/^(nats|tls):\/\/[^\s]+$/, 'must be a nats:// or tls:// URL')
      .refine(isNatsUrl, { message: 'is not a valid NATS URL (host and optional port, no path)' })
      .superRefine((url, ctx) => {
        const problem = natsUrlCredentialProblem(url);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    /** The JetStream stream the subjects belong to: created at start unless `createStream` is false. */
    stream: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -')
      .default('TRIBUTARY'),
    subject: z
      .string()
      .max(255)
      .superRefine((t, ctx) => {
        const problem = subjectTemplateProblem(t);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default(NATS_DEFAULT_SUBJECT),
    /** The stream's subjects when it is created; default: the template's literal prefix and `>`. */
    streamSubjects: z.array(z.string().regex(FILTER, 'must be a subject filter such as "tributary.>"')).min(1).optional(),
    /** false: the stream must exist (made by its operator); it is only checked. */
    createStream: z.boolean().default(true),
    replicas: z.number().int().min(1).max(5).default(1),
    /** `limits` keeps messages until max age; `interest`/`workqueue` delete consumed ones (see docs/sinks.md). */
    retention: z.enum(['limits', 'interest', 'workqueue']).default('limits'),
    /** How long the stream keeps a message; 0: until removed by other limits. */
    maxAgeMs: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    /** The stream's `Nats-Msg-Id` duplicate window. */
    duplicateWindowMs: z.number().int().min(100).max(86_400_000).default(120_000),
    /** Messages one deliver call publishes at most. */
    batchSize: z.number().int().min(1).max(10_000).default(500),
    /** Partitions published to at once per member (each partition's messages one after the other). */
    concurrency: z.number().int().min(1).max(64).default(8),
    /** How long a publish waits for the stream's acknowledgement before the attempt fails (and is retried). */
    publishTimeoutMs: z.number().int().min(100).max(300_000).default(10_000),
    connectTimeoutMs: z.number().int().min(100).max(300_000).default(5_000),
  })
  .strict();

export type NatsSinkConfig = z.infer<typeof natsSinkSchema>;

function isNatsUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.hostname !== '' && (url.pathname === '' || url.pathname === '/');
  } catch {
    return false;
  }
}

/** A user name alone would be a token in the clear (URL redaction masks passwords and `token=`, not user names). */
export function natsUrlCredentialProblem(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.username && !url.password) return 'a user needs a password (nats://user:password@host); give a token as ?token=';
    const unknown = [...url.searchParams.keys()].filter((k) => k !== 'token' && k !== 'tls');
    if (unknown.length) return `unknown query parameter(s) ${unknown.join(', ')}: only token and tls`;
    const tls = url.searchParams.get('tls');
    if (tls !== null && tls !== 'true' && tls !== 'false') return 'tls must be true or false';
    return undefined;
  } catch {
    return undefined; // the refine above reports it
  }
}
