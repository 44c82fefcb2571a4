import { splitTableName } from '@tributary/config';
import { TableSchemaRepository } from '@tributary/schema-registry';
import type { GroupWithSink, SinkDeps, SinkKind } from '@tributary/sink-contract';
import { DatabaseSink, type TableMapping } from './database.sink';
import { MysqlDialect } from './mysql/mysql.dialect';
import { PostgresDialect } from './postgres/postgres.dialect';
import { DEFAULT_TARGET_TIMEOUTS, type TargetDialect } from './target-dialect';

function createDatabaseSink(group: GroupWithSink<'postgres' | 'mysql'>, deps: SinkDeps): DatabaseSink {
  const sink = group.sink;
  const timeouts = { ...DEFAULT_TARGET_TIMEOUTS, ...sink.timeouts };
  const connect =
    sink.type === 'postgres'
      ? (signal?: AbortSignal): Promise<TargetDialect> => PostgresDialect.connect(sink.url, sink.schema, timeouts, signal)
      : (signal?: AbortSignal): Promise<TargetDialect> => MysqlDialect.connect(sink.url, timeouts, signal);
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
    // Changes of keyless tables it cannot apply: skipped, and shown in the group's events with the fix.
    report: deps.report,
    concurrency: sink.concurrency,
    transforms: group.transforms,
  };
  return new DatabaseSink(connect, new TableSchemaRepository(deps.pool), options, sink.type);
}

/** `sink.type: postgres`: a Postgres target kept in sync exactly once. */
export const postgresSinkKind: SinkKind<'postgres'> = { type: 'postgres', create: createDatabaseSink };

/** `sink.type: mysql`: a MySQL or MariaDB target kept in sync exactly once. */
export const mysqlSinkKind: SinkKind<'mysql'> = { type: 'mysql', create: createDatabaseSink };
