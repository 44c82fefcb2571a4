import type { ClientBase } from 'pg';

/** A backfill filter Postgres understood but that is not allowed (HTTP 422): it is not only about the table's own row. */
export class UnsafeWhereError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeWhereError';
  }
}

/** How long the check (and the estimate) of a request may take, waiting for the table's lock included. */
export const FILTER_CHECK_TIMEOUT_MS = 5_000;

/**
 * Nodes a filter's parse tree may hold, besides the wrapping `SELECT 1 FROM <table> WHERE (...)`. Left
 * out on purpose: SUBLINK (a sub-query), SQLVALUEFUNCTION (current_user, current_timestamp: stable, and
 * they read the session), COERCEVIAIO (a cast through the types' text forms, whose I/O functions may
 * depend on settings), COERCETODOMAIN (a domain's CHECK may call anything), MINMAXEXPR (its comparison
 * function is not in the tree), aggregates, window functions, sequences, parameters.
 */
const ALLOWED_NODES = new Set([
  'QUERY', 'RANGETBLENTRY', 'ALIAS', 'RTEPERMISSIONINFO', 'FROMEXPR', 'RANGETBLREF', 'TARGETENTRY',
  'VAR', 'CONST', 'FUNCEXPR', 'NAMEDARGEXPR', 'OPEXPR', 'DISTINCTEXPR', 'NULLIFEXPR', 'SCALARARRAYOPEXPR',
  'ROWCOMPAREEXPR', 'BOOLEXPR', 'NULLTEST', 'BOOLEANTEST', 'CASEEXPR', 'CASEWHEN', 'CASETESTEXPR',
  'COALESCEEXPR', 'RELABELTYPE', 'ARRAYCOERCEEXPR', 'ARRAYEXPR', 'ROWEXPR', 'COLLATEEXPR', 'FIELDSELECT',
  'SUBSCRIPTINGREF',
]); // prettier-ignore

/** What a stored parse tree (`pg_node_tree` as text) names: node kinds, functions, operators, relations. */
export interface FilterReferences {
  nodes: Map<string, number>;
  functions: number[];
  operators: number[];
  relations: number[];
}

/**
 * Reads the references out of a rule's parse tree as Postgres prints it (outfuncs.c). Names and string
 * values in it are quoted with `{`, `(` and `"` escaped, so they can only add references that are not
 * there (a refusal), never hide one that is.
 */
export function filterReferences(tree: string): FilterReferences {
  const nodes = new Map<string, number>();
  for (const [, name] of tree.matchAll(/(?<!\\)\{([A-Z_]+)/g)) nodes.set(name, (nodes.get(name) ?? 0) + 1);
  const oids = (pattern: RegExp) => [...tree.matchAll(pattern)].map((m) => Number(m[1]));
  const rowOperators = [...tree.matchAll(/:opnos \(o((?: \d+)+)\)/g)].flatMap((m) => m[1].trim().split(' ').map(Number));
  return {
    nodes,
    functions: oids(/:(?:funcid|opfuncid) (\d+)/g).filter((oid) => oid !== 0),
    operators: [...oids(/:opno (\d+)/g), ...rowOperators],
    relations: oids(/:relid (\d+)/g),
  };
}

/**
 * Checks on the source that `where` is an expression over the table's own row only: Postgres parses it
 * into a temporary view, `SELECT 1 FROM <table> WHERE (<where>)`, in a transaction that is rolled back;
 * creating a view parses and analyses its query but runs nothing. The view's stored parse tree must then
 * hold no sub-query and no relation but the table, and every function and operator it calls must be
 * IMMUTABLE (pg_proc.provolatile = 'i': its result depends on its arguments alone, it reads no table,
 * setting or file and changes nothing) and not SECURITY DEFINER. (pg_depend cannot tell this: built-in
 * functions and catalogs are pinned and have no dependency rows.) Errors of the expression itself
 * (syntax, unknown column, not a boolean) are thrown as Postgres gives them, for the caller to map.
 */
export async function checkFilter(
  client: ClientBase,
  table: { oid: number; qualified: string },
  where: string,
  timeoutMs = FILTER_CHECK_TIMEOUT_MS,
): Promise<void> {
  const ms = Math.trunc(timeoutMs);
  await client.query(`BEGIN; SET LOCAL statement_timeout = ${ms}; SET LOCAL lock_timeout = ${ms}`);
  try {
    // The extended protocol takes exactly one statement, whatever the text holds.
    await client.query({
      text: `CREATE TEMPORARY VIEW tributary_filter_check AS SELECT 1 FROM ${table.qualified} WHERE (${where})`,
      queryMode: 'extended',
    } as { text: string });
    const { rows } = await client.query<{ tree: string }>(
      `SELECT ev_action::text AS tree FROM pg_rewrite WHERE ev_class = 'pg_temp.tributary_filter_check'::regclass`,
    );
    const refs = filterReferences(rows[0].tree);
    refuseNodes(refs, table.oid);
    const { rows: unsafe } = await client.query<{ name: string; volatility: string; definer: boolean }>(
      `SELECT p.oid::regprocedure::text AS name, p.provolatile AS volatility, p.prosecdef AS definer
         FROM pg_proc p WHERE p.oid = ANY ($1::oid[]) AND (p.provolatile <> 'i' OR p.prosecdef)
       UNION ALL
       SELECT o.oid::regoperator::text, p.provolatile, p.prosecdef
         FROM pg_operator o JOIN pg_proc p ON p.oid = o.oprcode
        WHERE o.oid = ANY ($2::oid[]) AND (p.provolatile <> 'i' OR p.prosecdef)`,
      [refs.functions, refs.operators],
    );
    if (unsafe.length) {
      const why = (f: (typeof unsafe)[number]) =>
        `${f.name} is ${f.definer ? 'SECURITY DEFINER' : f.volatility === 'v' ? 'VOLATILE' : 'STABLE'}`;
      throw new UnsafeWhereError(
        `may only call IMMUTABLE functions and operators (results from the row's values alone): ${[...new Set(unsafe.map(why))].join(', ')}`,
      );
    }
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

function refuseNodes(refs: FilterReferences, tableOid: number): void {
  if ((refs.nodes.get('SUBLINK') ?? 0) > 0 || (refs.nodes.get('QUERY') ?? 0) > 1) {
    throw new UnsafeWhereError("must not contain a sub-query: a filter is an expression over the table's own columns");
  }
  if (refs.relations.some((oid) => oid !== tableOid)) {
    throw new UnsafeWhereError("must not read other tables: a filter is an expression over the table's own columns");
  }
  const other = [...refs.nodes.keys()].filter((n) => !ALLOWED_NODES.has(n));
  if (other.length) {
    throw new UnsafeWhereError(
      `uses ${other.map((n) => NODE_NAMES[n] ?? n.toLowerCase()).join(', ')}, which a filter may not: only the row's columns, constants, and IMMUTABLE functions and operators`,
    );
  }
}

/** Words for the refused nodes a user is likely to write. */
const NODE_NAMES: Record<string, string> = {
  SQLVALUEFUNCTION: 'a session value (current_user, current_timestamp...)',
  COERCEVIAIO: 'a cast through text (e.g. ::text of a non-text column)',
  COERCETODOMAIN: 'a cast to a domain',
  MINMAXEXPR: 'GREATEST/LEAST',
  AGGREF: 'an aggregate',
  WINDOWFUNC: 'a window function',
};
