/** Thrown when a wait ends because the delivery was called off (the runner stops or lost the partition). */
export class DeliveryAbortedError extends Error {
  constructor() {
    super('delivery called off (stopping, or the partition moved)');
    this.name = 'DeliveryAbortedError';
  }
}

/** Resolves after `ms`, or rejects with DeliveryAbortedError as soon as the signal aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new DeliveryAbortedError());
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new DeliveryAbortedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A wait that rejects with DeliveryAbortedError once the delivery is called off. */
export type Sleeper = (ms: number) => Promise<void>;

/**
 * The sleeper for a delivery: the runtime's own wait when it offers one (it keeps the membership alive
 * through long waits), else a plain timer; either way it rejects once the signal is aborted.
 */
export function sleeperFor(signal?: AbortSignal, wait?: (ms: number) => Promise<void>): Sleeper {
  if (!wait) return (ms) => abortableSleep(ms, signal);
  return async (ms) => {
    if (signal?.aborted) throw new DeliveryAbortedError();
    await wait(ms);
    if (signal?.aborted) throw new DeliveryAbortedError();
  };
}
