import { fmt } from './table';

/** One reading of a series over time: seconds since the series' start, and the value then. */
export interface Point {
  seconds: number;
  value: number;
}

/**
 * A chart of a series over time in `height` text rows: one column per time slice (the slice's maximum),
 * a value axis on the left and a seconds axis below, with optional vertical markers (e.g. "run ends").
 */
export function timeChart(
  points: Point[],
  opts: { width?: number; height?: number; unit: string; markers?: { seconds: number; label: string }[] },
): string {
  if (!points.length) return '(no samples)';
  const width = opts.width ?? 64;
  const height = opts.height ?? 8;
  const end = Math.max(...points.map((p) => p.seconds), 1e-9);
  const columns = new Array<number>(width).fill(0);
  const sampled = new Array<boolean>(width).fill(false);
  for (const p of points) {
    const c = slice(p.seconds, end, width);
    columns[c] = Math.max(columns[c], p.value);
    sampled[c] = true;
  }
  for (let c = 1; c < width; c++) if (!sampled[c]) columns[c] = columns[c - 1]; // a slice without a reading keeps the last
  const max = Math.max(...columns, 1e-9);
  const labels = [max, max / 2, 0].map((v) => fmt(v));
  const labelWidth = Math.max(...labels.map((l) => l.length));
  const markerColumns = new Map((opts.markers ?? []).map((m) => [slice(m.seconds, end, width), m.label]));
  const rows: string[] = [];
  for (let r = height - 1; r >= 0; r--) {
    const label = r === height - 1 ? labels[0] : r === Math.floor((height - 1) / 2) ? labels[1] : r === 0 ? labels[2] : '';
    const cells = columns.map((v, c) => {
      const filled = (v / max) * height - r; // how much of this row the column fills, 0..1
      if (filled >= 1) return '█';
      if (filled > 0) return ' ▁▂▃▄▅▆▇'[Math.max(1, Math.round(filled * 7))];
      return markerColumns.has(c) ? '┊' : ' ';
    });
    rows.push(`${label.padStart(labelWidth)} ┤${cells.join('')}`);
  }
  const axisLine = Array.from({ length: width }, (_, c) => (markerColumns.has(c) ? '┴' : '─')).join('');
  rows.push(`${' '.repeat(labelWidth)} └${axisLine}`);
  const axis = `0 s`.padEnd(width - 8) + `${fmt(end, 0)} s`.padStart(8);
  rows.push(`${' '.repeat(labelWidth + 2)}${axis}`);
  const notes = [...markerColumns.entries()].map(([c, label]) => `┴ at ${fmt((c / width) * end, 0)} s: ${label}`);
  return [`${opts.unit}`, ...rows, ...notes].join('\n');
}

function slice(seconds: number, end: number, width: number): number {
  return Math.min(width - 1, Math.floor((seconds / end) * width));
}
