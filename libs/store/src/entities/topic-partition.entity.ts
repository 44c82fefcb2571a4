import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The head of one partition's log: the offset the next appended message gets. */
@Entity({ schema: 'tributary', name: 'topic_partitions' })
export class TopicPartitionEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'topic_partitions_pkey' })
  topic!: string;

  @PrimaryColumn({ type: 'int', primaryKeyConstraintName: 'topic_partitions_pkey' })
  partition!: number;

  @Column({ name: 'next_offset', type: 'bigint', default: 0 })
  nextOffset!: string;

  /** Envelope bytes currently retained in the partition. */
  @Column({ type: 'bigint', default: 0 })
  bytes!: string;
}
