import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { MetricsService } from '@tributary/metrics';
import { PlatformDatabase } from '@tributary/store';
import { CaptureStatus, SourceCapture } from './source-capture';

/** Runs the capture of every configured source for as long as the process lives. */
@Injectable()
export class CaptureService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly captures: SourceCapture[];

  private readonly reported = new Map<string, number>();

  constructor(
    @Inject(TRIBUTARY_CONFIG) config: TributaryConfig,
    @Inject(PlatformDatabase) db: PlatformDatabase,
    @Optional() @Inject(MetricsService) metrics?: MetricsService,
  ) {
    this.captures = config.sources.map((source) => new SourceCapture(source, config, db));
    metrics?.onCollect(() => {
      const m = metrics.metrics;
      m.captureStreaming.reset();
      for (const s of this.statuses()) {
        m.captureStreaming.set({ source: s.source, state: s.state }, s.state === 'streaming' ? 1 : 0);
        // The status counts since start; the counter moves by what is new since the last scrape.
        const before = this.reported.get(s.source) ?? 0;
        if (s.messagesAppended > before) m.messagesAppended.inc({ source: s.source }, s.messagesAppended - before);
        this.reported.set(s.source, s.messagesAppended);
      }
    });
  }

  onApplicationBootstrap(): void {
    for (const c of this.captures) c.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.captures.map((c) => c.stop()));
  }

  statuses(): CaptureStatus[] {
    return this.captures.map((c) => c.status());
  }
}
