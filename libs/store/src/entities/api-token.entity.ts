import { Check, Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

@Entity({ schema: 'tributary', name: 'api_tokens' })
@Unique('api_tokens_name_key', ['name'])
@Unique('api_tokens_token_hash_key', ['tokenHash'])
@Check('api_tokens_role_check', `role IN ('admin', 'read', 'consumer')`)
export class ApiTokenEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'api_tokens_pkey' })
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  /** SHA-256 (hex) of the token; the token itself is shown once, at creation. */
  @Column({ name: 'token_hash', type: 'text' })
  tokenHash!: string;

  @Column({ type: 'text' })
  role!: 'admin' | 'read' | 'consumer';

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;
}
