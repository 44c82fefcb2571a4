export { CaptureModule } from './capture.module';
export { CaptureService } from './capture.service';
export { SourceCapture, whileNoCaptureLeads, type CaptureState, type CaptureStatus } from './source-capture';
export { SlotLostError, SourceConfigurationError } from './capture-errors';
export { ResyncRefusedError, resyncSource, type ResyncResult } from './source-resync';
export { SourcePreparer } from './source-preparer';
export { SourceReadings, type SourceReading } from './source-readings';
export { canLogStandbySnapshots } from './slot-acknowledger';
// The pure pieces (change routing, envelopes, pgoutput values), exported for their unit tests and the benches.
export { ChangeRouter, openTransaction, type OpenTransaction, type RowChange } from './change-router';
export { envelopeParts, renderEnvelope } from './envelope';
export { UNCHANGED_TOAST, type RawValue, type Relation } from './pgoutput/pgoutput-types';
export type { TableInfo } from './table-info';
