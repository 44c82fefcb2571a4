/** Display formatting for the console: pure, so the pages show exactly what the tests check. */

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** 1536 → "1.5 kB" (powers of 1024, one decimal under 100, as slot lag is usually read). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '–';
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const sign = bytes < 0 ? '-' : '';
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${sign}${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** 12345 → "12,345"; offsets and lags arrive as numbers or as decimal strings (int8 keeps every digit). */
export function formatCount(n: number | string | null | undefined): string {
  if (n === null || n === undefined || n === '') return '–';
  const text = typeof n === 'number' ? (Number.isFinite(n) ? Math.round(n).toString() : '') : n;
  if (!/^-?\d+$/.test(text)) return '–';
  const negative = text.startsWith('-');
  const digits = negative ? text.slice(1) : text;
  return (negative ? '-' : '') + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Messages per second: "0/s", "0.4/s", "12/s", "1.2k/s". */
export function formatRate(perSec: number | null | undefined): string {
  if (perSec === null || perSec === undefined || !Number.isFinite(perSec)) return '–';
  if (perSec === 0) return '0/s';
  if (perSec < 10) return `${perSec.toFixed(1)}/s`;
  if (perSec < 1000) return `${Math.round(perSec)}/s`;
  if (perSec < 1_000_000) return `${(perSec / 1000).toFixed(1)}k/s`;
  return `${(perSec / 1_000_000).toFixed(1)}M/s`;
}

/** A duration in ms as the largest two units: "45 s", "3 min 20 s", "2 h 5 min", "3 d 4 h". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return s % 60 ? `${min} min ${s % 60} s` : `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** How long ago an ISO time was, relative to `now` (ms): "just now", "12 s ago", "never" for null. */
export function formatAgo(iso: string | null | undefined, now: number): string {
  if (!iso) return 'never';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return '–';
  const ms = now - at;
  if (ms < 1000) return 'just now';
  return `${formatDuration(ms)} ago`;
}

/**
 * Time left for a job that has done `percent` (0–100) since `startedAt`, at its average pace so far;
 * undefined when it cannot be told (no progress yet, no start time, done).
 */
export function estimateEta(
  percent: number | null | undefined,
  startedAt: string | null | undefined,
  now: number,
): number | undefined {
  if (percent === null || percent === undefined || !startedAt || percent <= 0 || percent >= 100) return undefined;
  const elapsed = now - Date.parse(startedAt);
  if (!Number.isFinite(elapsed) || elapsed <= 0) return undefined;
  return (elapsed * (100 - percent)) / percent;
}

/** One field of an update's row, before and after, for the side-by-side view. */
export interface FieldChange {
  field: string;
  before: string;
  after: string;
  changed: boolean;
}

/**
 * The columns of an envelope's `before` and `after` rows side by side, in the after row's column order
 * (then columns only the before row has); a value shown as JSON, missing as "". Empty for envelopes
 * without row images (truncates, messages).
 */
export function beforeAfter(envelope: unknown): FieldChange[] {
  if (!isRecord(envelope)) return [];
  const before = isRecord(envelope.before) ? envelope.before : {};
  const after = isRecord(envelope.after) ? envelope.after : {};
  const fields = [...new Set([...Object.keys(after), ...Object.keys(before)])];
  const show = (row: Record<string, unknown>, f: string): string => (f in row ? JSON.stringify(row[f]) : '');
  return fields.map((field) => {
    const b = show(before, field);
    const a = show(after, field);
    return { field, before: b, after: a, changed: b !== a };
  });
}

/** A `tables` entry as the spec stores it: `"schema.table"`, or an object with `table` and `topic`. */
export function tableEntry(source: string, entry: unknown): { table: string; topic: string } {
  if (typeof entry === 'string') return { table: entry, topic: `${source}.${entry}` };
  if (isRecord(entry)) {
    const table =
      typeof entry.table === 'string' ? (typeof entry.schema === 'string' ? `${entry.schema}.${entry.table}` : entry.table) : '?';
    return { table, topic: typeof entry.topic === 'string' ? entry.topic : `${source}.${table}` };
  }
  return { table: '?', topic: '?' };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
