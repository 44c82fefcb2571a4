import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { StatsRepository } from './stats.repository';

/** How often positions are sampled: the finest step of the series (15m window: 5 s). */
export const SAMPLE_INTERVAL_MS = 5_000;
/** The series' longest window, plus a step so its first point still has the sample before it. */
const RETENTION_MS = 24 * 3_600_000 + 10 * 60_000;
/** Pruning every twelfth tick (once a minute) keeps the table at 24 h without a DELETE per sample. */
const PRUNE_EVERY = 12;

/**
 * Samples the platform's positions every 5 s for the console's charts (StatsRepository.sample: one
 * statement a tick). Runs in the api role; when several api processes run, they take turns on a
 * transaction lock and skip when the table has this interval's sample: one sample per interval, not one
 * per process.
 */
@Injectable()
export class StatsSampler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('StatsSampler');
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private ticks = 0;
  private failing = false;

  constructor(@Inject(StatsRepository) private readonly stats: StatsRepository) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.tick(), SAMPLE_INTERVAL_MS);
    this.tick();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private tick(): void {
    if (this.running) return; // a slow database: skip a tick rather than pile statements up
    this.running = this.sampleOnce().finally(() => (this.running = undefined));
  }

  private async sampleOnce(): Promise<void> {
    try {
      // Half an interval: another process's sample this interval counts, last interval's does not.
      await this.stats.sample(SAMPLE_INTERVAL_MS / 2);
      if (this.ticks++ % PRUNE_EVERY === 0) await this.stats.prune(RETENTION_MS);
      if (this.failing) this.logger.log('sampling the platform for the stats series works again');
      this.failing = false;
    } catch (error) {
      // Logged once per outage: a database that is down is reported by /ready, not every 5 s here.
      if (!this.failing) this.logger.warn(`sampling the platform for the stats series failed: ${(error as Error).message}`);
      this.failing = true;
    }
  }
}
