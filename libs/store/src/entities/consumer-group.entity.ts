import { Check, Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

@Entity({ schema: 'tributary', name: 'consumer_groups' })
@Check('consumer_groups_managed_by_check', `managed_by IN ('api', 'file')`)
export class ConsumerGroupEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'consumer_groups_pkey' })
  name!: string;

  /** Topic names or glob patterns (`src.public.*`). */
  @Column({ type: 'text', array: true })
  topics!: string[];

  /** `earliest`, `latest` or an ISO 8601 timestamp. */
  @Column({ name: 'start_from', type: 'text', default: 'earliest' })
  startFrom!: string;

  /** `earliest`, `latest` or `fail`: what to do when the committed offset was removed by retention. */
  @Column({ name: 'reset_policy', type: 'text', default: 'earliest' })
  resetPolicy!: string;

  @Column({ name: 'session_timeout_ms', type: 'int', default: 6000 })
  sessionTimeoutMs!: number;

  @Column({ type: 'boolean', default: false })
  paused!: boolean;

  /** How workers run it (sink, members, batch size, retries); a `pull` sink means no worker does. */
  @Column({ type: 'jsonb', nullable: true })
  runtime!: Record<string, unknown> | null;

  @Column({ type: 'int', default: 1 })
  version!: number;

  /** `file`: declared in tributary.yaml / `tributary apply`; `api`: created through the REST API. */
  @Column({ name: 'managed_by', type: 'text', default: 'api' })
  managedBy!: 'api' | 'file';

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

@Entity({ schema: 'tributary', name: 'group_members' })
export class GroupMemberEntity {
  @PrimaryColumn({ name: 'group_name', type: 'text', primaryKeyConstraintName: 'group_members_pkey' })
  groupName!: string;

  @PrimaryColumn({ name: 'member_id', type: 'text', primaryKeyConstraintName: 'group_members_pkey' })
  memberId!: string;

  @Column({ type: 'text' })
  client!: string;

  @CreateDateColumn({ name: 'joined_at', type: 'timestamptz' })
  joinedAt!: Date;

  @Column({ name: 'heartbeat_at', type: 'timestamptz', default: () => 'now()' })
  heartbeatAt!: Date;
}

@Entity({ schema: 'tributary', name: 'partition_leases' })
export class PartitionLeaseEntity {
  @PrimaryColumn({ name: 'group_name', type: 'text', primaryKeyConstraintName: 'partition_leases_pkey' })
  groupName!: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'partition_leases_pkey' })
  topic!: string;

  @PrimaryColumn({ type: 'int', primaryKeyConstraintName: 'partition_leases_pkey' })
  partition!: number;

  @Column({ name: 'member_id', type: 'text', nullable: true })
  memberId!: string | null;

  @Column({ type: 'bigint', default: 0 })
  generation!: string;

  @Column({ name: 'acquired_at', type: 'timestamptz', nullable: true })
  acquiredAt!: Date | null;
}

@Entity({ schema: 'tributary', name: 'group_offsets' })
export class GroupOffsetEntity {
  @PrimaryColumn({ name: 'group_name', type: 'text', primaryKeyConstraintName: 'group_offsets_pkey' })
  groupName!: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'group_offsets_pkey' })
  topic!: string;

  @PrimaryColumn({ type: 'int', primaryKeyConstraintName: 'group_offsets_pkey' })
  partition!: number;

  @Column({ name: 'next_offset', type: 'bigint' })
  nextOffset!: string;

  /** `ok`, `failed` (reset policy `fail` hit) or `blocked` (a message could not be delivered). */
  @Column({ type: 'text', default: 'ok' })
  status!: string;

  @Column({ name: 'status_detail', type: 'text', nullable: true })
  statusDetail!: string | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

@Entity({ schema: 'tributary', name: 'group_events' })
export class GroupEventEntity {
  @PrimaryColumn({ type: 'bigint', generated: 'increment', primaryKeyConstraintName: 'group_events_pkey' })
  id!: string;

  @Column({ name: 'group_name', type: 'text' })
  groupName!: string;

  @Column({ type: 'text' })
  topic!: string;

  @Column({ type: 'int' })
  partition!: number;

  @Column({ type: 'text' })
  kind!: string;

  @Column({ type: 'text' })
  detail!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
