import { Global, Module } from '@nestjs/common';
import { MetricsService } from './metrics.service';
import { TributaryMetrics } from './metrics.registry';

@Global()
@Module({
  providers: [{ provide: TributaryMetrics, useFactory: () => new TributaryMetrics() }, MetricsService],
  exports: [TributaryMetrics, MetricsService],
})
export class MetricsModule {}
