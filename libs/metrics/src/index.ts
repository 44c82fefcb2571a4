export { MetricsModule } from './metrics.module';
export { MetricsService } from './metrics.service';
export { TributaryMetrics } from './metrics.registry';
