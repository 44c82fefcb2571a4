/**
 * Kafka's default partitioner: murmur2 of the key's UTF-8 bytes, made positive, modulo the partition
 * count. Stable across processes and versions, so one key always lands in the same partition.
 */
export function partitionForKey(key: string | null, partitions: number): number {
  if (key === null || partitions === 1) return 0;
  return keyHash(key) % partitions;
}

/** The positive murmur2 hash of a key's UTF-8 bytes: its partition is this modulo the partition count. */
export function keyHash(key: string): number {
  // Capture partitions every change: encode into one reused buffer rather than a new one per key.
  const written = scratch.write(key, 'utf8');
  // write() stops before a character that does not fit whole (up to 4 bytes): only a key that left more
  // room than that surely fit.
  if (written <= scratch.length - 4) return murmur2(scratch, written) & 0x7fffffff;
  const bytes = Buffer.from(key, 'utf8');
  return murmur2(bytes, bytes.length) & 0x7fffffff;
}

/** Big enough for any usual key; a longer one gets its own. */
const scratch = Buffer.allocUnsafe(4096);

export function murmur2(data: Uint8Array, length = data.length): number {
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = (seed ^ length) | 0;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4] & 0xff) + ((data[i4 + 1] & 0xff) << 8) + ((data[i4 + 2] & 0xff) << 16) + ((data[i4 + 3] & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = length & 3;
  const tail = length - rest;
  if (rest === 3) h ^= (data[tail + 2] & 0xff) << 16;
  if (rest >= 2) h ^= (data[tail + 1] & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[tail] & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}
