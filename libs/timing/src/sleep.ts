import { setTimeout as wait } from 'node:timers/promises';

/**
 * Waits `ms`. With a signal it rejects (an AbortError) as soon as the signal aborts, so a wait never
 * outlives the reason for it; callers that must tell the abort apart check `error.name === 'AbortError'`.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return wait(ms, undefined, signal ? { signal } : undefined);
}

/**
 * Waits `ms`, or less when `signal` aborts (a stop, a pause, a revoke): a backoff that never outlives
 * the reason for it. Resolves either way; the only rejection of `wait` is the abort itself.
 */
export async function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return;
  await wait(ms, undefined, { signal }).catch((error: Error) => {
    if (error.name !== 'AbortError') throw error;
  });
}
