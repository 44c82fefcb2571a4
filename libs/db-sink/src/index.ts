export { DatabaseSink, type DatabaseSinkOptions, type TableMapping } from './database.sink';
export { KEYLESS_CHANGE_SKIPPED } from './keyless-events';
export { PostgresDialect } from './postgres/postgres.dialect';
export { MysqlDialect } from './mysql/mysql.dialect';
export {
  DEFAULT_TARGET_TIMEOUTS,
  IncompatibleTargetError,
  type StoredOffset,
  type TargetDialect,
  type TargetTimeouts,
} from './target-dialect';
export type { TargetTable } from './target-table';
export { mysqlColumnType } from './mysql/mysql-types';
export { mysqlSinkKind, postgresSinkKind } from './database-sink-kinds';
