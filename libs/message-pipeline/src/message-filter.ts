import type { FilterCondition, MessageFilterConfig } from '@tributary/config';
import { isLosslessNumber } from 'lossless-json';
import { textOf, valueAt, type Envelope } from './envelope';

/** Whether a message passes a group's `filter`: every given part (operations, tables, where) must hold. */
export type EnvelopeTest = (envelope: Envelope) => boolean;

export function compileFilter(config: MessageFilterConfig): EnvelopeTest {
  const operations = config.operations ? new Set<string>(config.operations) : undefined;
  const tables = config.tables?.map((t) => t.split('.') as [string, string]);
  const conditions = (config.where ?? []).map(compileCondition);
  return (envelope) => {
    if (operations && !operations.has(envelope.op ?? '')) return false;
    if (tables) {
      const schema = envelope.source?.schema;
      const table = envelope.source?.table;
      if (!tables.some(([s, t]) => s === schema && (t === '*' || t === table))) return false;
    }
    return conditions.every((test) => test(envelope));
  };
}

function compileCondition(c: FilterCondition): EnvelopeTest {
  const path = c.path.split('.');
  const tests: ((value: unknown) => boolean)[] = [];
  if (c.isNull !== undefined) tests.push((v) => (v === null || v === undefined) === c.isNull);
  if (c.equals !== undefined) tests.push((v) => same(v, c.equals));
  if (c.notEquals !== undefined) tests.push((v) => !same(v, c.notEquals));
  if (c.in) tests.push((v) => c.in!.some((o) => same(v, o)));
  if (c.notIn) tests.push((v) => !c.notIn!.some((o) => same(v, o)));
  const order = (bound: string | number | undefined, holds: (r: number) => boolean) => {
    if (bound !== undefined)
      tests.push((v) => {
        const r = compare(v, bound);
        return r !== undefined && holds(r);
      });
  };
  order(c.gt, (r) => r > 0);
  order(c.gte, (r) => r >= 0);
  order(c.lt, (r) => r < 0);
  order(c.lte, (r) => r <= 0);
  return (envelope) => {
    const value = valueAt(envelope, path);
    return tests.every((test) => test(value));
  };
}

/** 42 and "42" are equal (numerics may be rendered as strings), null and a missing value too; objects compare as JSON. */
function same(actual: unknown, expected: unknown): boolean {
  return textOf(actual) === textOf(expected);
}

/**
 * Numbers (exact ones and numeric text too) compare as numbers, anything else as text (ISO timestamps
 * order as text); undefined for a null or missing value, which no comparison admits.
 */
function compare(actual: unknown, bound: string | number): number | undefined {
  if (actual === null || actual === undefined || (typeof actual === 'object' && !isLosslessNumber(actual))) return undefined;
  if (typeof bound === 'number') {
    const n = Number(textOf(actual));
    if (Number.isNaN(n)) return undefined;
    return n === bound ? 0 : n > bound ? 1 : -1;
  }
  const text = textOf(actual);
  return text === bound ? 0 : text > bound ? 1 : -1;
}
