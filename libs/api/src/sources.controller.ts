import { Controller, Get, Inject, NotFoundException, Optional, Param } from '@nestjs/common';
import { CaptureService, formatLsn, type CaptureStatus } from '@tributary/capture';
import { TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { PlatformDatabase, probeSlot, redactUrl } from '@tributary/store';

@Controller('api/v1/sources')
export class SourcesController {
  constructor(
    @Inject(TRIBUTARY_CONFIG) private readonly config: TributaryConfig,
    @Inject(PlatformDatabase) private readonly db: PlatformDatabase,
    @Optional() @Inject(CaptureService) private readonly capture?: CaptureService,
  ) {}

  /** Configured sources with their stored checkpoint and, where this process captures, live status. */
  @Get()
  async list(): Promise<Record<string, unknown>[]> {
    const { rows } = await this.db.pool.query<{ source: string; lsn: string; commit_time: Date | null }>(
      'SELECT source, lsn, commit_time FROM tributary.source_checkpoints',
    );
    const live = new Map<string, CaptureStatus>((this.capture?.statuses() ?? []).map((s) => [s.source, s]));
    return this.config.sources.map((s) => {
      const checkpoint = rows.find((r) => r.source === s.name);
      return {
        name: s.name,
        slot: s.slot,
        publication: s.publication,
        tables: s.tables.map((t) => `${t.schema}.${t.table}`),
        checkpointLsn: checkpoint ? formatLsn(BigInt(checkpoint.lsn)) : null,
        lastCommitTime: checkpoint?.commit_time?.toISOString() ?? null,
        capture: live.get(s.name) ?? null,
      };
    });
  }

  /** One source with its live slot state read from the source: reachable, slot active, confirmed LSN, lag in bytes. */
  @Get(':name')
  async get(@Param('name') name: string): Promise<Record<string, unknown>> {
    const source = this.config.sources.find((s) => s.name === name);
    if (!source) throw new NotFoundException({ detail: `source "${name}" is not configured`, field: 'name' });
    const [summary] = (await this.list()).filter((s) => s.name === name);
    const state = await probeSlot(source.url, source.slot);
    return {
      ...summary,
      database: redactUrl(source.url),
      connected: state.reachable,
      ...(state.error ? { error: state.error } : {}),
      slotActive: state.slot?.active ?? false,
      confirmedLsn: state.slot?.confirmedFlushLsn ?? null,
      lagBytes: state.slot?.lagBytes ?? null,
    };
  }
}
