import { useEffect, useState } from 'react';
import { Chart } from '../chart';
import { formatAgo, formatBytes, formatCount, formatRate } from '../format';
import { useGet, useLiveStats } from '../hooks';
import { href } from '../route';
import {
  appendSample,
  chartFromHistory,
  chartFromSeries,
  isSeries,
  groupTrouble,
  mergeLive,
  sourceTrouble,
  WINDOW_MS,
  WINDOWS,
  type LiveHistory,
  type Metric,
  type StatsSeries,
  type StatsWindow,
} from '../stats';
import { ErrorNote } from '../ui';

/** Every source and group at a glance, with the rate and lag charts; red where something is stuck. */
export function OverviewPage() {
  const { stats, error } = useLiveStats();
  const [window, setWindow] = useState<StatsWindow>('15m');
  const [history, setHistory] = useState<LiveHistory>({ samples: [] });
  useEffect(() => {
    if (stats) setHistory((h) => appendSample(h, stats, WINDOW_MS[window]));
  }, [stats, window]);
  // the sampled series (survives restarts); 404 from an API without it: the charts show the live samples only
  const series = useGet<StatsSeries>(`/api/v1/stats/series?window=${window}`, 15_000);
  const chart = (metric: Metric) => {
    const live = chartFromHistory(history, metric);
    return isSeries(series.data) ? mergeLive(chartFromSeries(series.data, metric), live) : live;
  };
  const appended = chart('appended');
  const delivered = chart('delivered');
  const lag = chart('lag');
  const now = stats ? Date.parse(stats.at) : Date.now();

  return (
    <section>
      <h1>Overview</h1>
      <ErrorNote error={error} />
      <div className="toolbar">
        Charts over the last{' '}
        {WINDOWS.map((w) => (
          <button key={w} type="button" className={w === window ? 'chip on' : 'chip'} onClick={() => setWindow(w)}>
            {w}
          </button>
        ))}
      </div>
      <div className="charts">
        <Chart title="Appended messages/s by source" data={appended} unit="msg/s" testId="chart-appended" />
        <Chart title="Delivered messages/s by group" data={delivered} unit="msg/s" testId="chart-delivered" />
        <Chart title="Lag by group (messages)" data={lag} unit="messages" testId="chart-lag" />
      </div>
      <h2>Sources</h2>
      <table data-testid="sources">
        <thead>
          <tr>
            <th>Source</th>
            <th>State</th>
            <th>Slot lag</th>
            <th>Last commit</th>
            <th>Capture rate</th>
            <th>Problem</th>
          </tr>
        </thead>
        <tbody>
          {(stats?.sources ?? []).map((s) => {
            const trouble = sourceTrouble(s);
            return (
              <tr key={s.name} className={trouble ? 'stuck' : undefined} data-testid={`source-${s.name}`}>
                <td>
                  <a href={href({ page: 'source', name: s.name })}>{s.name}</a>
                </td>
                <td>{s.state}</td>
                <td>{formatBytes(s.slotLagBytes)}</td>
                <td>{formatAgo(s.lastCommitAt, now)}</td>
                <td>{formatRate(s.appendedPerSec)}</td>
                <td>{trouble ?? ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <h2>Consumer groups</h2>
      <table data-testid="groups">
        <thead>
          <tr>
            <th>Group</th>
            <th>Sink</th>
            <th>Lag</th>
            <th>Blocked</th>
            <th>Paused</th>
            <th>Delivery rate</th>
            <th>Errors</th>
            <th>Problem</th>
          </tr>
        </thead>
        <tbody>
          {(stats?.groups ?? []).map((g) => {
            const trouble = groupTrouble(g);
            return (
              <tr key={g.name} className={trouble ? 'stuck' : undefined} data-testid={`group-${g.name}`}>
                <td>
                  <a href={href({ page: 'group', name: g.name })}>{g.name}</a>
                </td>
                <td>{g.sinkType}</td>
                <td data-testid={`lag-${g.name}`}>{formatCount(g.lag)}</td>
                <td>{g.blockedPartitions}</td>
                <td>{g.pausedPartitions}</td>
                <td>{formatRate(g.deliveredPerSec)}</td>
                <td>{g.errors}</td>
                <td>{trouble ?? g.reason ?? ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <Topics />
    </section>
  );
}

function Topics() {
  const topics = useGet<{ name: string; partitions: number }[]>('/api/v1/topics', 10_000);
  return (
    <>
      <h2>Topics</h2>
      <ErrorNote error={topics.error} />
      <ul className="inline">
        {(topics.data ?? []).map((t) => (
          <li key={t.name}>
            <a href={href({ page: 'topic', name: t.name })}>{t.name}</a>{' '}
            <span className="muted">({t.partitions === 1 ? '1 partition' : `${t.partitions} partitions`})</span>
          </li>
        ))}
      </ul>
    </>
  );
}
