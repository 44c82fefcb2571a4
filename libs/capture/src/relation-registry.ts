import type { Logger } from '@nestjs/common';
import type { Client } from 'pg';
import { TypeRegistry } from '@tributary/pg-source';
import { TableSchemaRepository } from '@tributary/schema-registry';
import { TopicRepository, type TopicSettings } from '@tributary/topic-log';
import { envelopeParts } from './envelope';
import type { TableLookup } from './change-router';
import type { Relation } from './pgoutput/pgoutput.types';
import type { TableInfo } from './table-info';

export interface RelationRegistryDeps {
  source: string;
  /** The connection that holds the source's leadership lock: topics and table shapes are written through it. */
  platform: Client;
  topicSettings: (topic: string) => TopicSettings;
  topicFor: (schema: string, table: string) => string;
  /** Is a table of this name among the source's tables (explicitly or by its schema)? */
  isCaptured: (schema: string, table: string) => boolean;
  /** A platform transaction is open: a topic created in it only exists once it commits. */
  inPlatformTransaction: () => boolean;
  logger: Logger;
}

/** The source connection a relation's details are read through, and its database's name. */
export interface SourceMetadata {
  client: Client;
  database: string;
}

/**
 * The relation registry: what capture knows about each published table, rebuilt whenever its relation
 * message arrives (key columns, how each column renders, its topic and partition count, the envelope's
 * fixed parts). Registering a relation reads its key and types from the source, creates its topic if
 * needed and records its shape in `tributary.source_tables` for sinks that create target tables.
 */
export class RelationRegistry implements TableLookup {
  private readonly types = new TypeRegistry();
  private readonly tables = new Map<number, TableInfo>();
  private readonly topicPartitions = new Map<string, number>();
  private readonly warned = new Set<string>();
  /** Published tables whose current name is not among the source's tables. */
  private readonly leftOut = new Set<number>();

  constructor(private readonly deps: RelationRegistryDeps) {}

  table(oid: number): TableInfo {
    const table = this.tables.get(oid);
    if (!table) throw new Error(`pgoutput: change for relation ${oid} before its relation message`);
    return table;
  }

  captures(oid: number): boolean {
    return !this.leftOut.has(oid);
  }

  async register(relation: Relation, source: SourceMetadata): Promise<void> {
    const qualified = `${relation.schema}.${relation.name}`;
    if (!this.deps.isCaptured(relation.schema, relation.name)) {
      // No topic, no shape: nothing of it is appended.
      this.tables.delete(relation.oid);
      this.leftOut.add(relation.oid);
      if (!this.warned.has(`renamed:${qualified}`)) {
        this.warned.add(`renamed:${qualified}`);
        this.deps.logger.warn(
          `changes to ${qualified} are left out: it is published but not among the source's tables (a captured table renamed?)`,
        );
      }
      return;
    }
    this.leftOut.delete(relation.oid);
    await this.types.resolve(
      source.client,
      relation.columns.map((c) => c.typeOid),
    );
    const keyIndexes = await this.keyIndexes(relation, source.client);
    const topic = this.deps.topicFor(relation.schema, relation.name);
    const partitions = await this.ensureTopic(topic);
    await this.saveSchema(relation, source.client, topic, keyIndexes);
    this.tables.set(relation.oid, {
      relation,
      topic,
      partitions,
      keyIndexes,
      kinds: relation.columns.map((c) => this.types.kindOf(c.typeOid)),
      parts: envelopeParts(
        this.deps.source,
        source.database,
        relation.schema,
        relation.name,
        relation.columns.map((c) => c.name),
      ),
    });
  }

  /** The topic's partition count, creating the topic if it does not exist. */
  async ensureTopic(topic: string): Promise<number> {
    const known = this.topicPartitions.get(topic);
    if (known !== undefined) return known;
    const partitions = await TopicRepository.ensure(this.deps.platform, topic, this.deps.topicSettings(topic));
    // Inside an open platform transaction the topic only exists once it commits; cache it only then.
    if (!this.deps.inPlatformTransaction()) this.topicPartitions.set(topic, partitions);
    return partitions;
  }

  /** Indexes of the primary key's columns (else the replica identity index's), in key order. */
  private async keyIndexes(relation: Relation, client: Client): Promise<number[]> {
    const { rows } = await client.query<{ name: string }>(
      `SELECT a.attname AS name
         FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indrelid = $1 AND i.indisprimary
        ORDER BY array_position(i.indkey::int2[], a.attnum)`,
      [relation.oid],
    );
    const current = rows.map((r) => relation.columns.findIndex((c) => c.name === r.name)).filter((i) => i >= 0);
    const flagged = relation.columns.flatMap((c, i) => (c.isKey ? [i] : []));
    let keyIndexes = current;
    if (relation.replicaIdentity === 'default') {
      // The relation message flags the primary key the change was written under (decoding reads the
      // catalog as it was then), not the table's key now: a key changed while capture lagged, or a table
      // dropped since, keeps partitioning and per-key order by the key of its changes. In the catalog's
      // key order when it is the same key; in column order otherwise.
      const same = flagged.length === current.length && flagged.every((i) => current.includes(i));
      keyIndexes = same ? current : flagged;
    } else if (keyIndexes.length === 0 && relation.replicaIdentity === 'index') {
      keyIndexes = flagged;
    }
    const qualified = `${relation.schema}.${relation.name}`;
    if (keyIndexes.length === 0 && !this.warned.has(qualified)) {
      this.warned.add(qualified);
      this.deps.logger.warn(
        `table ${qualified} has no primary key: its messages have no key and go to partition 0` +
          (relation.replicaIdentity === 'full'
            ? '.'
            : `; run ALTER TABLE ${qualified} REPLICA IDENTITY FULL so updates and deletes carry the old row.`),
      );
    }
    return keyIndexes;
  }

  /** Records the table's shape (types as format_type prints them) for sinks that create target tables. */
  private async saveSchema(relation: Relation, client: Client, topic: string, keyIndexes: number[]): Promise<void> {
    const { rows } = await client.query<{ type: string }>(
      `SELECT format_type(t.oid, t.mod) AS type FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS t(oid, mod, n) ORDER BY n`,
      [relation.columns.map((c) => c.typeOid), relation.columns.map((c) => c.typeMod)],
    );
    await TableSchemaRepository.save(this.deps.platform, {
      source: this.deps.source,
      schema: relation.schema,
      table: relation.name,
      topic,
      columns: relation.columns.map((c, i) => ({ name: c.name, type: rows[i].type, kind: this.types.kindOf(c.typeOid).kind })),
      primaryKey: keyIndexes.map((i) => relation.columns[i].name),
    });
  }
}
