import { Check, Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * One append's messages for one partition (a record batch): offsets base_offset..last_offset, with the
 * i-th element of every array belonging to offset base_offset + i. The view `tributary.messages` shows
 * one row per message.
 */
@Entity({ schema: 'tributary', name: 'message_batches' })
@Check('message_batches_offsets_check', 'last_offset >= base_offset')
export class MessageBatchEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'message_batches_pkey' })
  topic!: string;

  @PrimaryColumn({ type: 'int', primaryKeyConstraintName: 'message_batches_pkey' })
  partition!: number;

  @Column({ name: 'base_offset', type: 'bigint' })
  baseOffset!: string;

  @PrimaryColumn({ name: 'last_offset', type: 'bigint', primaryKeyConstraintName: 'message_batches_pkey' })
  lastOffset!: string;

  @Column({ type: 'json' })
  envelopes!: unknown;

  @Column({ type: 'json' })
  keys!: unknown;

  @Column({ name: 'source_lsns', type: 'bigint', array: true })
  sourceLsns!: string[];

  @Column({ name: 'tx_ids', type: 'bigint', array: true })
  txIds!: string[];

  /** Epoch milliseconds. */
  @Column({ name: 'commit_times', type: 'bigint', array: true })
  commitTimes!: string[];

  /** The envelopes' bytes, for retention.bytes. */
  @Column({ type: 'bigint' })
  bytes!: string;

  @CreateDateColumn({ name: 'appended_at', type: 'timestamptz' })
  appendedAt!: Date;
}
