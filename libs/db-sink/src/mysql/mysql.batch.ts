/** Rows per prepared upsert at most: a power of two, so every batch is cut into few statement shapes. */
const LARGEST_CHUNK = 512;
/** Fewer rows than this go as one plain statement: a prepared one would be used too rarely to pay off. */
const SMALLEST_PREPARED = 16;

/** One statement's rows of a batch, and whether it runs as a prepared statement. */
export interface RowChunk {
  start: number;
  count: number;
  prepared: boolean;
}

/**
 * Cuts `rows` rows of `columns` columns into statements: prepared ones of a power-of-two row count (at
 * most LARGEST_CHUNK, and at most `maxParams` parameters), so a session prepares a handful of shapes per
 * table and column set and reuses them for every batch; the tail under SMALLEST_PREPARED rows as one plain
 * statement. Prepared, the rows travel in the binary protocol: no escaping on the client, no parsing of
 * the values on the server.
 */
export function rowChunks(rows: number, columns: number, maxParams: number): RowChunk[] {
  let size = LARGEST_CHUNK;
  while (size > 1 && size * columns > maxParams) size /= 2;
  const chunks: RowChunk[] = [];
  let start = 0;
  for (; size >= SMALLEST_PREPARED; size /= 2) {
    while (rows - start >= size) {
      chunks.push({ start, count: size, prepared: true });
      start += size;
    }
  }
  // The tail; for tables too wide for a prepared chunk, every row, in statements within maxParams.
  const plain = Math.max(1, Math.floor(maxParams / columns));
  for (; start < rows; start += plain) chunks.push({ start, count: Math.min(plain, rows - start), prepared: false });
  return chunks;
}
