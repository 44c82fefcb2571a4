import { Check, Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * One append's messages for one partition (a record batch): offsets base_offset..last_offset, with the
 * i-th element of every array belonging to offset base_offset + i. A batch of snapshot rows holds `rows`
 * and `row_format` instead of envelopes, keys and source arrays (libs/topic-log/src/row-batch.ts).
 */
@Entity({ schema: 'tributary', name: 'message_batches' })
@Check('message_batches_offsets_check', 'last_offset >= base_offset')
@Check(
  'message_batches_encoding_check',
  `CASE WHEN rows IS NULL
               THEN row_format IS NULL AND envelopes IS NOT NULL AND keys IS NOT NULL AND source_lsns IS NOT NULL
                    AND tx_ids IS NOT NULL AND commit_times IS NOT NULL
               ELSE row_format IS NOT NULL AND envelopes IS NULL AND keys IS NULL AND source_lsns IS NULL
                    AND tx_ids IS NULL AND commit_times IS NULL
          END`,
)
export class MessageBatchEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'message_batches_pkey' })
  topic!: string;

  @PrimaryColumn({ type: 'int', primaryKeyConstraintName: 'message_batches_pkey' })
  partition!: number;

  @Column({ name: 'base_offset', type: 'bigint' })
  baseOffset!: string;

  @PrimaryColumn({ name: 'last_offset', type: 'bigint', primaryKeyConstraintName: 'message_batches_pkey' })
  lastOffset!: string;

  /** A JSON array of the envelopes, as capture rendered them (text: the platform does not parse them again). */
  @Column({ type: 'text', nullable: true })
  envelopes!: string | null;

  /** A JSON array of the keys' JSON texts (or nulls). */
  @Column({ type: 'text', nullable: true })
  keys!: string | null;

  @Column({ name: 'source_lsns', type: 'bigint', array: true, nullable: true })
  sourceLsns!: string[] | null;

  @Column({ name: 'tx_ids', type: 'bigint', array: true, nullable: true })
  txIds!: string[] | null;

  /** Epoch milliseconds. */
  @Column({ name: 'commit_times', type: 'bigint', array: true, nullable: true })
  commitTimes!: string[] | null;

  /** Snapshot rows: per message its seq, a tab and the row's COPY text, one line each. */
  @Column({ type: 'text', nullable: true })
  rows!: string | null;

  @Column({ name: 'row_format', type: 'json', nullable: true })
  rowFormat!: unknown;

  /** The envelopes' (or rows') bytes, for retention.bytes. */
  @Column({ type: 'bigint' })
  bytes!: string;

  @CreateDateColumn({ name: 'appended_at', type: 'timestamptz' })
  appendedAt!: Date;
}
