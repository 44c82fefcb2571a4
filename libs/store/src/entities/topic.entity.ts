import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity({ schema: 'tributary', name: 'topics' })
export class TopicEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'topics_pkey' })
  name!: string;

  @Column({ type: 'int' })
  partitions!: number;

  @Column({ name: 'retention_ms', type: 'bigint', nullable: true })
  retentionMs!: string | null;

  @Column({ name: 'retention_bytes', type: 'bigint', nullable: true })
  retentionBytes!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
