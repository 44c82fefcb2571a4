import {
  Body,
  ConflictException,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpException,
  Inject,
  NotFoundException,
  Optional,
  Param,
  Post,
} from '@nestjs/common';
import { Gauge } from 'prom-client';
import { z } from 'zod';
import { CatalogRepository } from '@tributary/catalog';
import { resolveSource, TRIBUTARY_CONFIG, type SourceConfig, type TributaryConfig } from '@tributary/config';
import { TributaryMetrics } from '@tributary/metrics';
import { BackfillRepository, BackfillRequestError, backfillView, planBackfill, type BackfillView } from '@tributary/snapshot';
import { PlatformDatabase } from '@tributary/store';
import { parseBody } from './body';
import * as R from './openapi/responses.schema';
import { ApiDoc } from './openapi';

const createBackfill = z
  .object({
    table: z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$/, "must be 'schema.table'"),
    where: z.string().max(4_000).nullable().optional(),
    chunkSize: z.number().int().min(1).max(100_000).optional(),
  })
  .strict();

/**
 * Snapshots of captured tables (docs/snapshots.md): start one (202: the capture of the source runs it),
 * follow its progress, cancel it. Finished, failed and cancelled backfills keep their record.
 */
@Controller('api/v1/sources/:source/backfills')
export class BackfillsController {
  private readonly repo: BackfillRepository;

  constructor(
    @Inject(TRIBUTARY_CONFIG) private readonly config: TributaryConfig,
    @Inject(CatalogRepository) private readonly catalog: CatalogRepository,
    @Inject(PlatformDatabase) private readonly db: PlatformDatabase,
    @Optional() @Inject(TributaryMetrics) metrics?: TributaryMetrics,
  ) {
    this.repo = new BackfillRepository(db.pool);
    if (metrics) this.registerMetrics(metrics);
  }

  @Post()
  @HttpCode(202)
  @ApiDoc({ summary: 'Start a backfill of a table', body: createBackfill, response: R.backfill })
  async create(@Param('source') name: string, @Body() body: unknown): Promise<BackfillView> {
    const source = await this.source(name);
    const request = parseBody(createBackfill, body);
    try {
      return backfillView(await planBackfill(this.db.pool, source, request));
    } catch (error) {
      if (error instanceof BackfillRequestError) {
        throw new HttpException({ detail: `${error.field}: ${error.message}`, field: error.field }, error.status);
      }
      throw error;
    }
  }

  @Get()
  @ApiDoc({ summary: "A source's backfills", response: R.backfillList })
  async list(@Param('source') name: string): Promise<BackfillView[]> {
    await this.source(name);
    return (await this.repo.list(name)).map((b) => backfillView(b));
  }

  @Get(':id')
  @ApiDoc({ summary: 'A backfill with its progress', response: R.backfill })
  async get(@Param('source') name: string, @Param('id') id: string): Promise<BackfillView> {
    await this.source(name);
    const backfill = await this.repo.get(name, this.id(id));
    if (!backfill) throw new NotFoundException({ detail: `backfill ${id} of source "${name}" does not exist`, field: 'id' });
    return backfillView(backfill);
  }

  /** Cancels a pending or running backfill; rows already appended stay in the topic. */
  @Delete(':id')
  @ApiDoc({ summary: 'Cancel a backfill', response: R.backfill })
  async cancel(@Param('source') name: string, @Param('id') id: string): Promise<BackfillView> {
    await this.source(name);
    const { cancelled, backfill } = await this.repo.cancel(name, this.id(id));
    if (!backfill) throw new NotFoundException({ detail: `backfill ${id} of source "${name}" does not exist`, field: 'id' });
    if (!cancelled) throw new ConflictException({ detail: `backfill ${id} is already ${backfill.status}`, field: 'id' });
    return backfillView(backfill);
  }

  private async source(name: string): Promise<SourceConfig> {
    const entry = await this.catalog.getSource(name);
    if (!entry) throw new NotFoundException({ detail: `source "${name}" does not exist`, field: 'source' });
    return resolveSource(entry.spec, this.config.defaultSourceUrl);
  }

  private id(text: string): number {
    if (!/^\d{1,15}$/.test(text)) throw new NotFoundException({ detail: `backfill ${text} does not exist`, field: 'id' });
    return Number(text);
  }

  /** Progress of active (and recently finished) backfills, read from the platform database at scrape time. */
  private registerMetrics(metrics: TributaryMetrics): void {
    const repo = this.repo;
    const labelNames = ['source', 'table', 'backfill', 'status'];
    // prom-client collects the gauges of a scrape concurrently: they share one read of the records.
    const gauges: Gauge[] = [];
    let reading: Promise<void> | undefined;
    const refresh = async () => {
      const rows = (await repo.active()).map((r) => backfillView(r));
      for (const g of gauges) g.reset();
      for (const b of rows) {
        const labels = { source: b.source, table: b.table, backfill: String(b.id), status: b.status };
        gauges[0].set(labels, b.rowsDone);
        if (b.estimatedTotal !== null) gauges[1].set(labels, b.estimatedTotal);
        if (b.rowsPerSecond !== null) gauges[2].set(labels, b.rowsPerSecond);
        if (b.etaSeconds !== null) gauges[3].set(labels, b.etaSeconds);
      }
    };
    const collect = () => (reading ??= refresh().finally(() => (reading = undefined)));
    const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames, registers: [], collect });
    gauges.push(
      gauge('tributary_backfill_rows_done', 'Rows a backfill has read, committed with their messages'),
      gauge('tributary_backfill_rows_estimated', "The planner's estimate of a backfill's rows"),
      gauge('tributary_backfill_rows_per_second', 'Average rate of a backfill since it started'),
      gauge('tributary_backfill_eta_seconds', 'Estimated seconds until a running backfill is done'),
    );
    for (const g of gauges) metrics.registry.registerMetric(g);
  }
}
