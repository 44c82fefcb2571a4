export { BackfillRepository, backfillView, type NewBackfill } from './backfill.repository';
export { ACTIVE_STATUSES, type Backfill, type BackfillStatus, type BackfillView } from './backfill-types';
export { ChunkExchange, type PreparedChunk } from './chunk-exchange';
export { copyOut } from './copy-out';
export { SnapshotTable, SnapshotTableError, SNAPSHOT_SESSION_OPTIONS } from './snapshot-table';
export { DEFAULT_CHUNK_SIZE, Snapshotter, type SnapshotterDeps } from './snapshotter';
export { WatermarkHandler, type WatermarkContext } from './watermark-handler';
export { encodeMark, parseMark, WATERMARK_PREFIX, type WatermarkMark } from './watermark-marks';
export { checkWhereShape, explainRows, InvalidWhereError } from './where-validator';
export { checkFilter, filterReferences, UnsafeWhereError } from './filter-check';
export { XidSnapshot } from './xid-snapshot';
export { BackfillRequestError, planBackfill, type BackfillRequest } from './backfill-planner';
export { queueInitialSnapshots, skipEmptyInitialSnapshots, type QueuedSnapshot } from './initial-snapshots';
// The pure pieces of chunk encoding and TOAST fills, exported for their unit tests.
export { CopyRows, linesByPartition } from './copy-rows';
export { RowKeys } from './row-keys';
export { ToastFills, toastBatches } from './toast-fill';
