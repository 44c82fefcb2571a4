import {
  Body,
  ConflictException,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Inject,
  NotFoundException,
  Optional,
  Param,
  Patch,
  Post,
  Put,
  Res,
  UnprocessableEntityException,
} from '@nestjs/common';
import type { Response } from 'express';
import {
  CaptureService,
  SourceConfigurationError,
  SourcePreparer,
  whileNoCaptureLeads,
  type CaptureStatus,
} from '@tributary/capture';
import { CatalogRepository, clashingSource, redactSourceSpec, sourceIdentityChange, type SourceEntry } from '@tributary/catalog';
import {
  capturedTableSchema,
  redactUrl,
  resolveSource,
  sourceSchema,
  TRIBUTARY_CONFIG,
  type SourceFileConfig,
  type TributaryConfig,
} from '@tributary/config';
import { formatLsn, probeSlot } from '@tributary/pg-source';
import { PlatformDatabase } from '@tributary/store';
import { z } from 'zod';
import { parseBody } from './body';
import { patchOf, replacementOf, restoreSecrets } from './spec-bodies';
import { expectedVersion, setCatalogEtag, staleVersion } from './catalog-etag';
import { ApiDoc } from './openapi';
import { queryFlag, ValidQuery } from './query-params';
import * as R from './openapi/responses.schema';

const tableBody = z
  .object({
    table: capturedTableSchema,
    topic: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,200}$/, 'must be 1-200 letters, digits, dots, dashes or underscores')
      .optional(),
  })
  .strict();

const removeQuery = z.object({ dropSlot: queryFlag.default(false) });

/** How long deleting a source with `dropSlot` waits for capture processes to let go of the slot. */
const RELEASE_WAIT_MS = 15_000;

/** Sources: the catalog entries capture follows, with their checkpoint and live state. Passwords never leave. */
@Controller('api/v1/sources')
export class SourcesController {
  constructor(
    @Inject(TRIBUTARY_CONFIG) private readonly config: TributaryConfig,
    @Inject(CatalogRepository) private readonly catalog: CatalogRepository,
    @Inject(PlatformDatabase) private readonly db: PlatformDatabase,
    @Optional() @Inject(CaptureService) private readonly capture?: CaptureService,
  ) {}

  @Get()
  @ApiDoc({ summary: 'Sources with their checkpoint and, where this process captures, live status', response: R.sourceList })
  async list(): Promise<Record<string, unknown>[]> {
    const entries = await this.catalog.listSources();
    const checkpoints = await this.catalog.checkpoints();
    const live = new Map<string, CaptureStatus>((this.capture?.statuses() ?? []).map((s) => [s.source, s]));
    return entries.map((e) => this.summary(e, checkpoints.get(e.name), live.get(e.name)));
  }

  /** One source with its slot state read from the source: reachable, slot active, confirmed LSN, lag in bytes. */
  @Get(':name')
  @ApiDoc({ summary: 'A source with its live slot state (connected, slot, confirmed LSN, lag in bytes)', response: R.source })
  async get(@Param('name') name: string, @Res({ passthrough: true }) res: Response): Promise<Record<string, unknown>> {
    const entry = await this.mustExist(name);
    const checkpoint = (await this.catalog.checkpoints()).get(name);
    const live = this.capture?.statuses().find((s) => s.source === name);
    const source = this.resolve(entry.spec);
    const state = await probeSlot(source.url, source.slot, undefined, source.tables);
    setCatalogEtag(res, entry.version);
    return {
      ...this.summary(entry, checkpoint, live),
      database: redactUrl(source.url),
      connected: state.reachable,
      ...(state.error ? { error: state.error } : {}),
      slotActive: state.slot?.active ?? false,
      confirmedLsn: state.slot?.confirmedFlushLsn ?? null,
      lagBytes: state.slot?.lagBytes ?? null,
      walStatus: state.slot?.walStatus ?? null,
      safeWalBytes: state.slot?.safeWalBytes ?? null,
      slotAtRisk: state.slot?.atRisk ?? false,
      // Read from the source by this request: shown whichever process captures it.
      missingTables: state.missingTables,
    };
  }

  /** Checks the source can be captured (reachable, wal_level logical, role, tables) before it is stored. */
  @Post()
  @ApiDoc({ summary: 'Create a source; capture starts within seconds', body: sourceSchema, response: R.source })
  async create(@Body() body: unknown, @Res({ passthrough: true }) res: Response): Promise<Record<string, unknown>> {
    const spec = parseBody(sourceSchema, body);
    if (await this.catalog.getSource(spec.name)) throw this.exists(spec.name);
    await this.refuseClash(spec);
    await this.verify(spec);
    const entry = await this.catalog.createSource(spec, 'api');
    if (!entry) throw this.exists(spec.name);
    res.status(201);
    setCatalogEtag(res, entry.version);
    return this.summary(entry);
  }

  /** Replaces the whole spec (a URL whose password is `***` keeps the stored one). Capture restarts with it. */
  @Put(':name')
  @ApiDoc({ summary: 'Replace a source (If-Match: its ETag, for no lost updates)', body: sourceSchema, response: R.source })
  async replace(
    @Param('name') name: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Record<string, unknown>> {
    const current = await this.mustExist(name);
    return this.update(current, replacementOf(name, body), ifMatch, res);
  }

  /** Changes the given top-level fields only. */
  @Patch(':name')
  @ApiDoc({ summary: 'Change some fields of a source (If-Match: its ETag)', response: R.source })
  async patch(
    @Param('name') name: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Record<string, unknown>> {
    const current = await this.mustExist(name);
    return this.update(current, patchOf(current.spec, body), ifMatch, res);
  }

  @Post(':name/tables')
  @HttpCode(200)
  @ApiDoc({
    summary: 'Capture one more table (or schema.*); an initial snapshot follows if the source asks for it',
    body: tableBody,
    response: R.source,
  })
  async addTable(
    @Param('name') name: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Record<string, unknown>> {
    const wanted = parseBody(tableBody, body);
    const current = await this.mustExist(name);
    if (current.spec.tables.some((t) => tableName(t) === wanted.table)) {
      throw new ConflictException({ detail: `source "${name}" already captures ${wanted.table}`, field: 'table' });
    }
    const entry = wanted.topic ? { table: wanted.table, topic: wanted.topic } : wanted.table;
    return this.update(current, { ...current.spec, tables: [...current.spec.tables, entry] }, ifMatch, res);
  }

  /** Stops capturing a table (`schema.table` as listed); its topic and messages stay. */
  @Delete(':name/tables/:table')
  @ApiDoc({ summary: 'Stop capturing a table; its topic and messages stay', response: R.source })
  async removeTable(
    @Param('name') name: string,
    @Param('table') table: string,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Record<string, unknown>> {
    const current = await this.mustExist(name);
    const tables = current.spec.tables.filter((t) => tableName(t) !== table);
    if (tables.length === current.spec.tables.length) {
      throw new NotFoundException({ detail: `source "${name}" does not capture ${table}`, field: 'table' });
    }
    if (!tables.length) {
      throw new ConflictException({
        detail: `${table} is the last table of source "${name}"; delete the source instead`,
        field: 'table',
      });
    }
    return this.update(current, { ...current.spec, tables }, ifMatch, res);
  }

  /**
   * Stops its capture. `?dropSlot=true` also drops the slot and publication on the source and forgets the
   * source's progress here; if that cannot be done (source unreachable, slot still held) the source is put
   * back as it was and the answer is 409.
   */
  @Delete(':name')
  @HttpCode(204)
  @ApiDoc({ summary: 'Delete a source; ?dropSlot=true also drops its replication slot and publication' })
  async remove(@Param('name') name: string, @ValidQuery(removeQuery) { dropSlot }: z.infer<typeof removeQuery>): Promise<void> {
    const entry = await this.mustExist(name);
    if (!dropSlot) {
      if (!(await this.catalog.deleteSource(name))) throw this.missing(name);
      return;
    }
    const preparer = new SourcePreparer(this.resolve(entry.spec));
    await preparer.reachable().catch((error: Error) => {
      throw new ConflictException({
        detail: `cannot drop the slot, so nothing was deleted: ${error.message}`,
        field: 'dropSlot',
      });
    });
    if (!(await this.catalog.deleteSource(name))) throw this.missing(name);
    // Capture processes stop within a second or two; holding the leadership lock keeps any from starting again.
    const done = await whileNoCaptureLeads(this.db, name, RELEASE_WAIT_MS, async () => {
      // Progress first: if the drop then fails, the restored source resumes from its slot (and re-snapshots).
      await this.catalog.forgetSourceProgress(name);
      if (!(await preparer.release(RELEASE_WAIT_MS))) throw new Error(`the slot stayed active for ${RELEASE_WAIT_MS / 1000} s`);
    }).catch((error: Error) => error);
    if (done !== true) {
      await this.catalog.restoreSource(entry); // all or nothing: the source is back, with a new version
      const why = done === false ? `a capture held the source for ${RELEASE_WAIT_MS / 1000} s` : done.message;
      throw new ConflictException({ detail: `source "${name}" was kept: ${why}`, field: 'dropSlot' });
    }
  }

  private async update(
    current: SourceEntry,
    raw: unknown,
    ifMatch: string | undefined,
    res: Response,
  ): Promise<Record<string, unknown>> {
    // Without If-Match the version read for this request guards it: a concurrent change answers 409, never lost.
    const version = expectedVersion(ifMatch) ?? current.version;
    const spec = parseBody(
      sourceSchema,
      restoreSecrets(raw, { sourceUrl: current.spec.url }, () => undefined),
    );
    if (spec.name !== current.name) {
      throw new UnprocessableEntityException({ detail: 'name: a source cannot be renamed', field: 'name' });
    }
    const identity = sourceIdentityChange(current.spec, spec);
    if (identity) {
      throw new UnprocessableEntityException({
        detail: `${identity}: cannot change, capture would resume from a position that means nothing there; delete the source (?dropSlot=true) and create it again`,
        field: identity,
      });
    }
    await this.refuseClash(spec);
    await this.verify(spec);
    const outcome = await this.catalog.updateSource(spec, { expectedVersion: version });
    if (outcome === 'not_found') throw this.missing(current.name);
    if (outcome === 'conflict') throw staleVersion('source', current.name);
    setCatalogEtag(res, outcome.entry.version);
    return this.summary(outcome.entry);
  }

  private async refuseClash(spec: SourceFileConfig): Promise<void> {
    const others = (await this.catalog.listSources()).map((s) => s.spec);
    const clash = clashingSource(spec, others, this.config.defaultSourceUrl);
    if (clash) {
      throw new ConflictException({
        detail: `${clash.field}: source "${clash.other}" uses the same ${clash.field} on the same database`,
        field: clash.field,
      });
    }
  }

  private async verify(spec: SourceFileConfig): Promise<void> {
    try {
      await new SourcePreparer(this.resolve(spec)).verify();
    } catch (error) {
      const message = (error as Error).message;
      const named = error instanceof SourceConfigurationError ? error.field : undefined;
      const field = named ?? (/table|schema/.test(message) && !/cannot reach/.test(message) ? 'tables' : 'url');
      throw new UnprocessableEntityException({ detail: message, field });
    }
  }

  private resolve(spec: SourceFileConfig) {
    return resolveSource(spec, this.config.defaultSourceUrl);
  }

  private summary(
    entry: SourceEntry,
    checkpoint?: { lsn: bigint; commitTime: Date | null },
    live?: CaptureStatus,
  ): Record<string, unknown> {
    const resolved = this.resolve(entry.spec);
    return {
      ...redactSourceSpec(entry.spec),
      slot: resolved.slot,
      publication: resolved.publication,
      version: entry.version,
      managedBy: entry.managedBy,
      createdAt: entry.createdAt,
      updatedAt: entry.updatedAt,
      checkpointLsn: checkpoint ? formatLsn(checkpoint.lsn) : null,
      lastCommitTime: checkpoint?.commitTime?.toISOString() ?? null,
      capture: live ?? null,
    };
  }

  private async mustExist(name: string): Promise<SourceEntry> {
    const entry = await this.catalog.getSource(name);
    if (!entry) throw this.missing(name);
    return entry;
  }

  private missing(name: string): NotFoundException {
    return new NotFoundException({ detail: `source "${name}" does not exist`, field: 'name' });
  }

  private exists(name: string): ConflictException {
    return new ConflictException({ detail: `source "${name}" already exists`, field: 'name' });
  }
}

function tableName(entry: string | { table: string }): string {
  return typeof entry === 'string' ? entry : entry.table;
}
