import { splitTableName, type GroupConfig } from '@tributary/config';
import { GroupRepository } from '@tributary/consumer-groups';
import {
  DatabaseSink,
  DEFAULT_TARGET_TIMEOUTS,
  MysqlDialect,
  PostgresDialect,
  type SinkEvent,
  type TableMapping,
} from '@tributary/db-sink';
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
      const events = new GroupRepository(pool);
      const options = {
        group: group.name,
        tables,
        autoCreate: sink.autoCreate,
        addColumns: sink.addColumns,
        // Changes of keyless tables it cannot apply: skipped, and shown in the group's events with the fix.
        report: (e: SinkEvent) => events.recordEvent(group.name, e, e.kind, e.detail),
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
