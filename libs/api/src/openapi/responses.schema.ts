import { z } from 'zod';

/**
 * What the routes answer, for the OpenAPI document (generated clients). Fields named here are always
 * present; objects are open (`looseObject`) where an answer carries more than a client needs to rely on,
 * such as a spec echoed back as it was stored.
 */
const offset = z.string().describe('a decimal int8: offsets and ids keep every digit as strings');
const time = z.string().describe('ISO 8601');

export const topicInfo = z.object({
  name: z.string(),
  partitions: z.number().int(),
  retentionMs: z.number().int().nullable(),
  retentionBytes: z.number().int().nullable(),
  createdAt: time,
});
export const topicWithOffsets = topicInfo.extend({ offsets: z.unknown() });
export const messagesPage = z.object({
  messages: z.array(z.looseObject({ offset, partition: z.number().int(), envelope: z.unknown() })),
  nextOffset: offset,
});

export const deadLetter = z.object({
  id: offset,
  group: z.string(),
  topic: z.string(),
  partition: z.number().int(),
  offset,
  key: z.string().nullable(),
  error: z.string(),
  attempts: z.number().int(),
  createdAt: time,
  envelope: z.unknown().optional(),
});
export const replayResult = z.object({
  selected: z.number().int(),
  delivered: z.number().int(),
  skipped: z.number().int(),
  failed: z.array(z.object({ topic: z.string(), partition: z.number().int(), offset, error: z.string() })),
  resolvedDeadLetters: z.array(offset),
});

const attempt = z.looseObject({
  id: offset,
  webhookId: z.string(),
  topic: z.string(),
  partition: z.number().int(),
  firstOffset: offset,
  lastOffset: offset,
  attempt: z.number().int(),
  status: z.number().int().nullable(),
  error: z.string().nullable(),
});
export const attempts = z.object({ status: z.unknown(), attempts: z.array(attempt) });
export const webhookDeadLetters = z.array(
  z.looseObject({
    id: offset,
    topic: z.string(),
    partition: z.number().int(),
    offset,
    error: z.string(),
    attemptLog: z.array(attempt),
  }),
);
export const webhookStatus = z.object({
  url: z.string(),
  status: z.enum(['active', 'paused', 'disabled']),
  detail: z.string().nullable(),
  updatedAt: time.nullable(),
  operations: z.array(z.string()),
  batchSize: z.number().int(),
  secrets: z.number().int(),
});
export const pingResult = z.object({
  webhookId: z.string(),
  ok: z.boolean(),
  status: z.number().int().nullable(),
  latencyMs: z.number(),
  error: z.string().nullable(),
});
export const secretRotation = z.object({
  secret: z.string().optional(),
  secretCount: z.number().int(),
  version: z.number().int(),
});

const tokenInfo = z.object({
  id: offset,
  name: z.string(),
  role: z.enum(['admin', 'read', 'consumer']),
  createdAt: time,
  lastUsedAt: time.nullable(),
});
export const tokenList = z.array(tokenInfo);
export const tokenCreated = tokenInfo.extend({ token: z.string().describe('shown this once') });

export const applyResult = z.object({
  changes: z.array(
    z.object({
      action: z.enum(['create', 'update', 'delete', 'unchanged', 'conflict']),
      kind: z.enum(['source', 'topic', 'group']),
      name: z.string(),
      detail: z.string(),
    }),
  ),
  applied: z.boolean(),
  generatedSecrets: z.array(z.object({ group: z.string(), secret: z.string() })),
});
export const configDocument = z.object({
  sources: z.array(z.unknown()),
  topics: z.array(topicInfo.omit({ createdAt: true })),
  groups: z.array(z.unknown()),
});

/** A source as stored (password masked), with its catalog version and capture state. */
export const source = z.looseObject({
  name: z.string(),
  tables: z.array(z.unknown()),
  slot: z.string(),
  publication: z.string(),
  version: z.number().int(),
  managedBy: z.enum(['api', 'file']),
  checkpointLsn: z.string().nullable(),
});
/** A group as stored (secrets left out), with its catalog version and state. */
export const group = z.looseObject({ name: z.string(), topics: z.array(z.string()), version: z.number().int() });
export const groupList = z.array(z.looseObject({ name: z.string() }));
export const pauseState = z.object({ group: z.string(), paused: z.boolean() });
export const offsetResets = z.object({
  group: z.string(),
  dryRun: z.boolean(),
  resets: z.array(
    z.looseObject({
      topic: z.string(),
      partition: z.number().int(),
      committedOffset: offset,
      newOffset: offset,
      redelivered: z.number().int().describe('messages delivered again by the reset; negative: skipped'),
    }),
  ),
});
export const groupEvents = z.array(z.looseObject({ kind: z.string().optional(), createdAt: time.optional() }));
export const sinkList = z.array(z.looseObject({ group: z.string() }));

export const pullJoined = z.looseObject({ memberId: z.string() });
export const pullBatch = z.looseObject({
  messages: z.array(z.looseObject({ topic: z.string(), partition: z.number().int(), offset })),
});
const partitionOffset = z.object({ topic: z.string(), partition: z.number().int(), offset });
export const ackResult = z.object({
  acked: z.array(partitionOffset),
  rejected: z.array(partitionOffset.extend({ reason: z.string() })),
  committed: z.array(z.object({ topic: z.string(), partition: z.number().int(), nextOffset: offset })),
});
export const nackResult = z.object({ nacked: z.number().int() });

export const backfill = z.looseObject({
  id: z.number().int(),
  source: z.string(),
  table: z.string(),
  status: z.string(),
  rowsDone: z.number().int(),
  percent: z.number().nullable(),
});

export const health = z.object({ status: z.string() });
export const readiness = z.looseObject({ status: z.string() });
export const resync = z.object({
  source: z.string(),
  slot: z.string(),
  consistentLsn: z.string(),
  tables: z.array(z.string()),
  cancelledBackfills: z.number().int(),
});
export const text = z.string();
export const topicList = z.array(topicInfo);
export const deadLetterList = z.array(deadLetter);
export const sourceList = z.array(source);
export const backfillList = z.array(backfill);
export const openApiDocument = z.looseObject({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) });

const rates = z.array(z.number().nullable()).describe('one value per timestamp; null: no sample');
export const statsSeries = z.object({
  window: z.enum(['15m', '1h', '6h', '24h']),
  stepSeconds: z.number().int(),
  from: time,
  to: time,
  timestamps: z.array(z.number().int()).describe('epoch ms of each step, oldest first'),
  sources: z.record(z.string(), z.object({ appended: rates.describe('messages/s appended') })),
  groups: z.record(
    z.string(),
    z.object({ delivered: rates.describe('messages/s'), lag: rates.describe('messages behind, max in the step') }),
  ),
});
/** One `event: stats` of GET /api/v1/stats/live (its `data:` line). */
export const liveStats = z.object({
  at: time,
  sources: z.array(
    z.object({
      name: z.string(),
      state: z.string(),
      slotLagBytes: z.number().nullable(),
      lastCommitAt: time.nullable(),
      appendedPerSec: z.number().nullable(),
      lastError: z.string().nullable(),
    }),
  ),
  groups: z.array(
    z.object({
      name: z.string(),
      sinkType: z.string(),
      lag: z.number(),
      deliveredPerSec: z.number().nullable(),
      blockedPartitions: z.number().int(),
      pausedPartitions: z.number().int(),
      errors: z.number().int(),
      reason: z.string().nullable(),
    }),
  ),
});
/** One `event: message` of GET /api/v1/topics/{name}/tail: an item of the messages page. */
export const tailMessage = z.looseObject({ offset, partition: z.number().int(), envelope: z.unknown() });
