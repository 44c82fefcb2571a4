import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

@Entity({ schema: 'tributary', name: 'dead_letters' })
@Unique('dead_letters_message_key', ['groupName', 'topic', 'partition', 'offset'])
export class DeadLetterEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'dead_letters_pkey' })
  id!: string;

  @Column({ name: 'group_name', type: 'text' })
  groupName!: string;

  @Column({ type: 'text' })
  topic!: string;

  @Column({ type: 'int' })
  partition!: number;

  @Column({ type: 'bigint' })
  offset!: string;

  @Column({ type: 'text', nullable: true })
  key!: string | null;

  @Column({ type: 'json' })
  envelope!: unknown;

  @Column({ type: 'text' })
  error!: string;

  @Column({ type: 'int' })
  attempts!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
