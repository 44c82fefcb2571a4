import { useState, type FormEvent } from 'react';
import { api, enc } from '../api';
import { estimateEta, formatBytes, formatCount, formatDuration, tableEntry } from '../format';
import { useGet } from '../hooks';
import { href } from '../route';
import { ActionButton, ErrorNote, Json, Progress, WriteOnly } from '../ui';

interface SourceDetail {
  name: string;
  tables: unknown[];
  slot: string;
  publication: string;
  checkpointLsn: string | null;
  lastCommitTime: string | null;
  confirmedLsn: string | null;
  lagBytes: number | null;
  walStatus: string | null;
  slotActive: boolean;
  connected: boolean;
  missingTables?: string[];
  capture: { state: string; lastError: string | null } | null;
}
interface Backfill {
  id: number;
  table: string;
  where: string | null;
  status: string;
  rowsDone: number;
  percent: number | null;
  etaSeconds: number | null;
  startedAt: string | null;
  error: string | null;
}

/** A source: its tables and their topics, slot and checkpoint, snapshots and backfills. */
export function SourcePage({ name }: { name: string }) {
  const base = `/api/v1/sources/${enc(name)}`;
  const source = useGet<SourceDetail>(base, 5_000);
  const backfills = useGet<Backfill[]>(`${base}/backfills`, 3_000);
  const s = source.data;
  return (
    <section>
      <h1>Source {name}</h1>
      <ErrorNote error={source.error} />
      {s ? (
        <dl className="facts">
          <dt>Capture</dt>
          <dd>{s.capture?.state ?? 'not captured by this process'}</dd>
          <dt>Slot</dt>
          <dd>
            {s.slot} ({s.slotActive ? 'active' : 'inactive'}, WAL {s.walStatus ?? '–'}), holds {formatBytes(s.lagBytes)}
          </dd>
          <dt>Checkpoint</dt>
          <dd>
            {s.checkpointLsn ?? '–'} (slot confirmed {s.confirmedLsn ?? '–'}), last commit {s.lastCommitTime ?? 'never'}
          </dd>
          <dt>Publication</dt>
          <dd>{s.publication}</dd>
          {s.capture?.lastError ? (
            <>
              <dt>Error</dt>
              <dd className="error">{s.capture.lastError}</dd>
            </>
          ) : null}
        </dl>
      ) : null}
      <h2>Tables</h2>
      <table>
        <thead>
          <tr>
            <th>Table</th>
            <th>Topic</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(s?.tables ?? []).map((t) => {
            const { table, topic } = tableEntry(name, t);
            return (
              <tr key={table} className={s?.missingTables?.includes(table) ? 'stuck' : undefined}>
                <td>{table}</td>
                <td>
                  <a href={href({ page: 'topic', name: topic })}>{topic}</a>
                </td>
                <td>
                  <WriteOnly>
                    <ActionButton
                      label="Remove"
                      danger
                      confirm={() => `Stop capturing ${table}? Its topic and messages stay.`}
                      run={async () => (await api('DELETE', `${base}/tables/${enc(table)}`), source.reload())}
                    />
                  </WriteOnly>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <WriteOnly>
        <AddTable base={base} done={source.reload} />
      </WriteOnly>
      <h2>Snapshots and backfills</h2>
      <ErrorNote error={backfills.error} />
      <Backfills base={base} items={backfills.data ?? []} reload={backfills.reload} />
      <WriteOnly>
        <StartBackfill base={base} done={backfills.reload} />
      </WriteOnly>
      {s ? (
        <details>
          <summary>The source as stored</summary>
          <Json value={s} />
        </details>
      ) : null}
    </section>
  );
}

function Backfills({ base, items, reload }: { base: string; items: Backfill[]; reload: () => void }) {
  const now = Date.now();
  return (
    <table>
      <thead>
        <tr>
          <th>#</th>
          <th>Table</th>
          <th>Filter</th>
          <th>Status</th>
          <th>Rows</th>
          <th>Progress</th>
          <th>ETA</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {items.map((b) => {
          const eta = b.etaSeconds !== null ? b.etaSeconds * 1000 : estimateEta(b.percent, b.startedAt, now);
          const active = b.status === 'pending' || b.status === 'running';
          return (
            <tr key={b.id} className={b.error ? 'stuck' : undefined}>
              <td>{b.id}</td>
              <td>{b.table}</td>
              <td>{b.where ?? ''}</td>
              <td>{b.error ? `${b.status}: ${b.error}` : b.status}</td>
              <td>{formatCount(b.rowsDone)}</td>
              <td>
                <Progress percent={b.percent} />
              </td>
              <td>{active && eta !== undefined ? formatDuration(eta) : ''}</td>
              <td>
                {active ? (
                  <WriteOnly>
                    <ActionButton
                      label="Cancel"
                      danger
                      run={async () => (await api('DELETE', `${base}/backfills/${b.id}`), reload())}
                    />
                  </WriteOnly>
                ) : null}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function AddTable({ base, done }: { base: string; done: () => void }) {
  const [table, setTable] = useState('');
  const [topic, setTopic] = useState('');
  const [error, setError] = useState<Error>();
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setError(undefined);
    try {
      await api('POST', `${base}/tables`, topic ? { table, topic } : { table });
      setTable('');
      setTopic('');
      done();
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)}>
      <input placeholder="schema.table" value={table} onChange={(e) => setTable(e.target.value)} aria-label="table to add" />
      <input placeholder="topic (optional)" value={topic} onChange={(e) => setTopic(e.target.value)} aria-label="topic" />
      <button type="submit">Add table</button>
      <ErrorNote error={error} />
    </form>
  );
}

function StartBackfill({ base, done }: { base: string; done: () => void }) {
  const [table, setTable] = useState('');
  const [where, setWhere] = useState('');
  const [error, setError] = useState<Error>();
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setError(undefined);
    try {
      await api('POST', `${base}/backfills`, where ? { table, where } : { table });
      done();
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)}>
      <input placeholder="schema.table" value={table} onChange={(e) => setTable(e.target.value)} aria-label="table to backfill" />
      <input
        placeholder="filter, e.g. id > 1000 (optional)"
        value={where}
        onChange={(e) => setWhere(e.target.value)}
        aria-label="filter"
      />
      <button type="submit">Start backfill</button>
      <ErrorNote error={error} />
    </form>
  );
}
