import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

@Entity({ schema: 'tributary', name: 'source_tables' })
export class SourceTableEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'source_tables_pkey' })
  source!: string;

  @PrimaryColumn({ name: 'schema_name', type: 'text', primaryKeyConstraintName: 'source_tables_pkey' })
  schemaName!: string;

  @PrimaryColumn({ name: 'table_name', type: 'text', primaryKeyConstraintName: 'source_tables_pkey' })
  tableName!: string;

  @Column({ type: 'text' })
  topic!: string;

  /** [{ name, type (format_type), kind (envelope rendering) }] in column order. */
  @Column({ type: 'jsonb' })
  columns!: unknown;

  @Column({ name: 'primary_key', type: 'text', array: true })
  primaryKey!: string[];

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
