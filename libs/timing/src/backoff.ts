/**
 * Exponential backoff with full jitter: base = initial * 2^(attempt - 1) capped at max, the delay in
 * [base/2, base]. `random = NO_JITTER` gives the base itself (for waits that must be predictable).
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + (random() * base) / 2);
}

/** For backoffDelay: no jitter, the delay is the capped exponential base. */
export const NO_JITTER = (): number => 1;
