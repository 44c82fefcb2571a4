import { createHmac } from 'node:crypto';
import type { BuiltinTransform } from '@tributary/config';
import { put, textOf, type Envelope, type Row } from './envelope';

/** One built-in step on a parsed envelope (the pipeline's own copy): the envelope to go on with, or null to drop it. */
export type EnvelopeStep = (envelope: Envelope) => Envelope | null;

export function compileBuiltin(step: BuiltinTransform): EnvelopeStep {
  switch (step.type) {
    case 'mask':
      return eachRow((row) => {
        for (const c of step.columns) if (has(row, c) && row[c] !== null) row[c] = step.with;
      });
    case 'hash': {
      const key = step.key;
      return eachRow((row) => {
        for (const c of step.columns)
          if (has(row, c) && row[c] !== null) row[c] = createHmac('sha256', key).update(textOf(row[c])).digest('hex');
      });
    }
    case 'drop':
      return eachRow((row) => {
        for (const c of step.columns) delete row[c];
      });
    case 'rename':
      return renameColumns(step.columns);
    case 'addSource':
      return addSource(step.fields);
    case 'flatten':
      return flatten;
  }
}

/** Runs `change` on `before` and `after`, whichever the envelope has. */
function eachRow(change: (row: Row, envelope: Envelope) => void): EnvelopeStep {
  return (envelope) => {
    if (isRow(envelope.before)) change(envelope.before, envelope);
    if (isRow(envelope.after)) change(envelope.after, envelope);
    return envelope;
  };
}

/** Renamed in place of the old name, so the row's column order stays the source's. */
function renameColumns(names: Record<string, string>): EnvelopeStep {
  const renamed = new Map(Object.entries(names));
  const rename = (row: Row): Row => {
    if (!Object.keys(row).some((c) => renamed.has(c))) return row;
    const out: Row = {};
    for (const [c, v] of Object.entries(row)) put(out, renamed.get(c) ?? c, v);
    return out;
  };
  return (envelope) => {
    if (isRow(envelope.before)) envelope.before = rename(envelope.before);
    if (isRow(envelope.after)) envelope.after = rename(envelope.after);
    if (isRow(envelope.key)) envelope.key = rename(envelope.key);
    return envelope;
  };
}

const SOURCE_FIELD: Record<string, (e: Envelope) => unknown> = {
  op: (e) => e.op,
  name: (e) => e.source?.name,
  schema: (e) => e.source?.schema,
  table: (e) => e.source?.table,
  lsn: (e) => e.source?.lsn,
  ts_ms: (e) => e.source?.ts_ms,
};

function addSource(fields: string[]): EnvelopeStep {
  return eachRow((row, envelope) => {
    for (const f of fields) put(row, `__${f}`, SOURCE_FIELD[f](envelope) ?? null);
  });
}

/** Debezium's ExtractNewRecordState: the row itself; a delete's old row with `__deleted: true`; truncates dropped. */
function flatten(envelope: Envelope): Envelope | null {
  if (envelope.op === 'd') return isRow(envelope.before) ? { ...envelope.before, __deleted: true } : null;
  return isRow(envelope.after) ? envelope.after : null;
}

function isRow(value: unknown): value is Row {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function has(row: Row, column: string): boolean {
  return Object.prototype.hasOwnProperty.call(row, column);
}
