import { Logger } from '@nestjs/common';
import type { CatalogRepository } from '@tributary/catalog';
import { resolveSource, type SourceConfig, type TributaryConfig } from '@tributary/config';
import { probeSlot, type SlotState } from '@tributary/pg-source';

const SOURCE_TIMEOUT_MS = 3_000;

/** What a source said when it was last asked. */
export interface SourceReading {
  source: string;
  reachable: boolean;
  lagBytes?: number;
  /** Configured tables that did not exist at the reading. */
  missingTables: string[];
  /** The slot: lost, about to be, or close to max_slot_wal_keep_size (pg-source's slot probe). */
  slotAtRisk?: boolean;
  safeWalBytes?: number;
}

/**
 * The sources' own numbers (reachable, slot lag) for /metrics, read in the background: a scrape never
 * connects to a source, it reports the last reading. A scrape that finds the last reading older than
 * `metricsSourceIntervalMs` starts the next one, unless one runs; a reading asks one source at a time.
 * So the sources see at most one connection from this process per interval, whether one scraper or
 * forty scrape, and nothing while nobody scrapes. Only the first scrape of a process waits, for the
 * first reading.
 */
export class SourceReadings {
  private readonly logger = new Logger('Metrics');
  private last: SourceReading[] = [];
  private startedAt = -Infinity;
  private first?: Promise<void>;
  private running = false;

  constructor(
    private readonly catalog: CatalogRepository,
    private readonly config: TributaryConfig,
    private readonly probe: (
      url: string,
      slot: string,
      timeoutMs: number,
      tables: SourceConfig['tables'],
    ) => Promise<SlotState> = probeSlot,
  ) {}

  async current(): Promise<SourceReading[]> {
    if (!this.running && Date.now() - this.startedAt >= this.config.metricsSourceIntervalMs) {
      this.startedAt = Date.now();
      this.running = true;
      const reading = this.read().finally(() => (this.running = false));
      if (this.first)
        reading.catch((error: Error) => this.logger.error(`reading the sources for /metrics failed: ${error.message}`));
      else
        this.first = reading.catch((error: Error) => {
          // that scrape fails with the error; the next one tries again
          this.first = undefined;
          this.startedAt = -Infinity;
          throw error;
        });
    }
    await this.first;
    return this.last;
  }

  private async read(): Promise<void> {
    const sources = (await this.catalog.listSources()).map((s) => resolveSource(s.spec, this.config.defaultSourceUrl));
    const readings: SourceReading[] = [];
    for (const s of sources) {
      const state = await this.probe(s.url, s.slot, SOURCE_TIMEOUT_MS, s.tables);
      const lagBytes = state.slot?.lagBytes;
      readings.push({
        source: s.name,
        reachable: state.reachable,
        missingTables: state.missingTables,
        ...(lagBytes == null ? {} : { lagBytes }),
        ...(state.slot ? { slotAtRisk: state.slot.atRisk } : {}),
        ...(state.slot?.safeWalBytes == null ? {} : { safeWalBytes: state.slot.safeWalBytes }),
      });
    }
    this.last = readings;
  }
}
