import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** One webhook request: its messages, attempt number, answer and latency (the per-subscription attempt log). */
@Entity({ schema: 'tributary', name: 'webhook_attempts' })
@Index('webhook_attempts_group_idx', ['groupName', 'id'])
@Index('webhook_attempts_message_idx', ['groupName', 'topic', 'partition', 'firstOffset'])
export class WebhookAttemptEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'webhook_attempts_pkey' })
  id!: string;

  @Column({ name: 'group_name', type: 'text' })
  groupName!: string;

  @Column({ name: 'webhook_id', type: 'text' })
  webhookId!: string;

  @Column({ type: 'text' })
  topic!: string;

  @Column({ type: 'int' })
  partition!: number;

  @Column({ name: 'first_offset', type: 'bigint' })
  firstOffset!: string;

  @Column({ name: 'last_offset', type: 'bigint' })
  lastOffset!: string;

  @Column({ type: 'int' })
  messages!: number;

  @Column({ type: 'int' })
  attempt!: number;

  /** `delivery` or `replay`. */
  @Column({ type: 'text' })
  kind!: string;

  /** HTTP status; null when no response came. */
  @Column({ type: 'int', nullable: true })
  status!: number | null;

  @Column({ name: 'latency_ms', type: 'int' })
  latencyMs!: number;

  /** Null for a successful attempt. */
  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

/** A webhook subscription's state: `active`, `paused` (circuit open) or `disabled` (410 Gone). */
@Entity({ schema: 'tributary', name: 'webhook_subscriptions' })
export class WebhookSubscriptionEntity {
  @PrimaryColumn({ name: 'group_name', type: 'text', primaryKeyConstraintName: 'webhook_subscriptions_pkey' })
  groupName!: string;

  @Column({ type: 'text' })
  url!: string;

  @Column({ type: 'text', default: 'active' })
  status!: string;

  @Column({ name: 'status_detail', type: 'text', nullable: true })
  statusDetail!: string | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
