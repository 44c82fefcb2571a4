import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, enc, stream } from '../api';
import { messagesTimeParameter } from '../api-features';
import { beforeAfter, formatCount, isRecord } from '../format';
import { useGet } from '../hooks';
import { ErrorNote, Json } from '../ui';

interface TopicDetail {
  name: string;
  partitions: number;
  retentionMs: number | null;
  retentionBytes: number | null;
  offsets: { partition: number; earliest: string; end: string }[];
}
interface Message {
  offset: string;
  partition: number;
  key?: string | null;
  appendedAt?: string;
  envelope: unknown;
}
interface Page {
  messages: Message[];
  nextOffset: string;
}

const PAGE = 20;

/** A topic: partitions with their offsets, a message browser by offset or time, and a live tail. */
export function TopicPage({ name }: { name: string }) {
  const topic = useGet<TopicDetail>(`/api/v1/topics/${enc(name)}`, 5_000);
  const t = topic.data;
  return (
    <section>
      <h1>Topic {name}</h1>
      <ErrorNote error={topic.error} />
      {t ? (
        <p className="muted">
          {t.partitions === 1 ? '1 partition' : `${t.partitions} partitions`}; retention{' '}
          {t.retentionMs === null ? 'forever' : `${Math.round(t.retentionMs / 3_600_000)} h`}
          {t.retentionBytes !== null ? `, ${t.retentionBytes} bytes` : ''}
        </p>
      ) : null}
      <table>
        <thead>
          <tr>
            <th>Partition</th>
            <th>Earliest</th>
            <th>End</th>
            <th>Messages retained</th>
          </tr>
        </thead>
        <tbody>
          {(t?.offsets ?? []).map((p) => (
            <tr key={p.partition}>
              <td>{p.partition}</td>
              <td>{formatCount(p.earliest)}</td>
              <td>{formatCount(p.end)}</td>
              <td>{formatCount((BigInt(p.end) - BigInt(p.earliest)).toString())}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Browser name={name} partitions={t?.partitions ?? 1} />
      <Tail name={name} partitions={t?.partitions ?? 1} />
    </section>
  );
}

let timeParameter: Promise<'at' | 'since'> | undefined;

/** Where the browser reads from: an offset of a partition, or the first message at or after a time. */
async function readPage(name: string, partition: number, from: { offset: string } | { at: string }): Promise<Page> {
  const base = `/api/v1/topics/${enc(name)}/messages?partition=${partition}&limit=${PAGE}`;
  if ('offset' in from) return api<Page>('GET', `${base}&offset=${enc(from.offset)}`);
  timeParameter ??= api<unknown>('GET', '/openapi.json').then(messagesTimeParameter, () => 'at' as const);
  return api<Page>('GET', `${base}&${await timeParameter}=${enc(from.at)}`);
}

function Browser({ name, partitions }: { name: string; partitions: number }) {
  const [partition, setPartition] = useState(0);
  const [mode, setMode] = useState<'offset' | 'time'>('offset');
  const [offset, setOffset] = useState('0');
  const [time, setTime] = useState('');
  const [page, setPage] = useState<Page>();
  const [error, setError] = useState<Error>();
  const load = async (from: { offset: string } | { at: string }): Promise<void> => {
    setError(undefined);
    try {
      setPage(await readPage(name, partition, from));
    } catch (e) {
      setError(e as Error);
    }
  };
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    void load(mode === 'offset' ? { offset } : { at: new Date(time).toISOString() });
  };
  return (
    <>
      <h2>Messages</h2>
      <form className="inline-form" onSubmit={submit} data-testid="browser">
        <label>
          partition{' '}
          <select value={partition} onChange={(e) => setPartition(Number(e.target.value))} aria-label="partition">
            {Array.from({ length: partitions }, (_, i) => (
              <option key={i} value={i}>
                {i}
              </option>
            ))}
          </select>
        </label>
        <select value={mode} onChange={(e) => setMode(e.target.value as 'offset' | 'time')} aria-label="read from">
          <option value="offset">from offset</option>
          <option value="time">from time</option>
        </select>
        {mode === 'offset' ? (
          <input value={offset} onChange={(e) => setOffset(e.target.value)} aria-label="offset" inputMode="numeric" />
        ) : (
          <input type="datetime-local" step="1" value={time} onChange={(e) => setTime(e.target.value)} aria-label="time" />
        )}
        <button type="submit">Read</button>
        {page && page.messages.length ? (
          <button type="button" onClick={() => void load({ offset: page.nextOffset })}>
            Next page
          </button>
        ) : null}
      </form>
      <ErrorNote error={error} />
      {page ? (
        page.messages.length ? (
          page.messages.map((m) => <MessageView key={`${m.partition}-${m.offset}`} message={m} />)
        ) : (
          <p className="muted">no messages there</p>
        )
      ) : null}
    </>
  );
}

/** One message: its envelope as JSON, and for updates the row before and after side by side. */
export function MessageView({ message }: { message: Message }) {
  const env = message.envelope;
  const op = isRecord(env) && typeof env.op === 'string' ? env.op : undefined;
  const changes = op === 'u' ? beforeAfter(env) : [];
  return (
    <article className="message" data-testid="message">
      <header>
        partition {message.partition} · offset {message.offset}
        {op ? ` · op ${op}` : ''}
        {message.appendedAt ? ` · ${message.appendedAt}` : ''}
      </header>
      {changes.length ? (
        <table className="diff">
          <thead>
            <tr>
              <th>column</th>
              <th>before</th>
              <th>after</th>
            </tr>
          </thead>
          <tbody>
            {changes.map((c) => (
              <tr key={c.field} className={c.changed ? 'changed' : undefined}>
                <td>{c.field}</td>
                <td>{c.before}</td>
                <td>{c.after}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <Json value={env} />
    </article>
  );
}

const TAIL_KEEP = 50;

function Tail({ name, partitions }: { name: string; partitions: number }) {
  const [partition, setPartition] = useState<number | null>(null);
  const [items, setItems] = useState<Message[]>([]);
  const [error, setError] = useState<Error>();
  useEffect(() => {
    if (partition === null) return;
    const abort = new AbortController();
    setItems([]);
    setError(undefined);
    const add = (data: string): void => setItems((list) => [JSON.parse(data) as Message, ...list].slice(0, TAIL_KEEP));
    stream(
      `/api/v1/topics/${enc(name)}/tail?partition=${partition}`,
      (e) => e.event === 'message' && add(e.data),
      abort.signal,
    ).catch((e: unknown) => {
      if (abort.signal.aborted) return;
      setError(
        e instanceof ApiError && e.status === 404
          ? new Error('this API has no live tail yet (GET …/tail answered 404)')
          : (e as Error),
      );
    });
    return () => abort.abort();
  }, [name, partition]);
  return (
    <>
      <h2>Live tail</h2>
      <div className="inline-form">
        {Array.from({ length: partitions }, (_, i) => (
          <button
            key={i}
            type="button"
            className={partition === i ? 'chip on' : 'chip'}
            onClick={() => setPartition(partition === i ? null : i)}
          >
            partition {i}
          </button>
        ))}
        {partition !== null ? <span className="muted">following partition {partition}: new messages appear on top</span> : null}
      </div>
      <ErrorNote error={error} />
      {items.map((m) => (
        <MessageView key={`${m.partition}-${m.offset}`} message={m} />
      ))}
    </>
  );
}
