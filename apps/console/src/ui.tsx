import { Component, useState, type ErrorInfo, type ReactNode } from 'react';
import { ApiError } from './api';
import { useAccess } from './hooks';

/** An error as the operator should read it: the API's detail and the field it names. */
export function ErrorNote({ error }: { error: Error | undefined }) {
  if (!error) return null;
  const status = error instanceof ApiError ? ` (HTTP ${error.status})` : '';
  return (
    <p className="error" role="alert">
      {error.message}
      {status}
    </p>
  );
}

/** Children only for tokens that may write: read-only tokens see no write controls at all. */
export function WriteOnly({ children }: { children: ReactNode }) {
  return useAccess() === 'read' ? null : <>{children}</>;
}

/**
 * A button that runs an action, shows it running, and shows its error or `done` text after; `confirm`
 * asks first (the text says what the action will do).
 */
export function ActionButton({
  label,
  run,
  confirm,
  testId,
  danger,
}: {
  label: string;
  run: () => Promise<string | void>;
  confirm?: () => string | Promise<string>;
  testId?: string;
  danger?: boolean;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const [done, setDone] = useState<string>();
  const click = async (): Promise<void> => {
    setError(undefined);
    setDone(undefined);
    try {
      if (confirm && !window.confirm(await confirm())) return;
      setBusy(true);
      setDone((await run()) ?? undefined);
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="action">
      <button
        type="button"
        className={danger ? 'danger' : undefined}
        disabled={busy}
        onClick={() => void click()}
        data-testid={testId}
      >
        {busy ? `${label}…` : label}
      </button>
      {done ? <span className="ok">{done}</span> : null}
      <ErrorNote error={error} />
    </span>
  );
}

/** A progress bar of 0–100 (null: unknown). */
export function Progress({ percent }: { percent: number | null | undefined }) {
  const value = percent ?? 0;
  return (
    <span className="progress" title={percent === null || percent === undefined ? 'unknown' : `${value.toFixed(1)} %`}>
      <span style={{ width: `${Math.min(100, Math.max(0, value))}%` }} />
    </span>
  );
}

/** Pretty JSON of any value. */
export function Json({ value }: { value: unknown }) {
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
}

/** A page that throws while rendering shows what broke (and the rest of the console keeps working). */
export class PageBoundary extends Component<{ children: ReactNode; page: string }, { error?: Error }> {
  override state: { error?: Error } = {};

  static getDerivedStateFromError(error: Error): { error: Error } {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error(`the ${this.props.page} page failed`, error, info.componentStack);
  }

  override componentDidUpdate(previous: { page: string }): void {
    if (previous.page !== this.props.page && this.state.error) this.setState({ error: undefined });
  }

  override render(): ReactNode {
    return this.state.error ? (
      <ErrorNote error={new Error(`this page failed: ${this.state.error.message}`)} />
    ) : (
      this.props.children
    );
  }
}
