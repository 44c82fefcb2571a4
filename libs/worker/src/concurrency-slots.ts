/**
 * A counting semaphore, first come first served: at most `size` holders at once. A waiter whose signal
 * is aborted leaves the queue and gets `false`.
 */
export class ConcurrencySlots {
  private free: number;
  private readonly queue: { grant(): void }[] = [];

  constructor(readonly size: number) {
    this.free = Math.max(1, Math.floor(size));
  }

  /** Resolves true once a slot is this caller's (give it back with release()), false if `signal` aborted first. */
  acquire(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.free > 0 && this.queue.length === 0) {
      this.free--;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const entry = {
        grant: () => {
          signal?.removeEventListener('abort', cancel);
          resolve(true);
        },
      };
      const cancel = (): void => {
        const i = this.queue.indexOf(entry);
        if (i >= 0) this.queue.splice(i, 1);
        resolve(false);
      };
      signal?.addEventListener('abort', cancel, { once: true });
      this.queue.push(entry);
    });
  }

  release(): void {
    const next = this.queue.shift();
    if (next) next.grant();
    else this.free++;
  }
}
