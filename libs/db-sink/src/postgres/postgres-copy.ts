import { finished } from 'node:stream/promises';
import type { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { ColumnSchema } from '@tributary/schema-registry';
import { arrayLiteral, type ColumnTypes } from './postgres-batch';
import { toPostgres } from './postgres-values';

/** Below this many rows a batch's upsert costs less than the savepoint and COPY round trips around it. */
export const MIN_COPY_ROWS = 100;
/** After a conflict a table skips COPY for 2, 4, ... up to this many upserts, so a stream of updates pays for few failed COPYs. */
const MAX_BACKOFF = 128;
const SAVEPOINT = 'tributary_copy';

/**
 * The fast path of an upsert whose rows are new to the target (an initial snapshot, plain inserts):
 * `COPY ... FROM STDIN` of the rows under a savepoint of the batch's own transaction (the one that
 * stores the offsets, so exactly once holds). With no row already in the target, an
 * `INSERT ... ON CONFLICT DO UPDATE` only inserts, so the COPY does exactly what the upsert would;
 * with one (a streamed change reached the target first), the COPY fails with a unique violation, is
 * rolled back to the savepoint, and the caller runs the upsert. Any other error is left to the upsert
 * too, so its message is the one the upsert path gives. Rows come from one step of the change plan:
 * one row per key, each key's latest values, so order within the batch is already settled.
 *
 * A table whose COPY conflicted skips the fast path for a while (doubling up to MAX_BACKOFF upserts).
 */
export class CopyInserts {
  /** Target table -> upserts left to skip, and the next skip after another conflict. */
  private readonly backoff = new Map<string, { skip: number; next: number }>();

  /** Copies the rows and returns true, or returns false (nothing changed) when the caller must upsert them. */
  async tryCopy(
    client: Client,
    table: { id: string; sql: string },
    columns: ColumnSchema[],
    types: ColumnTypes,
    rows: Record<string, unknown>[],
  ): Promise<boolean> {
    if (rows.length < MIN_COPY_ROWS || this.skipping(table.id)) return false;
    await client.query(`SAVEPOINT ${SAVEPOINT}`);
    const sql = `COPY ${table.sql} (${columns.map((c) => quote(c.name)).join(', ')}) FROM STDIN`;
    try {
      const stream = client.query(copyFrom(sql));
      stream.end(copyText(columns, types, rows));
      await finished(stream);
    } catch (error) {
      // A server error leaves the session usable; anything else (a lost connection) is the caller's.
      if (!(error as { code?: string }).code) throw error;
      await client.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}; RELEASE SAVEPOINT ${SAVEPOINT}`);
      this.conflicted(table.id);
      return false;
    }
    await client.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
    this.backoff.delete(table.id);
    return true;
  }

  private skipping(id: string): boolean {
    const state = this.backoff.get(id);
    if (!state || state.skip === 0) return false;
    state.skip--;
    return true;
  }

  private conflicted(id: string): void {
    const next = this.backoff.get(id)?.next ?? 2;
    this.backoff.set(id, { skip: next, next: Math.min(next * 2, MAX_BACKOFF) });
  }
}

/**
 * Rows as `COPY ... FROM STDIN` text: one line per row, values tab-separated, `\N` for NULL, and
 * backslash, tab, newline and carriage return escaped (so a text `\N` stays text). Each value is
 * first what the upsert would bind (toPostgres): bytea as `\x` hex, arrays as array literals.
 */
export function copyText(columns: ColumnSchema[], types: ColumnTypes, rows: Record<string, unknown>[]): string {
  const arrays = columns.map((c) => (types.get(c.name) ?? '').endsWith('[]'));
  const lines = new Array<string>(rows.length);
  const fields = new Array<string>(columns.length);
  for (let r = 0; r < rows.length; r++) {
    for (let i = 0; i < columns.length; i++) {
      const v = toPostgres(rows[r][columns[i].name], columns[i]);
      fields[i] = v === null ? '\\N' : escapeCopy(fieldText(v, arrays[i]));
    }
    lines[r] = fields.join('\t');
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

function fieldText(value: unknown, array: boolean): string {
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (Array.isArray(value)) return array ? arrayLiteral(value) : String(value); // as the upsert binds it
  if (typeof value === 'boolean') return value ? 't' : 'f';
  return typeof value === 'string' ? value : String(value);
}

const SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function escapeCopy(text: string): string {
  return SPECIAL.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]) : text;
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
