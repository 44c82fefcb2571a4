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
  Param,
  Patch,
  Post,
  Put,
  Res,
  UnprocessableEntityException,
} from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import { CatalogRepository, redactGroupSpec, type GroupEntry } from '@tributary/catalog';
import { databaseGroupDefaults, groupSchema, webhookGroupDefaults } from '@tributary/config';
import type { PartitionLag } from '@tributary/consumer-groups';
import { parseBody } from './body';
import { patchOf, replacementOf, restoreSecrets } from './spec-bodies';
import { expectedVersion, setCatalogEtag, staleVersion } from './catalog-etag';
import { ApiDoc } from './openapi';
import { PullMembersRegistry } from './pull-members-registry.service';
import * as R from './openapi/responses.schema';

/** Through the API a group without a sink is a pull group: clients consume it over HTTP. */
const apiGroup = z.preprocess(
  (input) =>
    databaseGroupDefaults(
      webhookGroupDefaults(
        typeof input === 'object' && input !== null && !Array.isArray(input) && !('sink' in input)
          ? { ...input, sink: { type: 'pull' } }
          : input,
      ),
    ),
  groupSchema,
);

/**
 * Consumer groups and what runs them: a group with a sink (postgres, mysql, webhook, log) is run by the
 * workers, which follow changes within seconds; a `pull` group is consumed over the pull API. Sink
 * passwords and webhook secrets are write-only.
 */
@Controller('api/v1/groups')
export class GroupsController {
  constructor(
    @Inject(PullMembersRegistry) private readonly registry: PullMembersRegistry,
    @Inject(CatalogRepository) private readonly catalog: CatalogRepository,
  ) {}

  @Post()
  @ApiDoc({ summary: 'Create a group (with a sink, or a pull group without one)', body: groupSchema, response: R.group })
  async create(@Body() body: unknown, @Res({ passthrough: true }) res: Response): Promise<Record<string, unknown>> {
    let secret: string | undefined;
    const spec = parseBody(
      apiGroup,
      restoreSecrets(body, undefined, (s) => (secret = s)),
    );
    const entry = await this.catalog.createGroup(spec, 'api');
    if (!entry) throw new ConflictException({ detail: `group "${spec.name}" already exists`, field: 'name' });
    res.status(201);
    setCatalogEtag(res, entry.version);
    // A signing secret made here is shown this once; it is never returned again.
    return { ...this.describe(entry), ...(secret ? { secret } : {}) };
  }

  /** The group, its members, and per partition: committed offset, log end, lag, owner, status. */
  @Get(':group')
  @ApiDoc({ summary: 'A group with its sink, members, lag and per-partition state', response: R.group })
  async get(@Param('group') name: string, @Res({ passthrough: true }) res: Response): Promise<Record<string, unknown>> {
    const entry = await this.mustExist(name);
    const partitions: PartitionLag[] = await this.registry.repo.lag(name);
    const lag = partitions.reduce((n, p) => n + BigInt(p.lag), 0n);
    setCatalogEtag(res, entry.version);
    return { ...this.describe(entry), lag: String(lag), members: await this.registry.repo.members(name), partitions };
  }

  /** Replaces the whole spec; leaving out the webhook secrets or masking a password (`***`) keeps the stored ones. */
  @Put(':group')
  @ApiDoc({
    summary: 'Replace a group and its sink (If-Match: its ETag); its members restart with it',
    body: groupSchema,
    response: R.group,
  })
  async replace(
    @Param('group') name: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Record<string, unknown>> {
    const current = await this.mustExist(name);
    return this.update(current, replacementOf(name, body), ifMatch, res);
  }

  /** Changes the given top-level fields; a given `sink` replaces the sink whole. */
  @Patch(':group')
  @ApiDoc({ summary: 'Change some fields of a group (If-Match: its ETag)', response: R.group })
  async patch(
    @Param('group') name: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Record<string, unknown>> {
    const current = await this.mustExist(name);
    return this.update(current, patchOf(current.spec, body), ifMatch, res);
  }

  /** Deletes the group with its offsets, dead letters and delivery log; its workers stop within seconds. */
  @Delete(':group')
  @HttpCode(204)
  @ApiDoc({ summary: 'Delete a group, its offsets, dead letters and delivery log' })
  async remove(@Param('group') name: string): Promise<void> {
    if (!(await this.catalog.deleteGroup(name)))
      throw new NotFoundException({ detail: `group "${name}" does not exist`, field: 'group' });
  }

  /** Offset resets and other notable happenings, newest first. */
  @Get(':group/events')
  @ApiDoc({ summary: 'Offset resets and other group events, newest first', response: R.groupEvents })
  async events(@Param('group') name: string): Promise<unknown> {
    return this.registry.repo.events(name);
  }

  private async update(
    current: GroupEntry,
    raw: unknown,
    ifMatch: string | undefined,
    res: Response,
  ): Promise<Record<string, unknown>> {
    // Without If-Match the version read for this request guards it: a concurrent change answers 409, never lost.
    const version = expectedVersion(ifMatch) ?? current.version;
    let secret: string | undefined;
    const spec = parseBody(
      apiGroup,
      restoreSecrets(raw, { group: current.spec }, (s) => (secret = s)),
    );
    if (spec.name !== current.name)
      throw new UnprocessableEntityException({ detail: 'name: a group cannot be renamed', field: 'name' });
    const outcome = await this.catalog.updateGroup(spec, { expectedVersion: version });
    if (outcome === 'not_found')
      throw new NotFoundException({ detail: `group "${current.name}" does not exist`, field: 'group' });
    if (outcome === 'conflict') throw staleVersion('group', current.name);
    setCatalogEtag(res, outcome.entry.version);
    return { ...this.describe(outcome.entry), ...(secret ? { secret } : {}) };
  }

  private describe(entry: GroupEntry): Record<string, unknown> {
    return {
      ...redactGroupSpec(entry.spec),
      paused: entry.paused,
      version: entry.version,
      managedBy: entry.managedBy,
      createdAt: entry.createdAt,
      updatedAt: entry.updatedAt,
    };
  }

  private async mustExist(name: string): Promise<GroupEntry> {
    const entry = await this.catalog.getGroup(name);
    if (!entry) throw new NotFoundException({ detail: `group "${name}" does not exist`, field: 'group' });
    return entry;
  }
}
