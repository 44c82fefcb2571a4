import { Check, Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A source to capture: its spec as the API and tributary.yaml take it (secrets included, never returned). */
@Entity({ schema: 'tributary', name: 'sources' })
@Check('sources_managed_by_check', `managed_by IN ('api', 'file')`)
export class SourceEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'sources_pkey' })
  name!: string;

  @Column({ type: 'jsonb' })
  spec!: Record<string, unknown>;

  @Column({ type: 'int', default: 1 })
  version!: number;

  @Column({ name: 'managed_by', type: 'text', default: 'api' })
  managedBy!: 'api' | 'file';

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
