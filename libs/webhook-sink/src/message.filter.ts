import type { ConsumedMessage } from '@tributary/sink-contract';
import { WEBHOOK_OPERATIONS, type WebhookSinkConfig } from '@tributary/config';

type Scalar = string | number | boolean | null;
type ColumnMatch = Record<string, Scalar | Scalar[]>;

/** What a subscription wants: some operations, and optionally rows whose columns have given values. */
export class MessageFilter {
  private readonly operations: Set<string>;
  /** Every operation and no column filter: every message matches. */
  readonly everything: boolean;
  private readonly after?: ColumnMatch;
  private readonly before?: ColumnMatch;

  constructor(config: Pick<WebhookSinkConfig, 'operations' | 'filter'>) {
    this.operations = new Set(config.operations);
    this.everything = WEBHOOK_OPERATIONS.every((op) => this.operations.has(op)) && !config.filter;
    this.after = config.filter?.after;
    this.before = config.filter?.before;
  }

  matches(message: ConsumedMessage): boolean {
    if (this.everything) return true;
    let envelope: { op?: string; before?: Record<string, unknown> | null; after?: Record<string, unknown> | null };
    try {
      envelope = JSON.parse(message.envelope) as typeof envelope;
    } catch {
      return true; // not ours to judge: deliver it
    }
    if (!this.operations.has(envelope.op ?? '')) return false;
    return rowMatches(envelope.after, this.after) && rowMatches(envelope.before, this.before);
  }
}

function rowMatches(row: Record<string, unknown> | null | undefined, wanted: ColumnMatch | undefined): boolean {
  if (!wanted) return true;
  if (!row) return false;
  for (const [column, expected] of Object.entries(wanted)) {
    if (!(column in row)) return false;
    const actual = normalise(row[column]);
    const options = Array.isArray(expected) ? expected : [expected];
    if (!options.some((o) => normalise(o) === actual)) return false;
  }
  return true;
}

/** 42 and "42" are equal (numerics may be rendered as strings); objects compare as JSON. */
function normalise(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
