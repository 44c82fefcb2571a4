import { Inject, Injectable } from '@nestjs/common';
import { TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { PlatformDatabase } from '@tributary/store';
import { DatabaseMetrics } from './metrics.collector';
import { TributaryMetrics } from './metrics.registry';

/** Renders the Prometheus text: live collectors registered by the roles in this process, then the database gauges. */
@Injectable()
export class MetricsService {
  private readonly database: DatabaseMetrics;
  private readonly collectors: (() => void)[] = [];

  constructor(
    @Inject(TributaryMetrics) readonly metrics: TributaryMetrics,
    @Inject(PlatformDatabase) db: PlatformDatabase,
    @Inject(TRIBUTARY_CONFIG) config: TributaryConfig,
  ) {
    this.database = new DatabaseMetrics(metrics.registry, db.pool, config);
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
    await this.database.collect();
    return this.metrics.registry.metrics();
  }
}
