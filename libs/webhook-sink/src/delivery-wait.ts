import { sleep } from '@tributary/timing';

/** Thrown when a wait ends because the delivery was called off (the runner stops or lost the partition). */
export class DeliveryAbortedError extends Error {
  constructor() {
    super('delivery called off (stopping, or the partition moved)');
    this.name = 'DeliveryAbortedError';
  }
}

/** A wait that rejects with DeliveryAbortedError once the delivery is called off. */
export type Sleeper = (ms: number) => Promise<void>;

/**
 * The sleeper for a delivery: the runtime's own wait when it offers one (it keeps the membership alive
 * through long waits), else a plain timer; either way it rejects once the signal is aborted.
 */
export function sleeperFor(signal?: AbortSignal, wait?: (ms: number) => Promise<void>): Sleeper {
  return async (ms) => {
    if (signal?.aborted) throw new DeliveryAbortedError();
    if (wait) await wait(ms);
    else
      await sleep(ms, signal).catch((error: Error) => {
        throw error.name === 'AbortError' ? new DeliveryAbortedError() : error;
      });
    if (signal?.aborted) throw new DeliveryAbortedError();
  };
}
