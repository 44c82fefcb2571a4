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
// The pure pieces (statement building, change plans, names, exact JSON), exported for their unit tests.
export { parseExact, parseMarked, stringifyExact } from './exact-json';
export { mysqlNameProblem } from './mysql/mysql-names';
export { postgresNameProblem } from './postgres/postgres-names';
export { valuesStatements } from './mysql/mysql-batch';
export { deleteStatement, upsertStatement } from './postgres/postgres-batch';
export { planChanges } from './change-plan';
export { parseChange, type RowChange } from './change';
export { snapshotChange } from './snapshot-change';
export { CopyInserts, MIN_COPY_ROWS } from './postgres/postgres-copy';
