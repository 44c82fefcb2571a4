import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { MetricsService } from './metrics.service';
import { TributaryMetrics } from './metrics-registry';

@Module({})
export class MetricsModule {
  /** `readings`: the provider of PlatformReadings, composed from the owning libraries by the runtime. */
  static forRoot(readings: Provider): DynamicModule {
    return {
      module: MetricsModule,
      global: true,
      providers: [{ provide: TributaryMetrics, useFactory: () => new TributaryMetrics() }, MetricsService, readings],
      exports: [TributaryMetrics, MetricsService],
    };
  }
}
