import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** A snapshot of one source table (initial or requested through the API) and its progress. */
@Entity({ schema: 'tributary', name: 'backfills' })
@Index('backfills_source_status_idx', ['source', 'status'])
// One active backfill per table and condition (migration BackfillsOneActive): a partial index over
// md5(condition), which TypeORM cannot express, so it is declared here only to be left alone.
@Index('backfills_one_active_idx', { synchronize: false })
export class BackfillEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'backfills_pkey' })
  id!: string;

  @Column({ type: 'text' })
  source!: string;

  @Column({ name: 'schema_name', type: 'text' })
  schemaName!: string;

  @Column({ name: 'table_name', type: 'text' })
  tableName!: string;

  /** Optional SQL boolean expression limiting the rows. */
  @Column({ name: 'where_clause', type: 'text', nullable: true })
  whereClause!: string | null;

  @Column({ name: 'chunk_size', type: 'int' })
  chunkSize!: number;

  /** `initial` (table newly captured) or `api`. */
  @Column({ type: 'text' })
  reason!: string;

  /** `pending`, `running`, `done`, `failed` or `cancelled`. */
  @Column({ type: 'text', default: 'pending' })
  status!: string;

  /** The snapshotter run whose chunks are current; watermarks of other runs are ignored. */
  @Column({ name: 'run_id', type: 'text', nullable: true })
  runId!: string | null;

  /** Primary key (text values in key order) of the last row of the last finished chunk. */
  @Column({ name: 'last_key', type: 'jsonb', nullable: true })
  lastKey!: string[] | null;

  @Column({ name: 'chunks_done', type: 'int', default: 0 })
  chunksDone!: number;

  @Column({ name: 'rows_done', type: 'bigint', default: 0 })
  rowsDone!: string;

  @Column({ name: 'rows_emitted', type: 'bigint', default: 0 })
  rowsEmitted!: string;

  @Column({ name: 'estimated_total', type: 'bigint', nullable: true })
  estimatedTotal!: string | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
