import type { RowBatch, RowBatchFormat } from '@tributary/topic-log';
import type { CopyRows } from './copy-rows';

/**
 * What a streamed change says about its key's large values: for an update, the columns it left out
 * (`unchanged_toast`, often none); null for an insert, a delete or a truncate.
 */
export type Unchanged = readonly string[] | null;

/**
 * The large values a chunk must still emit for the keys it leaves to the stream (docs/snapshots.md,
 * "Large values at the seam").
 *
 * A chunk row of key k read in snapshot S is dropped when a transaction S did not see changed k before
 * the high watermark H. Such an update may leave out a large column c (`unchanged_toast`): c is as it
 * was before that update, but no message in the topic may say what that was, and a sink that never had
 * the row lacks it. Which value is right at H:
 *
 * - The changes of k are ordered like their transactions' commits, and a transaction that changes k
 *   after another has to wait for the other's row lock, which is released only once the other is
 *   visible to new snapshots. So the changes S saw are a prefix of k's history, the ones it did not see
 *   (those that drop the row, all seen by the session in the window or the ring) the rest up to H, and
 *   the chunk row is k's state just before the first of these.
 * - If every one of these is an update that lists c as unchanged, c is at H what it was in that state:
 *   the chunk row's c. So the row's values of exactly those columns (listed by each unseen update of k)
 *   are emitted at H, as an `r` message with only them and the key in `after` and every other column in
 *   `unchanged_toast` (their latest values are the window's changes'). A sink applying it after those
 *   changes holds k's state at H.
 * - A column one of these changes carried (changed, or sent anyway) is not the chunk row's any more: its
 *   value at H is the latest change's that carried it, already in the topic. The row is not used for it.
 * - After an insert, a delete or a truncate the chunk row no longer describes k (an insert of k can only
 *   follow a delete of it); an insert carries every column, except the insert half of a key change,
 *   whose large values belong to the old key's row: that case stays a known limit.
 *
 * Changes S saw are in the chunk row already and do not count.
 */
export class ToastFills {
  /** Per key: the columns every unseen change so far left out, or null once none can be filled. */
  private readonly fills = new Map<string, Set<string> | null>();

  /** A change of `key` by a transaction the chunk's snapshot did not see (window and ring may repeat one). */
  note(key: string, unchanged: Unchanged): void {
    const known = this.fills.get(key);
    if (known === null) return;
    if (unchanged === null || unchanged.length === 0) this.fills.set(key, null);
    else if (known === undefined) this.fills.set(key, new Set(unchanged));
    else for (const c of known) if (!unchanged.includes(c)) known.delete(c);
  }

  /** The columns of `key`'s chunk row to emit, if any. */
  columns(key: string): Set<string> | undefined {
    const found = this.fills.get(key);
    return found && found.size ? found : undefined;
  }
}

/**
 * The `r` messages completing dropped rows: for each `{ row, columns }`, the key and those columns of
 * the chunk's row, the other columns listed as unchanged. One batch per set of columns and partition;
 * `seq` goes on from `firstSeq`.
 */
export function toastBatches(
  rows: CopyRows,
  hashes: Int32Array,
  fills: { row: number; columns: Set<string> }[],
  format: RowBatchFormat,
  partitions: number,
  topic: string,
  firstSeq: number,
): RowBatch[] {
  const { columns, keyIndexes } = format;
  const groups = new Map<string, { kept: number[]; lines: string[][] }>();
  let seq = firstSeq;
  for (const { row, columns: names } of fills) {
    // In table order: the key's columns and the filled ones.
    const kept = columns.flatMap((c, i) => (keyIndexes.includes(i) || names.has(c.name) ? [i] : []));
    const id = kept.join(',');
    let group = groups.get(id);
    if (!group) groups.set(id, (group = { kept, lines: Array.from({ length: partitions }, () => []) }));
    const fields = rows.leadingFields(row, columns.length);
    group.lines[hashes[row] % partitions].push(`${seq++}\t${kept.map((i) => fields[i]).join('\t')}`);
  }
  const batches: RowBatch[] = [];
  for (const { kept, lines } of groups.values()) {
    const shape: RowBatchFormat = {
      ...format,
      columns: kept.map((i) => columns[i]),
      keyIndexes: keyIndexes.map((i) => kept.indexOf(i)),
      unchanged: columns.filter((_, i) => !kept.includes(i)).map((c) => c.name),
    };
    lines.forEach((part, partition) => {
      if (part.length) batches.push({ topic, partition, rows: Buffer.from(part.join('\n')), count: part.length, format: shape });
    });
  }
  return batches;
}
