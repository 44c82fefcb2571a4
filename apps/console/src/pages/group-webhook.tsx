import { useState } from 'react';
import { api, enc } from '../api';
import { useGet } from '../hooks';
import { ActionButton, ErrorNote, WriteOnly } from '../ui';

interface Attempt {
  id: string;
  topic: string;
  partition: number;
  firstOffset: string;
  lastOffset: string;
  attempt: number;
  status: number | null;
  error: string | null;
  createdAt?: string;
  at?: string;
}
interface DeadLetter {
  id: string;
  topic: string;
  partition: number;
  offset: string;
  error: string;
  attemptLog: Attempt[];
}

interface Status {
  url: string;
  status: string;
  detail: string | null;
  updatedAt: string | null;
}

function WebhookStatus({ status }: { status: Status }) {
  return (
    <p className={status.status === 'active' ? undefined : 'error'}>
      Endpoint <code>{status.url}</code>: {status.status}
      {status.detail ? ` (${status.detail})` : ''}
      {status.updatedAt ? `, since ${status.updatedAt}` : ''}
    </p>
  );
}

/** A webhook group's delivery: attempts, dead letters with replay and discard, test delivery, secrets. */
export function WebhookPanel({ group }: { group: string }) {
  const base = `/api/v1/groups/${enc(group)}`;
  const attempts = useGet<{ status: unknown; attempts: Attempt[] }>(`${base}/attempts?limit=20`, 5_000);
  const dead = useGet<DeadLetter[]>(`${base}/dead-letters`, 5_000);
  const [secret, setSecret] = useState<string>();
  return (
    <>
      <h2>Webhook</h2>
      <WriteOnly>
        <div className="toolbar">
          <ActionButton
            label="Send test delivery"
            testId="webhook-test"
            run={async () => {
              const r = await api<{ ok: boolean; status: number | null; error: string | null; latencyMs: number }>(
                'POST',
                `${base}/webhook/test`,
              );
              return r.ok ? `endpoint answered ${r.status} in ${Math.round(r.latencyMs)} ms` : `failed: ${r.error ?? r.status}`;
            }}
          />
          <ActionButton
            label="Rotate secret"
            testId="rotate-secret"
            confirm={() =>
              'Make a new signing secret? Both sign until you drop the previous one; the new one is shown only once.'
            }
            run={async () => {
              const r = await api<{ secret?: string }>('POST', `${base}/webhook/secrets/rotate`);
              setSecret(r.secret);
            }}
          />
        </div>
        {secret ? (
          <p className="once" data-testid="new-secret">
            New secret (shown only now, copy it to the endpoint): <code>{secret}</code>
          </p>
        ) : null}
      </WriteOnly>
      <h3>Dead letters</h3>
      <ErrorNote error={dead.error} />
      <table data-testid="dead-letters">
        <thead>
          <tr>
            <th>#</th>
            <th>Message</th>
            <th>Error</th>
            <th>Attempts</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(dead.data ?? []).map((d) => (
            <tr key={d.id} className="stuck" data-testid={`dead-letter-${d.id}`}>
              <td>{d.id}</td>
              <td>
                {d.topic}[{d.partition}] @ {d.offset}
              </td>
              <td>{d.error}</td>
              <td>{d.attemptLog.length}</td>
              <td>
                <WriteOnly>
                  <ActionButton
                    label="Replay"
                    testId={`replay-${d.id}`}
                    run={async () => {
                      const r = await api<{ delivered: number; failed: unknown[] }>(
                        'POST',
                        `/api/v1/dead-letters/${enc(d.id)}/replay`,
                      );
                      dead.reload();
                      return r.delivered ? 'delivered' : `not delivered (${r.failed.length} failed)`;
                    }}
                  />
                  <ActionButton
                    label="Discard"
                    danger
                    confirm={() => `Discard dead letter ${d.id} for good? The group already moved past it.`}
                    run={async () => (await api('DELETE', `/api/v1/dead-letters/${enc(d.id)}`), dead.reload())}
                  />
                </WriteOnly>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {dead.data && !dead.data.length ? <p className="muted">no dead letters</p> : null}
      <h3>Attempt log</h3>
      <ErrorNote error={attempts.error} />
      {attempts.data?.status ? <WebhookStatus status={attempts.data.status as Status} /> : null}
      <table>
        <thead>
          <tr>
            <th>#</th>
            <th>Messages</th>
            <th>Attempt</th>
            <th>Answer</th>
            <th>Error</th>
          </tr>
        </thead>
        <tbody>
          {(attempts.data?.attempts ?? []).map((a) => (
            <tr key={a.id} className={a.error ? 'stuck' : undefined}>
              <td>{a.id}</td>
              <td>
                {a.topic}[{a.partition}] {a.firstOffset}–{a.lastOffset}
              </td>
              <td>{a.attempt}</td>
              <td>{a.status ?? '–'}</td>
              <td>{a.error ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
