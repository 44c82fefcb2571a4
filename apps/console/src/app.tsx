import { useEffect, useState, type FormEvent } from 'react';
import { hasToken, probeAccess, setToken } from './api';
import { useAccess } from './hooks';
import { ConfigPage } from './pages/config';
import { GroupPage } from './pages/group';
import { OverviewPage } from './pages/overview';
import { SourcePage } from './pages/source';
import { TopicPage } from './pages/topic';
import { href, parseRoute, type Route } from './route';
import { ErrorNote, PageBoundary } from './ui';

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const changed = (): void => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}

export function App() {
  const access = useAccess();
  const route = useRoute();
  const [error, setError] = useState<Error>();
  useEffect(() => {
    if (access === 'unknown') probeAccess().catch((e: unknown) => setError(e as Error));
  }, [access]);
  return (
    <div className="shell">
      <header>
        <a className="brand" href={href({ page: 'overview' })}>
          Tributary
        </a>
        <nav>
          <a href={href({ page: 'overview' })}>Overview</a>
          <a href={href({ page: 'config' })}>Config</a>
        </nav>
        <span className="who" data-testid="access">
          {access === 'read' ? 'read-only token' : access === 'admin' ? 'admin' : ''}
        </span>
        {access === 'admin' || access === 'read' ? (
          <button type="button" className="link" onClick={() => setToken(null)}>
            forget token
          </button>
        ) : null}
      </header>
      <main>
        <ErrorNote error={error} />
        {access === 'token' ? (
          <TokenPrompt />
        ) : access === 'unknown' ? (
          <p className="muted">connecting…</p>
        ) : (
          <PageBoundary page={window.location.hash}>
            <Page route={route} />
          </PageBoundary>
        )}
      </main>
    </div>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'overview':
      return <OverviewPage />;
    case 'source':
      return <SourcePage name={route.name} />;
    case 'topic':
      return <TopicPage name={route.name} />;
    case 'group':
      return <GroupPage name={route.name} />;
    case 'config':
      return <ConfigPage />;
  }
}

/** Asked once per tab when the API answers 401; the token stays in sessionStorage until the tab closes. */
function TokenPrompt() {
  const [value, setValue] = useState('');
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (value.trim()) setToken(value.trim());
  };
  return (
    <form className="card token" onSubmit={submit}>
      <h2>This API needs a token</h2>
      <p className="muted">
        Paste an API token (kept for this tab only). An admin token can make changes; a read token only looks.
      </p>
      {hasToken() ? (
        <p className="error" role="alert">
          The API refused the token this tab had: it is unknown or was revoked.
        </p>
      ) : null}
      <input
        type="password"
        autoComplete="off"
        placeholder="trb_…"
        value={value}
        onChange={(e) => setValue(e.target.value)}
        name="token"
        aria-label="API token"
      />
      <button type="submit">Use token</button>
    </form>
  );
}
