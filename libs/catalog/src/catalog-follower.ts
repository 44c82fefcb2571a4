import type { Logger } from '@nestjs/common';
import type { CatalogRepository } from './catalog.repository';

/** How often processes look for catalog changes: a change takes effect within about this long. */
export const CATALOG_POLL_MS = 1_000;

/**
 * Calls `reconcile` at start and whenever a source or group changed. Polls a fingerprint of the catalog
 * (names and versions: one cheap query) rather than LISTEN, so a dropped connection cannot lose a change.
 * A failed reconcile is logged and tried again on the next tick.
 */
export class CatalogFollower {
  private timer?: NodeJS.Timeout;
  private seen?: string;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly catalog: CatalogRepository,
    private readonly reconcile: () => Promise<void>,
    private readonly logger: Logger,
    private readonly intervalMs = CATALOG_POLL_MS,
  ) {}

  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
  }

  /** Waits for a reconcile in progress; no new one starts. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private tick(): Promise<void> {
    if (this.running || this.stopped) return this.running ?? Promise.resolve();
    this.running = (async () => {
      try {
        const fingerprint = await this.catalog.fingerprint();
        if (fingerprint === this.seen) return;
        await this.reconcile();
        this.seen = fingerprint;
      } catch (error) {
        this.logger.error(`following the catalog failed (retrying): ${(error as Error).message}`);
      }
    })().finally(() => (this.running = undefined));
    return this.running;
  }
}
