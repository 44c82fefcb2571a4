import { Inject, Injectable } from '@nestjs/common';
import { PlatformGauges } from './metrics-collector';
import { TributaryMetrics } from './metrics-registry';
import { PlatformReadings } from './platform-readings';

/** Renders the Prometheus text: live collectors registered by the roles in this process, then the platform gauges. */
@Injectable()
export class MetricsService {
  private readonly platform: PlatformGauges;
  private readonly collectors: (() => void)[] = [];

  constructor(
    @Inject(TributaryMetrics) readonly metrics: TributaryMetrics,
    @Inject(PlatformReadings) readings: PlatformReadings,
  ) {
    this.platform = new PlatformGauges(metrics.registry, readings);
  }

  /** A role adds what only it knows (capture state, say), refreshed at every scrape. */
  onCollect(collector: () => void): void {
    this.collectors.push(collector);
  }

  get contentType(): string {
    return this.metrics.registry.contentType;
  }

  async render(): Promise<string> {
    for (const collect of this.collectors) collect();
    await this.platform.collect();
    return this.metrics.registry.metrics();
  }
}
