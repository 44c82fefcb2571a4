import type { Relation } from './pgoutput/pgoutput-types';
import type { ValueKind } from '@tributary/pg-source';
import type { EnvelopeParts } from './envelope';

/** What capture knows about one published table, rebuilt whenever its relation message arrives. */
export interface TableInfo {
  relation: Relation;
  topic: string;
  partitions: number;
  /** Indexes into relation.columns of the primary key (or replica identity index), in key order. */
  keyIndexes: number[];
  kinds: ValueKind[];
  parts: EnvelopeParts;
}
