export { MetricsModule } from './metrics.module';
export { MetricsService } from './metrics.service';
export { serveMetrics } from './metrics.server';
export { TributaryMetrics } from './metrics.registry';
