import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ChartData } from './stats';

const COLORS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

/** A uPlot line chart of `data`, redrawn in place when it changes (uPlot keeps its own canvas). */
export function Chart({ title, data, unit, testId }: { title: string; data: ChartData; unit: string; testId: string }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labels = data.lines.map((l) => l.label).join('\n');

  useEffect(() => {
    if (!host.current) return;
    const opts: uPlot.Options = {
      width: Math.max(280, host.current.clientWidth || 480),
      height: 180,
      series: [
        {},
        ...data.lines.map((l, i) => ({ label: l.label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false })),
      ],
      axes: [{}, { label: unit, size: 60 }],
      scales: { x: { time: true } },
      legend: { show: true },
    };
    plot.current = new uPlot(opts, aligned(data), host.current);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
    // a new set of lines needs a new chart; new values only setData (below)
  }, [labels, unit]);

  useEffect(() => plot.current?.setData(aligned(data)), [data]);

  // what the chart shows, for browser tests and for a person reading the DOM
  const max = Math.max(0, ...data.lines.flatMap((l) => l.values.filter((v): v is number => v !== null)));
  return (
    <figure className="chart" data-testid={testId} data-points={data.x.length} data-max={max}>
      <figcaption>{title}</figcaption>
      {data.lines.length === 0 ? <p className="muted">nothing to show yet</p> : null}
      <div ref={host} hidden={data.lines.length === 0} />
    </figure>
  );
}

/**
 * uPlot's data; a single sample (a page just opened) gets an empty step a minute before it, or uPlot would
 * stretch the time axis over years around the one point.
 */
function aligned(data: ChartData): uPlot.AlignedData {
  if (data.x.length === 1)
    return [[data.x[0] - 60, data.x[0]], ...data.lines.map((l) => [null, ...l.values])] as uPlot.AlignedData;
  return [data.x, ...data.lines.map((l) => l.values)] as uPlot.AlignedData;
}
