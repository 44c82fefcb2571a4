/** A column value as pgoutput sends it: text, NULL, or "unchanged TOASTed value, not sent". */
export const UNCHANGED_TOAST = Symbol('unchanged-toast');
export type RawValue = string | null | typeof UNCHANGED_TOAST;

export interface RelationColumn {
  name: string;
  isKey: boolean;
  typeOid: number;
  typeMod: number;
}

export interface Relation {
  oid: number;
  schema: string;
  name: string;
  replicaIdentity: 'default' | 'nothing' | 'full' | 'index';
  columns: RelationColumn[];
}

export type PgoutputMessage =
  | { tag: 'begin'; finalLsn: bigint; commitTimeMs: number; xid: number }
  | { tag: 'commit'; commitLsn: bigint; endLsn: bigint; commitTimeMs: number }
  | { tag: 'origin'; lsn: bigint; name: string }
  | { tag: 'relation'; relation: Relation }
  | { tag: 'type'; oid: number; schema: string; name: string }
  | { tag: 'insert'; relationOid: number; newTuple: RawValue[] }
  | { tag: 'update'; relationOid: number; oldKind: 'K' | 'O' | null; oldTuple: RawValue[] | null; newTuple: RawValue[] }
  | { tag: 'delete'; relationOid: number; oldKind: 'K' | 'O'; oldTuple: RawValue[] }
  | { tag: 'truncate'; relationOids: number[]; cascade: boolean; restartIdentity: boolean }
  | { tag: 'message'; transactional: boolean; lsn: bigint; prefix: string; content: Buffer };
