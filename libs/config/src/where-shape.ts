/**
 * The shape of a user's SQL row filter (a backfill's `where`, a captured table's `where`), checked before
 * any database sees it.
 */

const MAX_LENGTH = 4_000;

/**
 * Checks that `where` is one SQL expression that cannot end the surrounding statement: outside string
 * literals, quoted identifiers and dollar quotes it has no `;`, no comment and balanced parentheses. Backfills
 * and publication row filters put it inside `WHERE (...)`; this keeps it there. Returns what is wrong, if anything.
 */
export function whereShapeProblem(where: string): string | undefined {
  if (where.trim() === '') return 'must not be empty';
  if (where.length > MAX_LENGTH) return `must be at most ${MAX_LENGTH} characters`;
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
        if (i >= n) return 'has an unterminated string literal';
        if (escapes && where[i] === '\\') i += 2;
        else if (where[i] === "'" && where[i + 1] === "'") i += 2;
        else if (where[i] === "'") break;
        else i++;
      }
      i++;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= n) return 'has an unterminated quoted identifier';
        if (where[i] === '"' && where[i + 1] === '"') i += 2;
        else if (where[i] === '"') break;
        else i++;
      }
      i++;
    } else if (c === '$' && (i === 0 || !/[A-Za-z0-9_]/.test(where[i - 1]))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(where.slice(i));
      if (tag) {
        const end = where.indexOf(tag[0], i + tag[0].length);
        if (end < 0) return 'has an unterminated dollar-quoted string';
        i = end + tag[0].length;
      } else i++;
    } else if (c === ';') {
      return 'must be one expression: ";" is not allowed';
    } else if ((c === '-' && next === '-') || (c === '/' && next === '*')) {
      return 'must not contain comments';
    } else if (c === '(') {
      depth++;
      i++;
    } else if (c === ')') {
      if (--depth < 0) return 'has an unbalanced ")"';
      i++;
    } else i++;
  }
  return depth === 0 ? undefined : 'has an unbalanced "("';
}
