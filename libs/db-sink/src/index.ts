export { DatabaseSink, type DatabaseSinkOptions, type TableMapping } from './database.sink';
export { PostgresDialect } from './postgres/postgres.dialect';
export { MysqlDialect } from './mysql/mysql.dialect';
export { IncompatibleTargetError, type TargetDialect } from './target-dialect';
export type { TargetTable } from './target-table';
export { mysqlColumnType } from './mysql/mysql.types';
