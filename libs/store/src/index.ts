export { PlatformDatabase, PLATFORM_SCHEMA, createDataSource, runMigrations } from './platform-database';
export { StoreModule } from './store.module';
export { withTransaction } from './transaction';
export * from './entities';
// Exported for its unit test: how the platform's pools wait for their last connection to close.
export { PoolConnections } from './pool-connections';
export { PlatformWritability, unwritableReason } from './platform-writability';
