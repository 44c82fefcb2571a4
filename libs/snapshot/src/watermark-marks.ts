/** Prefix of the logical decoding messages (`pg_logical_emit_message`) that delimit a snapshot chunk. */
export const WATERMARK_PREFIX = 'tributary.watermark';

/**
 * A watermark as written into the source's WAL. `low` opens a chunk's window, `high` closes it (the
 * chunk's rows are emitted there), `abort` closes it without rows (the chunk could not be read).
 */
export interface WatermarkMark {
  backfill: number;
  /** The snapshotter run that wrote it; marks of other runs (from before a restart) are ignored. */
  run: string;
  chunk: number;
  mark: 'low' | 'high' | 'abort';
  /** pg_class oid of the table. */
  table: number;
}

export function encodeMark(mark: WatermarkMark): string {
  return JSON.stringify(mark);
}

/** The mark, or undefined if the content is not one of ours. */
export function parseMark(content: Buffer | string): WatermarkMark | undefined {
  try {
    const m = JSON.parse(typeof content === 'string' ? content : content.toString('utf8')) as Partial<WatermarkMark>;
    if (
      typeof m.backfill === 'number' &&
      typeof m.run === 'string' &&
      typeof m.chunk === 'number' &&
      typeof m.table === 'number' &&
      (m.mark === 'low' || m.mark === 'high' || m.mark === 'abort')
    ) {
      return m as WatermarkMark;
    }
  } catch {
    // not JSON: not ours
  }
  return undefined;
}
