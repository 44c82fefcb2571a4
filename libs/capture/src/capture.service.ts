import { Inject, Injectable, Logger, OnApplicationBootstrap, BeforeApplicationShutdown, Optional } from '@nestjs/common';
import { CatalogFollower, CatalogRepository } from '@tributary/catalog';
import { resolveSource, TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { MetricsService } from '@tributary/metrics';
import { PlatformDatabase } from '@tributary/store';
import { CaptureStatus, SourceCapture } from './source-capture';

/**
 * Captures every source in the catalog for as long as the process lives, following it: a source created
 * through the API or a file starts, a changed one restarts with its new settings, a deleted one stops.
 */
@Injectable()
export class CaptureService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Capture');
  private readonly captures = new Map<string, { capture: SourceCapture; resolved: string }>();
  private readonly follower: CatalogFollower;
  private readonly reported = new Map<string, number>();

  constructor(
    @Inject(TRIBUTARY_CONFIG) private readonly config: TributaryConfig,
    @Inject(PlatformDatabase) private readonly db: PlatformDatabase,
    @Inject(CatalogRepository) private readonly catalog: CatalogRepository,
    @Optional() @Inject(MetricsService) metrics?: MetricsService,
  ) {
    this.follower = new CatalogFollower(catalog, () => this.reconcile(), this.logger);
    metrics?.onCollect(() => {
      const m = metrics.metrics;
      m.platformWritable.set(this.db.writability.reason ? 0 : 1);
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

  async onApplicationBootstrap(): Promise<void> {
    await this.follower.start();
    if (this.captures.size === 0) this.logger.log('no sources in the catalog yet');
  }

  /** Before the platform database closes (StoreModule, at onApplicationShutdown): see bootstrap. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.follower.stop();
    await Promise.all([...this.captures.values()].map((c) => c.capture.stop()));
  }

  statuses(): CaptureStatus[] {
    return [...this.captures.values()].map((c) => c.capture.status());
  }

  private async reconcile(): Promise<void> {
    const wanted = new Map(
      (await this.catalog.listSources()).map((s) => [
        s.name,
        { config: resolveSource(s.spec, this.config.defaultSourceUrl), version: s.version, createdAt: s.createdAt },
      ]),
    );
    for (const [name, running] of this.captures) {
      const next = wanted.get(name);
      // Any new version restarts it: the capture checks the version it runs once it leads (see isCurrent).
      if (next && `${next.version}@${next.createdAt}` === running.resolved) continue;
      this.logger.log(
        next ? `source ${name} changed: restarting its capture` : `source ${name} was removed: stopping its capture`,
      );
      await running.capture.stop();
      this.captures.delete(name);
    }
    for (const [name, source] of wanted) {
      if (this.captures.has(name)) continue;
      // Checked again once it leads: this very row must still be in the catalog (not changed, not re-created).
      const isCurrent = async () => {
        const now = await this.catalog.getSource(name);
        return now?.version === source.version && now.createdAt === source.createdAt;
      };
      const capture = new SourceCapture(source.config, this.config, this.db, isCurrent);
      this.captures.set(name, { capture, resolved: `${source.version}@${source.createdAt}` });
      capture.start();
    }
  }
}
