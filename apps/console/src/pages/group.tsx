import { useEffect, useState } from 'react';
import { api, enc } from '../api';
import { Chart } from '../chart';
import { formatCount } from '../format';
import { useGet } from '../hooks';
import { href } from '../route';
import {
  appendSample,
  chartFromHistory,
  chartFromSeries,
  isSeries,
  mergeLive,
  type LiveHistory,
  type StatsSeries,
} from '../stats';
import { ActionButton, ErrorNote, Json, WriteOnly } from '../ui';
import { ResetOffsets } from './group-reset';
import { WebhookPanel } from './group-webhook';

interface Partition {
  topic: string;
  partition: number;
  committed: string;
  end: string;
  lag: string;
  owner: string | null;
  generation: string;
  status: string;
  statusDetail: string | null;
}
interface GroupDetail {
  name: string;
  topics: string[];
  paused: boolean;
  lag: string;
  sink?: { type?: string } | null;
  members: { memberId: string; client?: string | null; joinedAt?: string; heartbeatAt?: string }[];
  partitions: Partition[];
}

const HOUR_MS = 3_600_000;

/** The group's lag over time: the sampled series where the API has it, continued by this page's polls. */
function useLagChart(name: string, group: GroupDetail | undefined) {
  const [history, setHistory] = useState<LiveHistory>({ samples: [] });
  const series = useGet<StatsSeries>('/api/v1/stats/series?window=1h', 30_000);
  useEffect(() => {
    if (!group) return;
    const sample = {
      at: new Date().toISOString(),
      sources: [],
      groups: [
        {
          name,
          sinkType: '',
          lag: Number(group.lag),
          deliveredPerSec: null,
          blockedPartitions: 0,
          pausedPartitions: 0,
          errors: 0,
          reason: null,
        },
      ],
    };
    setHistory((h) => appendSample(h, sample, HOUR_MS));
  }, [group, name]);
  const live = chartFromHistory(history, 'lag');
  if (!isSeries(series.data)) return live;
  const sampled = chartFromSeries(series.data, 'lag');
  return mergeLive({ x: sampled.x, lines: sampled.lines.filter((l) => l.label === name) }, live);
}

/** A consumer group: partitions, members, events, lag chart, the operator's controls, its webhook. */
export function GroupPage({ name }: { name: string }) {
  const base = `/api/v1/groups/${enc(name)}`;
  const group = useGet<GroupDetail>(base, 3_000);
  const events = useGet<Record<string, unknown>[]>(`${base}/events`, 10_000);
  const g = group.data;
  const lag = useLagChart(name, g);
  const sinkType = g?.sink?.type ?? 'pull';
  return (
    <section>
      <h1>Group {name}</h1>
      <ErrorNote error={group.error} />
      {g ? (
        <p>
          {sinkType} sink · topics{' '}
          {g.topics.map((t) => (
            <a key={t} href={href({ page: 'topic', name: t })}>
              {t}{' '}
            </a>
          ))}
          · lag <strong data-testid="group-lag">{formatCount(g.lag)}</strong> ·{' '}
          {g.paused ? <strong className="warn">paused</strong> : 'consuming'}
        </p>
      ) : null}
      <WriteOnly>
        <div className="toolbar">
          {g?.paused ? (
            <ActionButton
              label="Resume"
              testId="resume"
              run={async () => (await api('POST', `${base}/resume`), group.reload())}
            />
          ) : (
            <ActionButton label="Pause" testId="pause" run={async () => (await api('POST', `${base}/pause`), group.reload())} />
          )}
        </div>
      </WriteOnly>
      <Chart title="Lag (messages)" data={lag} unit="messages" testId="chart-group-lag" />
      <h2>Partitions</h2>
      <table data-testid="partitions">
        <thead>
          <tr>
            <th>Topic</th>
            <th>Partition</th>
            <th>Owner</th>
            <th>Generation</th>
            <th>Committed</th>
            <th>End</th>
            <th>Lag</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {(g?.partitions ?? []).map((p) => (
            <tr key={`${p.topic}-${p.partition}`} className={p.status !== 'ok' ? 'stuck' : undefined}>
              <td>{p.topic}</td>
              <td>{p.partition}</td>
              <td>{p.owner ?? '–'}</td>
              <td>{p.generation}</td>
              <td>{formatCount(p.committed)}</td>
              <td>{formatCount(p.end)}</td>
              <td>{formatCount(p.lag)}</td>
              <td>{p.statusDetail ? `${p.status}: ${p.statusDetail}` : p.status}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Members</h2>
      {g?.members.length ? <Members members={g.members} /> : <p className="muted">no members</p>}
      <WriteOnly>{g ? <ResetOffsets base={base} paused={g.paused} topics={g.topics} done={group.reload} /> : null}</WriteOnly>
      {sinkType === 'webhook' ? <WebhookPanel group={name} /> : null}
      <h2>Events</h2>
      <ErrorNote error={events.error} />
      {(events.data ?? []).slice(0, 20).map((e, i) => (
        <Json key={i} value={e} />
      ))}
    </section>
  );
}

function Members({ members }: { members: GroupDetail['members'] }) {
  return (
    <table>
      <thead>
        <tr>
          <th>Member</th>
          <th>Client</th>
          <th>Joined</th>
          <th>Last heartbeat</th>
        </tr>
      </thead>
      <tbody>
        {members.map((m) => (
          <tr key={m.memberId}>
            <td>{m.memberId}</td>
            <td>{m.client ?? ''}</td>
            <td>{m.joinedAt ?? ''}</td>
            <td>{m.heartbeatAt ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
