/**
 * Messages per batch of a `postgres` or `mysql` group unless configured. Each batch is one target
 * transaction (one commit, one offset row, one prepared statement per table and column set), so the
 * per-batch cost is paid 4 times less often than at the general default of 500: `bench:sink` applied
 * 1.5-2× the rows/s at 2,000 than at 500 on both targets (docs/benchmarks.md), and an initial snapshot
 * arrives in batches that fill up. A batch is never waited for: a partition with 3 new messages delivers
 * 3, so the larger ceiling adds no latency.
 */
export const DATABASE_SINK_DEFAULT_BATCH_SIZE = 2_000;

/** Target sessions (deliver calls on different partitions in flight) of a database sink unless configured. */
export const DATABASE_SINK_DEFAULT_CONCURRENCY = 4;

/** Input preprocessing for a group: a database sink group's `batchSize` defaults to DATABASE_SINK_DEFAULT_BATCH_SIZE. */
export function databaseGroupDefaults(input: unknown): unknown {
  if (!isObject(input) || !isObject(input.sink)) return input;
  if (input.sink.type !== 'postgres' && input.sink.type !== 'mysql') return input;
  return { ...input, batchSize: input.batchSize ?? DATABASE_SINK_DEFAULT_BATCH_SIZE };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
