import { formatCount } from './format';

/** One partition's answer to a dry-run reset: what would be delivered again (negative: skipped). */
export interface ResetPreview {
  topic: string;
  partition: number;
  committedOffset: string;
  newOffset: string;
  redelivered: number | string;
}

/** The confirmation's text: what a reset would redeliver or skip, per partition and in total. */
export function describeReset(preview: ResetPreview[]): string {
  if (!preview.length) return 'No partition would move.';
  let total = 0n;
  const lines = preview.map((p) => {
    const n = BigInt(p.redelivered);
    total += n;
    const what =
      n > 0n ? `${formatCount(n.toString())} delivered again` : n < 0n ? `${formatCount((-n).toString())} skipped` : 'unchanged';
    return `${p.topic}[${p.partition}]: ${p.committedOffset} → ${p.newOffset} (${what})`;
  });
  const sum =
    total > 0n
      ? `${formatCount(total.toString())} messages will be delivered again`
      : total < 0n
        ? `${formatCount((-total).toString())} messages will be skipped`
        : 'nothing is redelivered';
  return `${sum}:\n${lines.join('\n')}\n\nReset the offsets?`;
}

/**
 * The per-partition rows of a dry-run answer: the rows themselves, or the first array of them in the
 * answer object (`resets`, `partitions`); undefined when the answer holds none (an API without dry runs).
 */
export function previewRows(answer: unknown): ResetPreview[] | undefined {
  const isRow = (r: unknown): boolean => typeof r === 'object' && r !== null && 'partition' in r && 'redelivered' in r;
  const rows = (list: unknown): ResetPreview[] | undefined =>
    Array.isArray(list) && list.every(isRow) ? (list as ResetPreview[]) : undefined;
  if (Array.isArray(answer)) return rows(answer);
  if (typeof answer !== 'object' || answer === null) return undefined;
  for (const value of Object.values(answer)) if (Array.isArray(value)) return rows(value);
  return undefined;
}
