import { useState } from 'react';
import { api } from '../api';
import { describeReset, type ResetPreview } from '../reset-plan';
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
    try {
      const plan = await api<{ resets?: ResetPreview[] } | ResetPreview[]>('POST', `${base}/offsets/reset`, {
        ...body(),
        dryRun: true,
      });
      return describeReset(Array.isArray(plan) ? plan : (plan.resets ?? []));
    } catch {
      // an API from before dry runs refuses the key: say so rather than guess
      return 'This API cannot preview the reset, so what will be redelivered is not known. Reset the offsets?';
    }
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
