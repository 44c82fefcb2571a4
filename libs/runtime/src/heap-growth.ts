import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what the last full collection kept, before the next:
 * 50 % here. Left to itself, on a machine with gigabytes of memory V8 allows up to four times the live
 * heap, so the all-in-one process of bench:fanout, live heap 40–50 MB, ran to 228 MB of RSS holding
 * mostly garbage (172 MB with this). V8 reads the flag at every collection, so set at start-up it holds
 * however node was launched (npm start, the CLI, the container); a full collection of a heap this size
 * takes milliseconds.
 */
export const HEAP_GROWING_PERCENT = 50;

export function limitHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
