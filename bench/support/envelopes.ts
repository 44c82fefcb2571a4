import type { ColumnSchema } from '@tributary/schema-registry';
import { type AppendRecord, partitionForKey } from '@tributary/topic-log';
// Capture's own renderer, so the bench's messages are exactly what capture would append.
import { envelopeParts, renderEnvelope, type TableInfo } from '@tributary/capture';
import { formatLsn, TypeRegistry } from '@tributary/pg-source';

/** The bench table's columns: name, type OID, and the type as format_type prints it. */
const COLUMNS: [string, number, string][] = [
  ['id', 20, 'bigint'],
  ['account_id', 23, 'integer'],
  ['amount', 1700, 'numeric(12,2)'],
  ['currency', 25, 'text'],
  ['status', 25, 'text'],
  ['paid', 16, 'boolean'],
  ['created_at', 1184, 'timestamp with time zone'],
  ['attrs', 3802, 'jsonb'],
];

export const BENCH_TABLE_DDL = `CREATE TABLE bench_rows (
  id         bigint PRIMARY KEY,
  account_id int NOT NULL,
  amount     numeric(12,2) NOT NULL,
  currency   text NOT NULL,
  status     text NOT NULL,
  paid       boolean NOT NULL,
  created_at timestamptz NOT NULL,
  attrs      jsonb
)`;

const types = new TypeRegistry();

/** The shape capture records in the schema registry for `public.bench_rows`. */
export function benchTableColumns(): ColumnSchema[] {
  return COLUMNS.map(([name, oid, type]) => ({ name, type, kind: types.kindOf(oid).kind }));
}

/** Row `id` in the text form pgoutput sends it (what capture renders from). */
export function benchRowText(id: number): string[] {
  const created = new Date(Date.UTC(2026, 0, 1) + (id % 86_400) * 1000 + (id % 997));
  const ts = created
    .toISOString()
    .replace('T', ' ')
    .replace('Z', `${String(id % 1000).padStart(3, '0')}+00`);
  return [
    String(id),
    String(id % 1000),
    ((id % 100_000) / 100).toFixed(2),
    'EUR',
    ['new', 'paid', 'shipped'][id % 3],
    id % 2 === 0 ? 't' : 'f',
    ts,
    `{"qty": ${id % 7}, "sku": "SKU-${id % 5000}", "tags": ["a", "b"]}`,
  ];
}

/**
 * Insert envelopes of `public.bench_rows` rows `from`..`from+count-1`, as capture renders them for source
 * `source`, keyed and partitioned as capture does, `txRows` rows per source transaction.
 */
export function benchRecords(opts: {
  source: string;
  topic: string;
  partitions: number;
  from: number;
  count: number;
  txRows?: number;
}): AppendRecord[] {
  const table: TableInfo = {
    relation: {
      oid: 16_400,
      schema: 'public',
      name: 'bench_rows',
      replicaIdentity: 'default',
      columns: COLUMNS.map(([name, typeOid], i) => ({ name, typeOid, typeMod: -1, isKey: i === 0 })),
    },
    topic: opts.topic,
    partitions: opts.partitions,
    keyIndexes: [0],
    kinds: COLUMNS.map(([, oid]) => types.kindOf(oid)),
    parts: envelopeParts(
      opts.source,
      'src',
      'public',
      'bench_rows',
      COLUMNS.map(([name]) => name),
    ),
  };
  const txRows = opts.txRows ?? 1_000;
  const records: AppendRecord[] = [];
  const base = 0x3000000n;
  for (let id = opts.from; id < opts.from + opts.count; id++) {
    const tx = Math.floor(id / txRows);
    const commitLsn = base + BigInt(tx) * 200_000n;
    const lsn = commitLsn - 150_000n + BigInt((id % txRows) * 140);
    const commitTimeMs = Date.UTC(2026, 0, 1) + tx * 5;
    const change = renderEnvelope(table, 'c', null, false, benchRowText(id), {
      txId: 1000 + tx,
      commitLsn: formatLsn(commitLsn),
      commitTimeMs,
      lsn: formatLsn(lsn),
      seq: id % txRows,
    });
    records.push({
      topic: opts.topic,
      partition: partitionForKey(change.key, opts.partitions),
      key: change.key,
      envelope: change.envelope,
      sourceLsn: lsn,
      txId: String(1000 + tx),
      commitTimeMs,
    });
  }
  return records;
}
