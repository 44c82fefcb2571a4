import { BeforeApplicationShutdown, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { CaptureService, SourceReadings, type CaptureStatus, type SourceReading } from '@tributary/capture';
import { CatalogRepository } from '@tributary/catalog';
import { TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { GroupAdminRepository, type GroupHealth } from '@tributary/consumer-groups';
import { SAMPLE_INTERVAL_MS, StatsRepository, type RecentRate } from '@tributary/stats';

/** How often the live stream sends the numbers. */
export const LIVE_INTERVAL_MS = 2_000;
/** A first reading of the sources waits for each to answer; the stream does not wait longer than this for it. */
const READING_WAIT_MS = 500;
/** Rates over the last three samples: steady enough to read, recent enough to see a change. */
const RATE_SECONDS = (3 * SAMPLE_INTERVAL_MS) / 1000;

export interface LiveSource {
  name: string;
  /** The capture state where this process captures the source; `unknown` in an api-only process. */
  state: string;
  slotLagBytes: number | null;
  lastCommitAt: string | null;
  appendedPerSec: number | null;
  lastError: string | null;
}

export interface LiveGroup {
  name: string;
  sinkType: string;
  lag: number;
  deliveredPerSec: number | null;
  blockedPartitions: number;
  pausedPartitions: number;
  errors: number;
  reason: string | null;
}

export interface LiveSnapshot {
  at: string;
  sources: LiveSource[];
  groups: LiveGroup[];
}

type Listener = (snapshot: string) => void;

/**
 * The numbers of GET /api/v1/stats/live, read once per interval however many consoles listen (and not
 * at all when none does), then sent to each. A new listener gets a reading of its own at once.
 */
@Injectable()
export class LiveStats implements BeforeApplicationShutdown {
  private readonly logger = new Logger('LiveStats');
  private readonly listeners = new Set<Listener>();
  private readonly readings: SourceReadings;
  private lastReadings: SourceReading[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(CatalogRepository) private readonly catalog: CatalogRepository,
    @Inject(GroupAdminRepository) private readonly groups: GroupAdminRepository,
    @Inject(StatsRepository) private readonly stats: StatsRepository,
    @Inject(TRIBUTARY_CONFIG) config: TributaryConfig,
    @Optional() @Inject(CaptureService) private readonly capture?: CaptureService,
  ) {
    // Slot lag is read from the sources in the background, at most every metricsSourceIntervalMs.
    this.readings = new SourceReadings(catalog, config);
  }

  /** Calls `listener` with each snapshot (JSON) from now on; answers the unsubscribe. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    void this.snapshotJson().then((json) => json && this.listeners.has(listener) && listener(json));
    this.timer ??= setInterval(() => void this.broadcast(), LIVE_INTERVAL_MS);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  beforeApplicationShutdown(): void {
    this.listeners.clear();
    this.stop();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async broadcast(): Promise<void> {
    const json = await this.snapshotJson();
    if (json) for (const listener of this.listeners) listener(json);
  }

  /** undefined when the platform database cannot be read: the stream skips a beat rather than ending. */
  private async snapshotJson(): Promise<string | undefined> {
    try {
      return JSON.stringify(await this.snapshot());
    } catch (error) {
      this.logger.warn(`reading the live stats failed: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** The sources' latest reading, or the one before while a slow source is still being asked. */
  private async sourceReadings(): Promise<SourceReading[]> {
    const reading = this.readings.current().then(
      (r) => (this.lastReadings = r),
      () => this.lastReadings,
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<SourceReading[]>(
      (resolve) => (timer = setTimeout(() => resolve(this.lastReadings), READING_WAIT_MS)),
    );
    try {
      return await Promise.race([reading, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async snapshot(): Promise<LiveSnapshot> {
    const [entries, checkpoints, health, rates, readings] = await Promise.all([
      this.catalog.listSources(),
      this.catalog.checkpoints(),
      this.groups.health(),
      this.stats.recentRates(RATE_SECONDS),
      this.sourceReadings(),
    ]);
    const rate = new Map(rates.map((r: RecentRate) => [`${r.kind}:${r.name}`, r.rate]));
    const live = new Map<string, CaptureStatus>((this.capture?.statuses() ?? []).map((s) => [s.source, s]));
    const lagBytes = new Map(readings.map((r) => [r.source, r]));
    const sources = entries.map(({ name }): LiveSource => {
      const status = live.get(name);
      const reading = lagBytes.get(name);
      const unreachable = reading && !reading.reachable ? 'the source does not answer' : null;
      return {
        name,
        state: status?.state ?? 'unknown',
        slotLagBytes: reading?.lagBytes ?? null,
        lastCommitAt: checkpoints.get(name)?.commitTime?.toISOString() ?? null,
        appendedPerSec: rounded(rate.get(`source:${name}`)),
        lastError: status?.lastError ?? unreachable,
      };
    });
    const groups = health.map((g) => liveGroup(g, rounded(rate.get(`group:${g.name}`))));
    return { at: new Date().toISOString(), sources, groups };
  }
}

function liveGroup(g: GroupHealth, deliveredPerSec: number | null): LiveGroup {
  return {
    name: g.name,
    sinkType: g.sink,
    lag: Number(g.lag),
    deliveredPerSec,
    blockedPartitions: g.blocked,
    pausedPartitions: g.paused ? g.partitions : 0,
    errors: g.deadLetters,
    reason: g.reason ?? (g.paused ? 'paused by an operator' : null),
  };
}

function rounded(rate: number | null | undefined): number | null {
  return rate == null ? null : Math.round(rate * 100) / 100;
}
