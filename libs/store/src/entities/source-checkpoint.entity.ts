import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** The end LSN of the last source transaction whose messages are durably in the topic tables. */
@Entity({ schema: 'tributary', name: 'source_checkpoints' })
export class SourceCheckpointEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'source_checkpoints_pkey' })
  source!: string;

  @Column({ type: 'bigint' })
  lsn!: string;

  @Column({ name: 'tx_id', type: 'bigint', nullable: true })
  txId!: string | null;

  @Column({ name: 'commit_time', type: 'timestamptz', nullable: true })
  commitTime!: Date | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
