export { MetricsModule } from './metrics.module';
export { MetricsService } from './metrics.service';
export { serveMetrics, type MetricsServerOptions, type ScrapeAuthorization } from './metrics-server';
export { TributaryMetrics } from './metrics-registry';
export {
  PlatformReadings,
  type DeadLetterCount,
  type GroupEventCount,
  type GroupPartitionReading,
  type PartitionEndReading,
  type SourceReading,
} from './platform-readings';
