import { isLosslessNumber } from 'lossless-json';
import { parseExact } from './exact-json';

/** A row change as a database sink needs it, parsed without losing a digit of any number. */
export interface RowChange {
  op: 'c' | 'u' | 'd' | 't' | 'r';
  /** The capture source's name. */
  source: string;
  schema: string;
  table: string;
  /** Key column values (null for keyless tables and truncates). */
  key: Record<string, unknown> | null;
  /** Column values to write (columns whose TOASTed value did not change are absent). */
  after: Record<string, unknown> | null;
  before: Record<string, unknown> | null;
  /** The group's route for the message (ConsumedMessage.route): the target table, `schema.table` or `table`. */
  route?: string;
}

interface Envelope {
  op: RowChange['op'];
  key: Record<string, unknown> | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  source: { name: string; schema: string; table: string };
}

export function parseChange(envelopeJson: string): RowChange {
  const e = parseExact(envelopeJson) as Envelope;
  return {
    op: e.op,
    source: e.source.name,
    schema: e.source.schema,
    table: e.source.table,
    key: e.key,
    after: e.after,
    before: e.before,
  };
}

/** A number (kept exact as text), or any other value as it is. */
export function scalarText(value: unknown): string {
  if (isLosslessNumber(value)) return (value as { value: string }).value;
  return String(value);
}

export { isLosslessNumber };
