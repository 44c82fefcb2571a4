import { useState, type FormEvent } from 'react';
import { api, enc } from '../api';
import { useGet } from '../hooks';
import { ActionButton, ErrorNote } from '../ui';

interface Token {
  id: string;
  name: string;
  role: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/** API tokens (admins only): create one (its secret shown once) or revoke one. */
export function Tokens() {
  const tokens = useGet<Token[]>('/api/v1/tokens');
  const [name, setName] = useState('');
  const [role, setRole] = useState('read');
  const [created, setCreated] = useState<{ name: string; token: string }>();
  const [error, setError] = useState<Error>();
  const create = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setError(undefined);
    try {
      const t = await api<Token & { token: string }>('POST', '/api/v1/tokens', { name, role });
      setCreated({ name: t.name, token: t.token });
      setName('');
      tokens.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <>
      <h2>API tokens</h2>
      <ErrorNote error={tokens.error} />
      <table data-testid="tokens">
        <thead>
          <tr>
            <th>Name</th>
            <th>Role</th>
            <th>Created</th>
            <th>Last used</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(tokens.data ?? []).map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td>{t.role}</td>
              <td>{t.createdAt}</td>
              <td>{t.lastUsedAt ?? 'never'}</td>
              <td>
                <ActionButton
                  label="Revoke"
                  danger
                  confirm={() => `Revoke ${t.name}? It stops working at once.`}
                  run={async () => (await api('DELETE', `/api/v1/tokens/${enc(t.id)}`), tokens.reload())}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="inline-form" onSubmit={(e) => void create(e)}>
        <input placeholder="token name" value={name} onChange={(e) => setName(e.target.value)} aria-label="token name" />
        <select value={role} onChange={(e) => setRole(e.target.value)} aria-label="token role">
          <option value="read">read</option>
          <option value="consumer">consumer</option>
          <option value="admin">admin</option>
        </select>
        <button type="submit">Create token</button>
      </form>
      <ErrorNote error={error} />
      {created ? (
        <p className="once" data-testid="new-token">
          Token {created.name} (shown only now): <code>{created.token}</code>
        </p>
      ) : null}
    </>
  );
}
