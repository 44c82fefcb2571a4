import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  Get,
  HttpCode,
  Inject,
  Post,
  UnprocessableEntityException,
} from '@nestjs/common';
import {
  ApplyRaceError,
  CatalogRepository,
  ConfigApplier,
  ConfigDocumentError,
  redactGroupSpec,
  redactSourceSpec,
  type ApplyResult,
} from '@tributary/catalog';
import { SourceConfigurationError, SourcePreparer } from '@tributary/capture';
import { resolveSource, sourceSchema, TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { TopicRepository } from '@tributary/topic-log';
import { z } from 'zod';
import { ApiDoc } from './openapi';
import { queryFlag, ValidQuery } from './query-params';
import * as R from './openapi/responses.schema';

const applyQuery = z.object({ dryRun: queryFlag.default(false), prune: queryFlag.default(false) });

/**
 * Config as code: a tributary.yaml document (as JSON) is planned and applied in one transaction, all or
 * nothing; the same document applied twice changes nothing. `tributary apply` and `export` call these.
 */
@Controller('api/v1/config')
export class ConfigController {
  constructor(
    @Inject(TRIBUTARY_CONFIG) private readonly config: TributaryConfig,
    @Inject(ConfigApplier) private readonly applier: ConfigApplier,
    @Inject(CatalogRepository) private readonly catalog: CatalogRepository,
    @Inject(TopicRepository) private readonly topics: TopicRepository,
  ) {}

  /**
   * `?dryRun=true` only plans. `?prune=true` also deletes sources and groups a document applied earlier but
   * no longer declares. A conflict (such as a changed partition count) applies nothing and answers 409.
   */
  @Post('apply')
  @HttpCode(200)
  @ApiDoc({
    summary: 'Plan and apply a tributary.yaml document (sources, topics, groups) in one transaction',
    response: R.applyResult,
  })
  async apply(
    @Body() body: unknown,
    @ValidQuery(applyQuery) { dryRun: onlyPlan, prune }: z.infer<typeof applyQuery>,
  ): Promise<ApplyResult> {
    await this.verifyFilters(body);
    try {
      const result = await this.applier.apply(body, {
        dryRun: onlyPlan,
        prune,
        managedBy: 'file',
        topicDefaults: this.config.topicDefaults,
        defaultSourceUrl: this.config.defaultSourceUrl,
      });
      const conflicts = result.changes.filter((c) => c.action === 'conflict');
      if (conflicts.length && !onlyPlan) {
        throw new ConflictException({
          detail: `nothing was applied: ${conflicts.map((c) => `${c.kind} ${c.name} ${c.detail}`).join('; ')}`,
          field: `${conflicts[0].kind}s`,
          changes: result.changes,
        });
      }
      return result;
    } catch (error) {
      if (error instanceof ApplyRaceError) throw new ConflictException({ detail: error.message, field: '(document)' });
      if (!(error instanceof ConfigDocumentError)) throw error;
      throw new BadRequestException({ detail: error.message, field: error.issues[0].field, errors: error.issues });
    }
  }

  /**
   * A document's sources with column lists or row filters are checked on their databases first (when
   * reachable), as the sources API does: a filter Postgres or the replica identity refuses is a 422 naming
   * it (`sources[0].tables[1].where`), and nothing is applied. The rest of the document is the applier's.
   */
  private async verifyFilters(body: unknown): Promise<void> {
    const sources = (body as { sources?: unknown } | null)?.sources;
    if (!Array.isArray(sources)) return;
    for (const [i, raw] of sources.entries()) {
      const parsed = sourceSchema.safeParse(raw);
      if (!parsed.success || !parsed.data.tables.some((t) => typeof t !== 'string' && (t.columns || t.exclude || t.where)))
        continue;
      try {
        await new SourcePreparer(resolveSource(parsed.data, this.config.defaultSourceUrl)).verifyFilters();
      } catch (error) {
        if (!(error instanceof SourceConfigurationError) || !error.field) throw error;
        throw new UnprocessableEntityException({ detail: error.message, field: `sources[${i}].${error.field}` });
      }
    }
  }

  /** The running configuration in the shape `apply` takes; passwords masked (`***`) and webhook secrets left out, which apply keeps as stored. */
  @Get()
  @ApiDoc({
    summary: 'The running sources, topics and groups, as a document apply takes (secrets masked or left out)',
    response: R.configDocument,
  })
  async export(): Promise<Record<string, unknown>> {
    const [sources, groups, topics] = await Promise.all([
      this.catalog.listSources(),
      this.catalog.listGroups(),
      this.topics.list(),
    ]);
    return {
      sources: sources.map((s) => redactSourceSpec(s.spec)),
      // null: kept forever / unlimited, as the document says it too.
      topics: topics.map(({ name, partitions, retentionMs, retentionBytes }) => ({
        name,
        partitions,
        retentionMs,
        retentionBytes,
      })),
      groups: groups.map((g) => {
        const spec = redactGroupSpec(g.spec);
        if (isObject(spec.sink)) delete spec.sink.secretCount;
        return spec;
      }),
    };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
