import { useEffect, useState, type ChangeEvent } from 'react';
import { parse, stringify } from 'yaml';
import { api } from '../api';
import { useAccess, useGet } from '../hooks';
import { ActionButton, ErrorNote, WriteOnly } from '../ui';
import { Tokens } from './tokens';

interface Change {
  action: string;
  kind: string;
  name: string;
  detail: string;
}
interface ApplyResult {
  changes: Change[];
  applied: boolean;
  generatedSecrets: { group: string; secret: string }[];
}

/** The running configuration as YAML (secrets masked by the API), apply with the plan first, and tokens. */
export function ConfigPage() {
  const config = useGet<unknown>('/api/v1/config');
  const access = useAccess();
  const [text, setText] = useState('');
  const [plan, setPlan] = useState<ApplyResult>();
  const [planned, setPlanned] = useState<string>();
  const [result, setResult] = useState<ApplyResult>();
  const [error, setError] = useState<Error>();
  useEffect(() => {
    if (config.data !== undefined) setText(stringify(config.data));
  }, [config.data]);

  const document = (): unknown => {
    try {
      return parse(text) as unknown;
    } catch (e) {
      throw new Error(`not YAML: ${(e as Error).message}`);
    }
  };
  const preview = async (): Promise<void> => {
    setError(undefined);
    setResult(undefined);
    try {
      setPlan(await api<ApplyResult>('POST', '/api/v1/config/apply?dryRun=true', document()));
      setPlanned(text);
    } catch (e) {
      setPlan(undefined);
      setError(e as Error);
    }
  };
  const upload = (e: ChangeEvent<HTMLInputElement>): void => {
    const file = e.target.files?.[0];
    if (file) void file.text().then((t) => (setText(t), setPlan(undefined)));
  };
  return (
    <section>
      <h1>Configuration</h1>
      <ErrorNote error={config.error} />
      <p className="muted">
        The running sources, topics and groups, as apply takes them: passwords are ***, webhook secrets left out (apply keeps the
        stored ones).
      </p>
      <textarea
        className="yaml"
        value={text}
        readOnly={access === 'read'}
        onChange={(e) => (setText(e.target.value), setPlan(undefined))}
        spellCheck={false}
        aria-label="configuration YAML"
      />
      <WriteOnly>
        <div className="inline-form">
          <label>
            Upload a file <input type="file" accept=".yaml,.yml,.json" onChange={upload} />
          </label>
          <button type="button" onClick={() => void preview()} data-testid="plan">
            Show the plan
          </button>
        </div>
        <ErrorNote error={error} />
        {plan ? <Plan plan={plan} /> : null}
        {plan && planned === text && !plan.changes.some((c) => c.action === 'conflict') ? (
          <ActionButton
            label="Apply this plan"
            testId="apply"
            run={async () => {
              const r = await api<ApplyResult>('POST', '/api/v1/config/apply', document());
              setResult(r);
              setPlan(undefined);
              config.reload();
              return r.applied ? 'applied' : 'nothing applied';
            }}
          />
        ) : null}
        {result?.generatedSecrets.length ? (
          <div className="once">
            New webhook secrets, shown only now:
            {result.generatedSecrets.map((s) => (
              <p key={s.group}>
                {s.group}: <code>{s.secret}</code>
              </p>
            ))}
          </div>
        ) : null}
      </WriteOnly>
      {access !== 'read' ? <Tokens /> : null}
    </section>
  );
}

function Plan({ plan }: { plan: ApplyResult }) {
  const changing = plan.changes.filter((c) => c.action !== 'unchanged');
  return (
    <table data-testid="apply-plan">
      <caption>
        {changing.length ? `${changing.length} change(s) planned; nothing is changed until you apply` : 'nothing would change'}
      </caption>
      <thead>
        <tr>
          <th>Action</th>
          <th>Kind</th>
          <th>Name</th>
          <th>Detail</th>
        </tr>
      </thead>
      <tbody>
        {plan.changes.map((c) => (
          <tr
            key={`${c.kind}-${c.name}`}
            className={c.action === 'conflict' ? 'stuck' : c.action === 'unchanged' ? 'muted' : undefined}
          >
            <td>{c.action}</td>
            <td>{c.kind}</td>
            <td>{c.name}</td>
            <td>{c.detail}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
