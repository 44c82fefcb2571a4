import { useState } from 'react';
import { api, ApiError } from '../api';
import { describeReset, previewRows } from '../reset-plan';
import { ActionButton } from '../ui';

type Target = 'earliest' | 'latest' | 'time' | 'offset';

/** Reset a paused group's offsets, after a confirmation made from a dry run of the same request. */
export function ResetOffsets({
  base,
  paused,
  topics,
  done,
}: {
  base: string;
  paused: boolean;
  topics: string[];
  done: () => void;
}) {
  const [target, setTarget] = useState<Target>('earliest');
  const [time, setTime] = useState('');
  const [offset, setOffset] = useState('0');
  const [topic, setTopic] = useState(topics[0] ?? '');
  const [partition, setPartition] = useState('0');
  const body = (): Record<string, unknown> => {
    if (target === 'time') return { to: { timestamp: new Date(time).toISOString() } };
    if (target === 'offset') return { to: { offset }, topic, partition: Number(partition) };
    return { to: target };
  };
  const confirm = async (): Promise<string> => {
    let answer: unknown;
    try {
      answer = await api<unknown>('POST', `${base}/offsets/reset`, { ...body(), dryRun: true });
    } catch (e) {
      // 400 naming dryRun: an API from before dry runs; anything else (409 not paused, 422) is the answer
      if (!(e instanceof ApiError && e.status === 400 && `${e.field} ${e.detail}`.includes('dryRun'))) throw e;
    }
    const rows = previewRows(answer);
    return rows
      ? describeReset(rows)
      : 'This API cannot preview the reset, so what will be redelivered is not known. Reset the offsets?';
  };
  return (
    <>
      <h2>Reset offsets</h2>
      {!paused ? <p className="muted">Pause the group first: offsets move only while it consumes nothing.</p> : null}
      <div className="inline-form">
        <select value={target} onChange={(e) => setTarget(e.target.value as Target)} aria-label="reset to">
          <option value="earliest">to earliest</option>
          <option value="latest">to latest</option>
          <option value="time">to a time</option>
          <option value="offset">to an offset</option>
        </select>
        {target === 'time' ? (
          <input type="datetime-local" step="1" value={time} onChange={(e) => setTime(e.target.value)} aria-label="reset time" />
        ) : null}
        {target === 'offset' ? (
          <>
            <select value={topic} onChange={(e) => setTopic(e.target.value)} aria-label="reset topic">
              {topics.map((t) => (
                <option key={t}>{t}</option>
              ))}
            </select>
            <input
              value={partition}
              onChange={(e) => setPartition(e.target.value)}
              aria-label="reset partition"
              inputMode="numeric"
            />
            <input value={offset} onChange={(e) => setOffset(e.target.value)} aria-label="reset offset" inputMode="numeric" />
          </>
        ) : null}
        <ActionButton
          label="Reset"
          danger
          testId="reset"
          confirm={confirm}
          run={async () => {
            await api('POST', `${base}/offsets/reset`, body());
            done();
            return 'offsets reset';
          }}
        />
      </div>
    </>
  );
}
