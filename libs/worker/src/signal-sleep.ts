import { setTimeout as wait } from 'node:timers/promises';

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
