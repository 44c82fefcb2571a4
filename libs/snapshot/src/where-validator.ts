import type { ClientBase } from 'pg';
import { checkFilter, FILTER_CHECK_TIMEOUT_MS } from './filter-check';

export class InvalidWhereError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidWhereError';
  }
}

const MAX_LENGTH = 4_000;

/**
 * Checks that `where` is one SQL expression that cannot end the surrounding statement: outside string
 * literals, quoted identifiers and dollar quotes it has no `;`, no comment and balanced parentheses. The
 * snapshot puts it inside `WHERE (...)`; this keeps it there.
 */
export function checkWhereShape(where: string): void {
  if (where.trim() === '') throw new InvalidWhereError('must not be empty');
  if (where.length > MAX_LENGTH) throw new InvalidWhereError(`must be at most ${MAX_LENGTH} characters`);
  let depth = 0;
  let i = 0;
  const n = where.length;
  while (i < n) {
    const c = where[i];
    const next = where[i + 1];
    if (c === "'") {
      // 'text' ('' inside), or E'text' with backslash escapes.
      const escapes = i > 0 && /[eE]/.test(where[i - 1]) && (i === 1 || !/[A-Za-z0-9_$]/.test(where[i - 2]));
      i++;
      for (;;) {
        if (i >= n) throw new InvalidWhereError('has an unterminated string literal');
        if (escapes && where[i] === '\\') i += 2;
        else if (where[i] === "'" && where[i + 1] === "'") i += 2;
        else if (where[i] === "'") break;
        else i++;
      }
      i++;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= n) throw new InvalidWhereError('has an unterminated quoted identifier');
        if (where[i] === '"' && where[i + 1] === '"') i += 2;
        else if (where[i] === '"') break;
        else i++;
      }
      i++;
    } else if (c === '$' && (i === 0 || !/[A-Za-z0-9_]/.test(where[i - 1]))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(where.slice(i));
      if (tag) {
        const end = where.indexOf(tag[0], i + tag[0].length);
        if (end < 0) throw new InvalidWhereError('has an unterminated dollar-quoted string');
        i = end + tag[0].length;
      } else i++;
    } else if (c === ';') {
      throw new InvalidWhereError('must be one expression: ";" is not allowed');
    } else if ((c === '-' && next === '-') || (c === '/' && next === '*')) {
      throw new InvalidWhereError('must not contain comments');
    } else if (c === '(') {
      depth++;
      i++;
    } else if (c === ')') {
      if (--depth < 0) throw new InvalidWhereError('has an unbalanced ")"');
      i++;
    } else i++;
  }
  if (depth !== 0) throw new InvalidWhereError('has an unbalanced "("');
}

/**
 * Validates `where` against the table on the source and returns the planner's estimate of the rows it
 * selects. First its shape, then, on the source, that it is an expression over the table's own columns
 * calling only IMMUTABLE functions (checkFilter: UnsafeWhereError), and last EXPLAIN in a READ ONLY
 * transaction that is rolled back, under a statement_timeout: planning folds immutable functions of
 * constants, and only an expression that passed the check gets that far.
 */
export async function explainRows(
  client: ClientBase,
  table: { oid: number; qualified: string },
  where: string | null,
  timeoutMs = FILTER_CHECK_TIMEOUT_MS,
): Promise<number> {
  if (where !== null) {
    checkWhereShape(where);
    try {
      await checkFilter(client, table, where, timeoutMs);
    } catch (error) {
      if (isSqlError(error)) throw new InvalidWhereError((error as Error).message);
      throw error;
    }
  }
  await client.query(`BEGIN READ ONLY; SET LOCAL statement_timeout = ${Math.trunc(timeoutMs)}`);
  try {
    // A parameter forces the extended protocol, which refuses more than one statement.
    const { rows } = await client.query<{ 'QUERY PLAN': { Plan: { 'Plan Rows': number } }[] }>(
      `EXPLAIN (FORMAT JSON) SELECT 1 FROM ${table.qualified} WHERE ${where === null ? 'true' : `(${where})`} AND $1::boolean`,
      [true],
    );
    return Math.round(rows[0]['QUERY PLAN'][0].Plan['Plan Rows']);
  } catch (error) {
    if (where !== null && isSqlError(error)) throw new InvalidWhereError((error as Error).message);
    throw error;
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

/** Errors of the statement itself (syntax, unknown column, type, permission), not of the connection. */
export function isSqlError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^(42|22|2F|38|39|0A|54)/.test(code);
}
