export { PlatformDatabase, PLATFORM_SCHEMA, createDataSource, runMigrations } from './platform-database';
export { StoreModule } from './store.module';
export { redactUrl } from './redact-url';
export { probeSlot, type SlotState } from './slot-probe';
export { withTransaction } from './transaction';
export * from './entities';
