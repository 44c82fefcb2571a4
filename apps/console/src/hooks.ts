import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { api, ApiError, currentAccess, onAccessChange, stream, type Access } from './api';
import { liveFromRest, type RestGroup, type RestSource } from './rest-live';
import type { LiveStats } from './stats';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  reload: () => void;
}

/** GET `path` (again every `refreshMs` when given); null skips the call. */
export function useGet<T>(path: string | null, refreshMs?: number): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError | Error>();
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    if (path === null) return;
    let live = true;
    api<T>('GET', path).then(
      (d) => live && (setData(d), setError(undefined)),
      (e: unknown) => live && setError(e instanceof Error ? e : new Error(String(e))),
    );
    const timer = refreshMs ? setTimeout(reload, refreshMs) : undefined;
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [path, refreshMs, tick, reload]);
  return { data, error, reload };
}

export function useAccess(): Access {
  return useSyncExternalStore(onAccessChange, currentAccess);
}

const POLL_MS = 2_000;

/**
 * The live statistics: `GET /api/v1/stats/live` (server-sent events, a snapshot every 2 s). Where the API
 * has no such stream (404: an older API) the same snapshot is made every 2 s from the sources and groups
 * lists, rates taken from the difference between two of them.
 */
export function useLiveStats(): { stats: LiveStats | undefined; error: Error | undefined } {
  const [stats, setStats] = useState<LiveStats>();
  const [error, setError] = useState<Error>();
  const previous = useRef<{ stats: LiveStats; appended: Map<string, number> }>(undefined);
  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async (): Promise<void> => {
      try {
        const [sources, groups] = await Promise.all([
          api<RestSource[]>('GET', '/api/v1/sources'),
          api<RestGroup[]>('GET', '/api/v1/groups'),
        ]);
        const next = liveFromRest(previous.current, sources, groups, Date.now());
        previous.current = next;
        setStats(next.stats);
        setError(undefined);
      } catch (e) {
        setError(e as Error);
      }
      if (!abort.signal.aborted) timer = setTimeout(() => void poll(), POLL_MS);
    };
    const connect = async (): Promise<void> => {
      try {
        await stream('/api/v1/stats/live', (e) => e.event === 'stats' && setStats(JSON.parse(e.data) as LiveStats), abort.signal);
      } catch (e) {
        if (abort.signal.aborted) return;
        if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return void poll();
        setError(e as Error);
      }
      // the stream ended or broke: reconnect after a pause, as EventSource would
      if (!abort.signal.aborted) timer = setTimeout(() => void connect(), POLL_MS);
    };
    void connect();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, []);
  return { stats, error };
}
