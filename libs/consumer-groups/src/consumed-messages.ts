import type { ConsumedMessage } from '@tributary/sink-contract';
import { unpackBatches } from '@tributary/topic-log';

/** Messages of batch rows (BATCH_COLUMNS plus the topic's partition count) as consumers get them. */
export function consumed(rows: Record<string, unknown>[], keep: (offset: bigint) => boolean): ConsumedMessage[] {
  const partitions = rows.length ? (rows[0].partitions as number) : 0;
  const topicIncarnation = rows.length ? ((rows[0].topic_incarnation as string | null) ?? undefined) : undefined;
  return unpackBatches(rows, keep).map((m) => {
    // A snapshot row's message is kept as it is (its envelope is rendered only when read): one object per row.
    if (m.snapshotRow) return Object.assign(m, { partitions, topicIncarnation });
    const { topic, partition, offset, key, envelope, appendedAt } = m;
    return { topic, partition, offset, key, envelope, appendedAt, partitions, topicIncarnation };
  });
}
