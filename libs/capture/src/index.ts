export { CaptureModule } from './capture.module';
export { CaptureService } from './capture.service';
export { SourceCapture, whileNoCaptureLeads, type CaptureState, type CaptureStatus } from './source-capture';
export { SlotLostError, SourceConfigurationError } from './capture-errors';
export { ResyncRefusedError, resyncSource, type ResyncResult } from './source-resync';
export { SourcePreparer } from './source-preparer';
export { SourceReadings, type SourceReading } from './source-readings';
