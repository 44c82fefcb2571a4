export { CatalogRepository } from './catalog.repository';
export { CatalogFollower, CATALOG_POLL_MS } from './catalog-follower';
export { ApplyRaceError, ConfigApplier, ConfigDocumentError, type ApplyResult, type PlannedChange } from './config-applier';
export { CatalogModule } from './catalog.module';
export { redactGroupSpec, redactSourceSpec } from './redact';
export type { GroupEntry, ManagedBy, SourceEntry, UpdateResult } from './catalog-types';
export { clashingSource, slotOf, sourceIdentityChange } from './source-identity';
