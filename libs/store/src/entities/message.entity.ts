import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity({ schema: 'tributary', name: 'messages' })
export class MessageEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'messages_pkey' })
  topic!: string;

  @PrimaryColumn({ type: 'int', primaryKeyConstraintName: 'messages_pkey' })
  partition!: number;

  @PrimaryColumn({ type: 'bigint', primaryKeyConstraintName: 'messages_pkey' })
  offset!: string;

  @Column({ type: 'text', nullable: true })
  key!: string | null;

  @Column({ type: 'json' })
  envelope!: unknown;

  @Column({ name: 'source_lsn', type: 'bigint', nullable: true })
  sourceLsn!: string | null;

  @Column({ name: 'tx_id', type: 'bigint', nullable: true })
  txId!: string | null;

  @Column({ name: 'commit_time', type: 'timestamptz', nullable: true })
  commitTime!: Date | null;

  /** Envelope size in bytes, for retention.bytes. */
  @Column({ type: 'int', default: 0 })
  size!: number;

  @CreateDateColumn({ name: 'appended_at', type: 'timestamptz' })
  appendedAt!: Date;
}
