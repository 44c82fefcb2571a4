/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export interface Summary {
  count: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    min: sorted[0] ?? NaN,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
    mean: sorted.length ? sum / sorted.length : NaN,
  };
}

const SPARKS = '▁▂▃▄▅▆▇█';

/** A one-line chart of a series (e.g. RSS every 100 ms), squeezed to `width` characters by taking maxima. */
export function sparkline(values: number[], width = 60, floor = 0): string {
  if (values.length === 0) return '';
  const buckets: number[] = [];
  const per = Math.max(1, Math.ceil(values.length / width));
  for (let i = 0; i < values.length; i += per) buckets.push(Math.max(...values.slice(i, i + per)));
  const max = Math.max(...buckets);
  const span = Math.max(1e-9, max - floor);
  return buckets.map((v) => SPARKS[Math.min(7, Math.max(0, Math.floor(((v - floor) / span) * 7.999)))]).join('');
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A horizontal bar of `value / max` of `width` characters, in eighths of a character. */
export function bar(value: number, max: number, width = 40): string {
  const eighths = Math.round((Math.max(0, value) / Math.max(1e-9, max)) * width * 8);
  return '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8];
}

/** Labelled horizontal bars, one per line, with their values. */
export function barChart(items: { label: string; value: number; text?: string }[], width = 40): string {
  const max = Math.max(...items.map((i) => i.value));
  const labelWidth = Math.max(...items.map((i) => i.label.length));
  return items
    .map((i) => `${i.label.padEnd(labelWidth)} │${bar(i.value, max, width).padEnd(width)} ${i.text ?? String(i.value)}`)
    .join('\n');
}

/** Counts of values per bucket `[edges[i], edges[i+1])`, the last bucket open-ended. */
export function histogram(values: number[], edges: number[]): { label: string; count: number }[] {
  const counts = edges.map(() => 0);
  for (const v of values) {
    let i = edges.length - 1;
    while (i > 0 && v < edges[i]) i--;
    counts[i]++;
  }
  return edges.map((e, i) => ({ label: i === edges.length - 1 ? `≥ ${e}` : `${e}–${edges[i + 1]}`, count: counts[i] }));
}
