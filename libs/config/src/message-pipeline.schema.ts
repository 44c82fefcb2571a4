import { z } from 'zod';
import { compileFunctionSource } from './transform-source';

/** The operations of an envelope: create, update, delete, truncate, read (snapshot). */
export const OPERATIONS = ['c', 'u', 'd', 't', 'r'] as const;

/** `after.total`, `before.meta.address.city`, `source.table`, `op`: a path into the envelope, dot-separated. */
const PATH = z
  .string()
  .regex(/^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z0-9_$-]+)*$/, 'must be a dot-separated path into the envelope, e.g. after.status');
const COLUMN = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/, 'must be a column name');
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const comparable = z.union([z.string(), z.number()]);

/** One condition on a value of the envelope; every condition of a filter must hold. */
const conditionSchema = z
  .object({
    path: PATH,
    equals: scalar.optional(),
    notEquals: scalar.optional(),
    in: z.array(scalar).min(1).optional(),
    notIn: z.array(scalar).min(1).optional(),
    gt: comparable.optional(),
    gte: comparable.optional(),
    lt: comparable.optional(),
    lte: comparable.optional(),
    isNull: z.boolean().optional(),
  })
  .strict()
  .refine((c) => Object.keys(c).length > 1, 'needs a test: equals, notEquals, in, notIn, gt, gte, lt, lte or isNull');

/** Which messages a group delivers; the others are skipped and acknowledged (the committed offset passes them). */
export const messageFilterSchema = z
  .object({
    operations: z.array(z.enum(OPERATIONS)).min(1).optional(),
    /** `schema.table`, or `schema.*`; the message's source table must be one of them. */
    tables: z
      .array(z.string().regex(/^[^.\s]+\.[^.\s]+$/, 'must be schema.table or schema.*'))
      .min(1)
      .optional(),
    where: z.array(conditionSchema).min(1).optional(),
  })
  .strict();

/** Built-in transforms, applied in order before the group's `transform` function. */
export const builtinTransformSchema = z.discriminatedUnion('type', [
  /** Replaces the columns' values (in before and after) with `with` (default "****"); null stays null. */
  z
    .object({
      type: z.literal('mask'),
      columns: z.array(COLUMN).min(1),
      with: z
        .string()
        .max(200)
        .regex(/^[^\ue000]*$/, 'must not hold U+E000')
        .default('****'),
    })
    .strict(),
  /** Replaces the columns' values with the hex HMAC-SHA256 of their text under `key` (write-only), so equal values stay joinable. */
  z
    .object({
      type: z.literal('hash'),
      columns: z.array(COLUMN).min(1),
      key: z.string().min(16, 'must be at least 16 characters'),
    })
    .strict(),
  z.object({ type: z.literal('drop'), columns: z.array(COLUMN).min(1) }).strict(),
  z
    .object({ type: z.literal('rename'), columns: z.record(COLUMN, COLUMN) })
    .strict()
    .refine((r) => Object.keys(r.columns).length > 0, 'must rename at least one column'),
  /** Adds `__<field>` columns to the rows from the envelope: op, source name, schema, table, lsn, ts_ms. */
  z
    .object({
      type: z.literal('addSource'),
      fields: z
        .array(z.enum(['op', 'name', 'schema', 'table', 'lsn', 'ts_ms']))
        .min(1)
        .default(['op', 'table', 'lsn', 'ts_ms']),
    })
    .strict(),
  /**
   * Debezium's ExtractNewRecordState: the message becomes the row itself (`after`, or `before` with
   * `__deleted: true` for a delete); truncates are dropped. For broker and webhook sinks, not database sinks.
   */
  z.object({ type: z.literal('flatten') }).strict(),
]);

/** JavaScript or TypeScript; must compile. */
const functionSource = z
  .string()
  .min(1)
  .max(100_000)
  .superRefine((source, ctx) => {
    const compiled = compileFunctionSource(source);
    if ('error' in compiled) ctx.addIssue({ code: 'custom', message: `does not compile: ${compiled.error}` });
  });

/** A template (`{schema}.{table}_archive`, `{op}`, `{topic}`, `{after.tenant}`…) or a function. */
export const routeSchema = z.union([
  z
    .string()
    .min(1)
    .max(500)
    .regex(/^([^{}]|\{[A-Za-z_][A-Za-z0-9_.]*\})+$/, 'must be a template such as "{schema}.{table}_archive"'),
  z.object({ function: functionSource }).strict(),
]);

/** The sandbox's limits for each call of a group's functions. */
export const transformLimitsSchema = z
  .object({
    /** CPU time of one call; a longer call is interrupted and fails like a sink error (retry, then onFailure). */
    timeoutMs: z.number().int().min(1).max(10_000).default(100),
    /** Memory of the member's sandbox; a call that allocates past it fails. */
    memoryMb: z.number().int().min(4).max(1_024).default(64),
  })
  .strict();

/** The group-level keys of the message pipeline (filter, transforms, transform, route), merged into groupSchema. */
export const pipelineKeys = {
  filter: messageFilterSchema.optional(),
  transforms: z.array(builtinTransformSchema).max(50).optional(),
  transform: functionSource.optional(),
  route: routeSchema.optional(),
  transformLimits: transformLimitsSchema.optional(),
};

export type MessageFilterConfig = z.infer<typeof messageFilterSchema>;
export type FilterCondition = z.infer<typeof conditionSchema>;
export type BuiltinTransform = z.infer<typeof builtinTransformSchema>;
export type RouteConfig = z.infer<typeof routeSchema>;
export type TransformLimits = z.infer<typeof transformLimitsSchema>;
