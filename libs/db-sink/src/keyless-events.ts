import type { SinkEvent } from '@tributary/sink-contract';

/** An update or delete of a keyless table that the sink skipped. */
export interface SkippedChange {
  source: { schema: string; table: string };
  op: 'u' | 'd';
  offset: bigint;
  /** noOldRow: the message has no old row to find; unmatched: no target row equals it. */
  reason: 'noOldRow' | 'unmatched';
}

export const KEYLESS_CHANGE_SKIPPED = 'keyless_change_skipped';

/** One event per source table and reason, naming the offsets and the fix. */
export function keylessEvents(topic: string, partition: number, skipped: SkippedChange[]): SinkEvent[] {
  const byCause = new Map<string, SkippedChange[]>();
  for (const s of skipped) {
    const cause = JSON.stringify([s.source.schema, s.source.table, s.reason]);
    byCause.set(cause, [...(byCause.get(cause) ?? []), s]);
  }
  return [...byCause.values()].map((group) => ({
    topic,
    partition,
    kind: KEYLESS_CHANGE_SKIPPED,
    detail: describe(group),
  }));
}

function describe(group: SkippedChange[]): string {
  const { source, reason } = group[0];
  const quoted = `"${source.schema.replace(/"/g, '""')}"."${source.table.replace(/"/g, '""')}"`;
  const offsets =
    group.length === 1 ? `offset ${group[0].offset}` : `offsets ${group[0].offset}..${group[group.length - 1].offset}`;
  const what =
    `${count(group, 'u', 'update')}${group.some((s) => s.op === 'u') && group.some((s) => s.op === 'd') ? ' and ' : ''}` +
    `${count(group, 'd', 'delete')} of ${source.schema}.${source.table} (no primary key; ${offsets}) not applied`;
  if (reason === 'noOldRow') {
    return (
      `${what}: the messages carry no old row to find in the target, since the table's replica identity is not FULL. ` +
      `Fix: ALTER TABLE ${quoted} REPLICA IDENTITY FULL on the source (or add a primary key); rows changed before that may differ in the target`
    );
  }
  return (
    `${what}: no row of the target table equals the old row, so the target already differed from the source ` +
    `(a row changed outside the sink, or an earlier change not applied). Fix: make sure ALTER TABLE ${quoted} REPLICA IDENTITY FULL ` +
    `holds on the source, then re-create the target table from the source`
  );
}

function count(group: SkippedChange[], op: 'u' | 'd', noun: string): string {
  const n = group.filter((s) => s.op === op).length;
  return n === 0 ? '' : `${n} ${noun}${n === 1 ? '' : 's'}`;
}
