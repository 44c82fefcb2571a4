/** The windows the console charts, and the width of one point in each (rates are averaged over it). */
export const SERIES_WINDOWS = { '15m': 5, '1h': 15, '6h': 90, '24h': 360 } as const;
export type SeriesWindow = keyof typeof SERIES_WINDOWS;

const WINDOW_SECONDS: Record<SeriesWindow, number> = { '15m': 900, '1h': 3_600, '6h': 21_600, '24h': 86_400 };

/** One step of one source or group, as the repository aggregates it: rate in messages/s, lag its maximum. */
export interface StepRow {
  kind: 'source' | 'group';
  name: string;
  /** Epoch ms of the step's start. */
  step: number;
  rate: number | null;
  behind: number | null;
}

export interface SeriesFrame {
  window: SeriesWindow;
  stepSeconds: number;
  /** Epoch ms of the first and the last step's start. */
  fromMs: number;
  toMs: number;
  timestamps: number[];
}

export interface Series {
  window: SeriesWindow;
  stepSeconds: number;
  from: string;
  to: string;
  timestamps: number[];
  sources: Record<string, { appended: (number | null)[] }>;
  groups: Record<string, { delivered: (number | null)[]; lag: (number | null)[] }>;
}

/**
 * The steps of a window ending now: aligned to multiples of the step (so a chart polled again shows the
 * same points, one more), the last one being the step now is in. 15m has 180 points of 5 s.
 */
export function seriesFrame(window: SeriesWindow, nowMs: number): SeriesFrame {
  const stepSeconds = SERIES_WINDOWS[window];
  const stepMs = stepSeconds * 1000;
  const count = WINDOW_SECONDS[window] / stepSeconds;
  const toMs = Math.floor(nowMs / stepMs) * stepMs;
  const fromMs = toMs - (count - 1) * stepMs;
  const timestamps = Array.from({ length: count }, (_, i) => fromMs + i * stepMs);
  return { window, stepSeconds, fromMs, toMs, timestamps };
}

/** The answer of GET /api/v1/stats/series: one array per series, aligned with `timestamps`, null where no sample. */
export function shapeSeries(frame: SeriesFrame, rows: StepRow[]): Series {
  const index = new Map(frame.timestamps.map((t, i) => [t, i]));
  const empty = () => frame.timestamps.map((): number | null => null);
  const sources: Series['sources'] = {};
  const groups: Series['groups'] = {};
  for (const row of rows) {
    const i = index.get(row.step);
    if (i === undefined) continue;
    if (row.kind === 'source') (sources[row.name] ??= { appended: empty() }).appended[i] = round(row.rate);
    else {
      const g = (groups[row.name] ??= { delivered: empty(), lag: empty() });
      g.delivered[i] = round(row.rate);
      g.lag[i] = row.behind;
    }
  }
  return {
    window: frame.window,
    stepSeconds: frame.stepSeconds,
    from: new Date(frame.fromMs).toISOString(),
    to: new Date(frame.toMs + frame.stepSeconds * 1000).toISOString(),
    timestamps: frame.timestamps,
    sources,
    groups,
  };
}

/** Two decimals are plenty for a chart and keep the answer small. */
function round(rate: number | null): number | null {
  return rate === null ? null : Math.round(rate * 100) / 100;
}
