import { SseParser, type SseEvent } from './sse';

const TOKEN_KEY = 'tributary.token';

/** An answer other than 2xx, with the problem+json body's `detail` and `field` when it has them. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly field?: string,
    readonly body?: unknown,
  ) {
    super(field ? `${detail} (${field})` : detail);
    this.name = 'ApiError';
  }
}

type Listener = () => void;
const listeners = new Set<Listener>();
/** Who is calling: `unknown` until the first answer, `token` when the API asked for one (401). */
export type Access = 'unknown' | 'token' | 'admin' | 'read';
let access: Access = 'unknown';

export function currentAccess(): Access {
  return access;
}
export function onAccessChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
function setAccess(next: Access): void {
  if (next === access) return;
  access = next;
  listeners.forEach((l) => l());
}

/** The token is kept for the tab only (sessionStorage): closing it forgets the token. */
export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  setAccess('unknown');
}

/** Whether the tab holds a token (on a 401: the one it had was refused). */
export function hasToken(): boolean {
  return sessionStorage.getItem(TOKEN_KEY) !== null;
}

function headers(json: boolean): Record<string, string> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return { ...(json ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) };
}

async function failure(res: Response): Promise<ApiError> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const problem = (body ?? {}) as { detail?: unknown; title?: unknown; field?: unknown };
  const detail =
    typeof problem.detail === 'string' ? problem.detail : typeof problem.title === 'string' ? problem.title : res.statusText;
  if (res.status === 401) setAccess('token');
  return new ApiError(
    res.status,
    detail || `HTTP ${res.status}`,
    typeof problem.field === 'string' ? problem.field : undefined,
    body,
  );
}

/** One call of the REST API; JSON in and out (writes always send JSON, as the API requires of browsers). */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    const error = await failure(res);
    // a write refused for the token's role: this token is read-only, hide the write controls
    if (res.status === 403 && method !== 'GET' && error.field === undefined) setAccess('read');
    throw error;
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * What the token may do: `GET /api/v1/tokens` is for admins only, so 200 means writes are allowed
 * (also on an open API), 403 a read-only token, 401 that a token is needed.
 */
export async function probeAccess(): Promise<Access> {
  try {
    await api('GET', '/api/v1/tokens');
    setAccess('admin');
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) setAccess('read');
    else if (!(e instanceof ApiError && e.status === 401)) throw e;
  }
  return access;
}

/**
 * Reads a server-sent event stream with fetch (EventSource cannot send the Authorization header) until
 * `signal` aborts or the server ends it. Rejects with ApiError on a non-2xx answer (404: no such stream).
 */
export async function stream(path: string, onEvent: (e: SseEvent) => void, signal: AbortSignal): Promise<void> {
  const res = await fetch(path, { headers: { ...headers(false), accept: 'text/event-stream' }, signal });
  if (!res.ok) throw await failure(res);
  if (!res.body) return;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    for (const event of parser.push(value)) onEvent(event);
  }
}

export const enc = encodeURIComponent;
