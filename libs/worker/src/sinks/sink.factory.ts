import { splitTableName, type GroupConfig } from '@tributary/config';
import { DatabaseSink, DEFAULT_TARGET_TIMEOUTS, MysqlDialect, PostgresDialect, type TableMapping } from '@tributary/db-sink';
import type { TableSchemaRepository } from '@tributary/schema-registry';
import { WebhookSink } from '@tributary/webhook-sink';
import type { Pool } from 'pg';
import { LogSink } from './log.sink';
import type { Sink } from './sink';

/** Builds the sink a group's configuration names. New sink kinds register here. */
export function createSink(group: GroupConfig, schemas: TableSchemaRepository, pool: Pool): Sink {
  const sink = group.sink;
  switch (sink.type) {
    case 'log':
      return new LogSink(group.name);
    case 'postgres':
    case 'mysql': {
      const timeouts = { ...DEFAULT_TARGET_TIMEOUTS, ...sink.timeouts };
      const connect =
        sink.type === 'postgres'
          ? (signal?: AbortSignal) => PostgresDialect.connect(sink.url, sink.schema, timeouts, signal)
          : (signal?: AbortSignal) => MysqlDialect.connect(sink.url, timeouts, signal);
      const tables = sink.tables?.map((t): TableMapping => ({
        source: splitTableName(t.source) as TableMapping['source'], // validated as schema.table
        target: t.target === undefined ? undefined : splitTableName(t.target),
        include: t.include,
        exclude: t.exclude,
      }));
      const options = {
        group: group.name,
        tables,
        autoCreate: sink.autoCreate,
        addColumns: sink.addColumns,
        concurrency: sink.concurrency,
      };
      return new DatabaseSink(connect, schemas, options, sink.type);
    }
    case 'webhook':
      return new WebhookSink({ group: group.name, config: sink, pool });
    case 'pull':
      throw new Error(`group ${group.name} is consumed over the pull API; no worker runs it`);
  }
}
