import fc from 'fast-check';
import { partitionForKey, type AppendRecord } from '@tributary/topic-log';
import {
  ChangeRouter,
  openTransaction,
  type OpenTransaction,
  type RowChange,
  envelopeParts,
  UNCHANGED_TOAST,
  type Relation,
  type TableInfo,
} from '@tributary/capture';

/**
 * Change routing without a database: which messages one source change becomes, on which topic and
 * partition, in which order, and what the snapshot seam is told.
 */

function tableInfo(oid: number, name: string, partitions: number, keyed: boolean): TableInfo {
  const relation: Relation = {
    oid,
    schema: 'public',
    name,
    replicaIdentity: keyed ? 'default' : 'full',
    columns: [
      { name: 'id', isKey: keyed, typeOid: 23, typeMod: -1 },
      { name: 'note', isKey: false, typeOid: 25, typeMod: -1 },
    ],
  };
  return {
    relation,
    topic: `shop.public.${name}`,
    partitions,
    keyIndexes: keyed ? [0] : [],
    kinds: [{ kind: 'number' }, { kind: 'string' }],
    parts: envelopeParts('shop', 'shopdb', 'public', name, ['id', 'note']),
  };
}

const ORDERS = tableInfo(16401, 'orders', 4, true);
const EVENTS = tableInfo(16402, 'events', 3, false);
const TABLES = new Map([ORDERS, EVENTS].map((t) => [t.relation.oid, t]));
const lookup = {
  table(oid: number): TableInfo {
    const table = TABLES.get(oid);
    if (!table) throw new Error(`pgoutput: change for relation ${oid} before its relation message`);
    return table;
  },
  captures: (): boolean => true,
};

interface Observed {
  oid: number;
  key: string | null;
  xid: number;
  unchanged: readonly string[] | null;
}

function router(): { route: (tx: OpenTransaction, message: RowChange) => AppendRecord[]; observed: Observed[] } {
  const observed: Observed[] = [];
  const routing = new ChangeRouter(lookup, {
    observe: (oid, key, xid, unchanged) => observed.push({ oid, key, xid, unchanged }),
  });
  return {
    observed,
    route: (tx, message) => {
      const out: AppendRecord[] = [];
      routing.route(tx, 0x1_0000_0100n, '1/100', message, out);
      return out;
    },
  };
}

const tx = (): OpenTransaction =>
  openTransaction({ tag: 'begin', xid: 771, finalLsn: 0x1_0000_0200n, commitTimeMs: 1_700_000_000_000 }, 0n);
const envelope = (r: AppendRecord) => JSON.parse(r.envelope) as Record<string, unknown> & { source: Record<string, unknown> };
const key = (id: number) => `{"id":${id}}`;

describe('change router', () => {
  it('routes an insert to its key partition with the transaction facts', () => {
    const { route, observed } = router();
    const [record, ...rest] = route(tx(), { tag: 'insert', relationOid: ORDERS.relation.oid, newTuple: ['7', 'first'] });
    expect(rest).toEqual([]);
    expect(record).toMatchObject({
      topic: 'shop.public.orders',
      partition: partitionForKey(key(7), 4),
      key: key(7),
      sourceLsn: 0x1_0000_0100n,
      txId: '771',
      commitTimeMs: 1_700_000_000_000,
    });
    const e = envelope(record);
    expect(e).toMatchObject({ id: 'shop:1/200:0', op: 'c', key: { id: 7 }, before: null, after: { id: 7, note: 'first' } });
    expect(e.source).toMatchObject({ table: 'orders', lsn: '1/100', commitLsn: '1/200', seq: 0, txId: 771 });
    expect(observed).toEqual([{ oid: ORDERS.relation.oid, key: key(7), xid: 771, unchanged: null }]);
  });

  it('splits a key change into a delete under the old key and a create under the new one', () => {
    const { route, observed } = router();
    const records = route(tx(), {
      tag: 'update',
      relationOid: ORDERS.relation.oid,
      oldKind: 'K',
      oldTuple: ['1', null],
      newTuple: ['2', 'moved'],
    });
    expect(records.map((r) => [envelope(r).op, r.key, r.partition])).toEqual([
      ['d', key(1), partitionForKey(key(1), 4)],
      ['c', key(2), partitionForKey(key(2), 4)],
    ]);
    expect(records.map((r) => (envelope(r).source as { seq: number }).seq)).toEqual([0, 1]);
    expect(observed.map((o) => o.key)).toEqual([key(1), key(2)]);
  });

  it('tells the seam which columns an update left unchanged', () => {
    const { route, observed } = router();
    const [record] = route(tx(), {
      tag: 'update',
      relationOid: ORDERS.relation.oid,
      oldKind: null,
      oldTuple: null,
      newTuple: ['3', UNCHANGED_TOAST],
    });
    expect(envelope(record)).toMatchObject({ op: 'u', after: { id: 3 }, unchanged_toast: ['note'] });
    expect(observed).toEqual([{ oid: ORDERS.relation.oid, key: key(3), xid: 771, unchanged: ['note'] }]);
  });

  it('sends a truncate to every partition of every table it names, and keyless rows to partition 0', () => {
    const { route } = router();
    const open = tx();
    const truncated = route(open, {
      tag: 'truncate',
      relationOids: [ORDERS.relation.oid, EVENTS.relation.oid],
      cascade: false,
      restartIdentity: false,
    });
    expect(truncated.map((r) => [r.topic, r.partition, r.key])).toEqual([
      ...[0, 1, 2, 3].map((p) => ['shop.public.orders', p, null]),
      ...[0, 1, 2].map((p) => ['shop.public.events', p, null]),
    ]);
    expect(truncated.map((r) => (envelope(r).source as { seq: number }).seq)).toEqual([0, 0, 0, 0, 1, 1, 1]);
    const [keyless] = route(open, { tag: 'insert', relationOid: EVENTS.relation.oid, newTuple: ['9', 'x'] });
    expect([keyless.partition, keyless.key, (envelope(keyless).source as { seq: number }).seq]).toEqual([0, null, 2]);
  });

  it('refuses a change of a relation it was not told about', () => {
    const { route } = router();
    expect(() => route(tx(), { tag: 'insert', relationOid: 1, newTuple: ['1', 'x'] })).toThrow('before its relation message');
  });

  it('skips transactions whose commit is before the checkpoint', () => {
    const begin = { tag: 'begin', xid: 5, finalLsn: 0x200n, commitTimeMs: 0 } as const;
    expect(openTransaction(begin, 0x201n).skip).toBe(true);
    expect(openTransaction(begin, 0x200n).skip).toBe(false);
    expect(openTransaction(begin, 0x200n).commitLsn).toBe('0/200');
  });

  it('keeps every key on its partition, in source order, with gap-free seq', () => {
    type Op = { kind: 'insert'; id: number } | { kind: 'delete'; id: number } | { kind: 'update'; id: number; to: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('insert' as const), id: fc.nat(20) }),
      fc.record({ kind: fc.constant('delete' as const), id: fc.nat(20) }),
      fc.record({ kind: fc.constant('update' as const), id: fc.nat(20), to: fc.nat(20) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const { route } = router();
        const open = tx();
        const oid = ORDERS.relation.oid;
        const records = ops.flatMap((o) =>
          route(
            open,
            o.kind === 'insert'
              ? { tag: 'insert', relationOid: oid, newTuple: [String(o.id), 'n'] }
              : o.kind === 'delete'
                ? { tag: 'delete', relationOid: oid, oldKind: 'K', oldTuple: [String(o.id), null] }
                : {
                    tag: 'update',
                    relationOid: oid,
                    oldKind: 'K',
                    oldTuple: [String(o.id), null],
                    newTuple: [String(o.to), 'n'],
                  },
          ),
        );
        const expected = ops.flatMap((o): [string, string][] =>
          o.kind === 'insert'
            ? [['c', key(o.id)]]
            : o.kind === 'delete'
              ? [['d', key(o.id)]]
              : o.id === o.to
                ? [['u', key(o.id)]]
                : [
                    ['d', key(o.id)],
                    ['c', key(o.to)],
                  ],
        );
        expect(records.map((r) => [envelope(r).op, r.key])).toEqual(expected);
        for (const r of records) expect(r.partition).toBe(partitionForKey(r.key, 4));
        expect(records.map((r) => (envelope(r).source as { seq: number }).seq)).toEqual(records.map((_, i) => i));
        expect(open.seq).toBe(records.length);
      }),
      { numRuns: 300 },
    );
  });
});
