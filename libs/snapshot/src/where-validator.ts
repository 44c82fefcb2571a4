import type { ClientBase } from 'pg';
import { whereShapeProblem } from '@tributary/config';
import { checkFilter, FILTER_CHECK_TIMEOUT_MS } from './filter-check';

export class InvalidWhereError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidWhereError';
  }
}

/** Throws InvalidWhereError unless `where` is one expression that stays inside `WHERE (...)` (whereShapeProblem). */
export function checkWhereShape(where: string): void {
  const problem = whereShapeProblem(where);
  if (problem) throw new InvalidWhereError(problem);
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
