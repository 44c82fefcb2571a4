import type { EnvelopeFormat } from '@tributary/config';
import { envelopeTable, toDebezium } from './debezium-envelope';
import type { TableSchema } from '@tributary/schema-registry';
import { TableSchemaRepository } from '@tributary/schema-registry';
import type { ConsumedMessage } from '@tributary/sink-contract';
import type { Pool } from 'pg';

/**
 * The body of each message in the subscription's `envelope` format. Debezium's form needs each column's
 * type: read from the schema registry once per table and read again when a message has a column the
 * cached shape lacks (an ALTER TABLE since), so a new column is typed from its first message on.
 */
export class EnvelopeRenderer {
  private readonly tables = new Map<string, TableSchema | undefined>();
  private readonly schemas: TableSchemaRepository;

  constructor(
    private readonly format: EnvelopeFormat,
    pool: Pool,
  ) {
    this.schemas = new TableSchemaRepository(pool);
  }

  get verbatim(): boolean {
    return this.format === 'tributary';
  }

  async render(messages: ConsumedMessage[]): Promise<string[]> {
    if (this.verbatim) return messages.map((m) => m.envelope);
    const out: string[] = [];
    for (const message of messages) {
      const table = await this.tableOf(message);
      out.push(toDebezium(message, { withSchema: this.format === 'debezium-with-schema', table }));
    }
    return out;
  }

  private async tableOf(message: ConsumedMessage): Promise<TableSchema | undefined> {
    const { source, schema, table, columns } = envelopeTable(message);
    const cacheKey = JSON.stringify([source, schema, table]);
    const cached = this.tables.get(cacheKey);
    const known = cached && new Set(cached.columns.map((c) => c.name));
    if (known && columns.every((c) => known.has(c))) return cached;
    const fresh = await this.schemas.get(source, schema, table);
    this.tables.set(cacheKey, fresh);
    return fresh;
  }
}
