export { PlatformDatabase, PLATFORM_SCHEMA, createDataSource, runMigrations } from './platform-database';
export { StoreModule } from './store.module';
export { withTransaction } from './transaction';
export * from './entities';
