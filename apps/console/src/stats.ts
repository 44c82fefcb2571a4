/** The live and historical statistics the overview shows (the console contract's shapes), and their shaping. */

export interface LiveSource {
  name: string;
  state: string;
  slotLagBytes: number | null;
  lastCommitAt: string | null;
  appendedPerSec: number | null;
  lastError: string | null;
}
export interface LiveGroup {
  name: string;
  sinkType: string;
  lag: number;
  deliveredPerSec: number | null;
  blockedPartitions: number;
  pausedPartitions: number;
  errors: number;
  reason: string | null;
}
export interface LiveStats {
  at: string;
  sources: LiveSource[];
  groups: LiveGroup[];
}
/** `GET /api/v1/stats/series`: one value per step, oldest first; null = no sample in that step. */
export interface StatsSeries {
  window: string;
  stepSeconds: number;
  timestamps: number[];
  sources: Record<string, { appended: (number | null)[] }>;
  groups: Record<string, { delivered: (number | null)[]; lag: (number | null)[] }>;
}

export const WINDOWS = ['15m', '1h', '6h', '24h'] as const;
export type StatsWindow = (typeof WINDOWS)[number];
export const WINDOW_MS: Record<StatsWindow, number> = { '15m': 900_000, '1h': 3_600_000, '6h': 21_600_000, '24h': 86_400_000 };

/** What a chart draws: x in epoch seconds (uPlot's unit), one named line per series, same length as x. */
export interface ChartData {
  x: number[];
  lines: { label: string; values: (number | null)[] }[];
}

export type Metric = 'appended' | 'delivered' | 'lag';

/** An answer of the series endpoint in the contract's shape (an API that answers otherwise is not charted). */
export function isSeries(value: unknown): value is StatsSeries {
  const v = value as Partial<StatsSeries> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray(v.timestamps) &&
    typeof v.sources === 'object' &&
    typeof v.groups === 'object'
  );
}

/** One metric of a series answer as chart data: appended per source, delivered or lag per group, names sorted. */
export function chartFromSeries(series: StatsSeries, metric: Metric): ChartData {
  const x = series.timestamps.map((ms) => ms / 1000);
  const of = metric === 'appended' ? series.sources : series.groups;
  const lines = Object.keys(of)
    .sort()
    .map((label) => {
      const entry = of[label] as Record<string, (number | null)[] | undefined>;
      const values = entry[metric] ?? [];
      return { label, values: x.map((_, i) => (values[i] === undefined ? null : values[i])) };
    });
  return { x, lines };
}

/** Live snapshots kept in the page, oldest first, to draw and to extend a series between its fetches. */
export interface LiveHistory {
  samples: LiveStats[];
}

/** The history with one more snapshot, dropping those older than `keepMs` before it (and out-of-order ones). */
export function appendSample(history: LiveHistory, sample: LiveStats, keepMs: number): LiveHistory {
  const at = Date.parse(sample.at);
  const last = history.samples[history.samples.length - 1];
  if (last && Date.parse(last.at) >= at) return history;
  const samples = history.samples.filter((s) => at - Date.parse(s.at) <= keepMs);
  return { samples: [...samples, sample] };
}

/** Live snapshots as chart data of one metric, a line per source or group seen in any of them. */
export function chartFromHistory(history: LiveHistory, metric: Metric): ChartData {
  const x = history.samples.map((s) => Date.parse(s.at) / 1000);
  const names = new Set<string>();
  for (const s of history.samples) for (const item of metric === 'appended' ? s.sources : s.groups) names.add(item.name);
  const value = (s: LiveStats, name: string): number | null => {
    if (metric === 'appended') return s.sources.find((i) => i.name === name)?.appendedPerSec ?? null;
    const g = s.groups.find((i) => i.name === name);
    if (!g) return null;
    return metric === 'lag' ? g.lag : g.deliveredPerSec;
  };
  const lines = [...names].sort().map((label) => ({ label, values: history.samples.map((s) => value(s, label)) }));
  return { x, lines };
}

/**
 * A series answer continued with the live snapshots newer than its last step, so the chart moves every
 * 2 s between fetches of the series (which change only every step).
 */
export function mergeLive(series: ChartData, live: ChartData): ChartData {
  const lastX = series.x[series.x.length - 1] ?? -Infinity;
  const newer = live.x.map((t, i) => [t, i] as const).filter(([t]) => t > lastX);
  if (!newer.length) return series;
  const labels = [...new Set([...series.lines.map((l) => l.label), ...live.lines.map((l) => l.label)])].sort();
  const lines = labels.map((label) => {
    const old = series.lines.find((l) => l.label === label)?.values ?? series.x.map(() => null);
    const fresh = live.lines.find((l) => l.label === label)?.values;
    return { label, values: [...old, ...newer.map(([, i]) => (fresh ? fresh[i] : null))] };
  });
  return { x: [...series.x, ...newer.map(([t]) => t)], lines };
}

/** Red on the overview: why a source or group is stuck, or undefined when it is not. */
export function sourceTrouble(s: LiveSource): string | undefined {
  if (s.lastError) return s.lastError;
  if (s.state !== 'streaming' && s.state !== 'snapshotting') return `capture is ${s.state.replace(/_/g, ' ')}`;
  return undefined;
}

export function groupTrouble(g: LiveGroup): string | undefined {
  if (g.blockedPartitions > 0) return g.reason ?? `${g.blockedPartitions} partition(s) blocked`;
  if (g.errors > 0 && g.reason) return g.reason;
  return undefined;
}
