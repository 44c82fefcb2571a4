import {
  Body,
  ConflictException,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
} from '@nestjs/common';
import { z } from 'zod';
import { CatalogRepository } from '@tributary/catalog';
import { generateWebhookSecret, resolveGroup, TRIBUTARY_CONFIG, type GroupConfig, type TributaryConfig } from '@tributary/config';
import { PlatformDatabase } from '@tributary/store';
import {
  AttemptView,
  DeadLetterView,
  ReplayBusyError,
  ReplayNotFoundError,
  ReplayResult,
  WebhookReplayer,
  WebhookRepository,
  type WebhookSinkConfig,
  pingWebhook,
  storedUrl,
  type PingResult,
} from '@tributary/webhook-sink';
import { parseBody } from './body';
import { queryFlag, queryInt, queryLimit, queryPosition, ValidQuery } from './query-params';
import * as R from './openapi/responses.schema';
import { ApiDoc } from './openapi';

const OFFSET = z.union([z.string().regex(/^\d{1,19}$/, 'must be a non-negative integer'), z.number().int().min(0)]);
const limit = z.number().int().min(1).max(10_000).optional();
const replayBody = z.union([
  z.object({ deadLetterId: z.union([z.string().regex(/^\d{1,19}$/), z.number().int().min(1)]) }).strict(),
  z
    .object({
      topic: z.string().min(1),
      partition: z.number().int().min(0),
      fromOffset: OFFSET,
      toOffset: OFFSET,
      limit,
    })
    .strict(),
  z.object({ since: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 timestamp' }), limit }).strict(),
]);

const attemptsQuery = z.object({
  limit: queryLimit,
  before: queryPosition(1).optional(),
  failed: queryFlag.default(false),
  topic: z.string().optional(),
  partition: queryInt(0, 1023).optional(),
  offset: queryPosition(0).optional(),
});
const deadLettersQuery = z.object({ limit: queryLimit });

/** Webhook subscriptions (groups with a webhook sink): attempt log, dead letters, replay, status. */
@Controller('api/v1/groups')
export class WebhooksController {
  private readonly repo: WebhookRepository;

  constructor(
    @Inject(TRIBUTARY_CONFIG) private readonly config: TributaryConfig,
    @Inject(PlatformDatabase) private readonly db: PlatformDatabase,
    @Inject(CatalogRepository) private readonly catalog: CatalogRepository,
  ) {
    this.repo = new WebhookRepository(db.pool);
  }

  /** Every delivery attempt, newest first: `?limit=100&before=<id>&failed=true&topic=&partition=&offset=`. */
  @Get(':group/attempts')
  @ApiDoc({ summary: 'Delivery attempts of a webhook group, newest first', response: R.attempts })
  async attempts(
    @Param('group') group: string,
    @ValidQuery(attemptsQuery) { failed, ...filter }: z.infer<typeof attemptsQuery>,
  ): Promise<{ status: unknown; attempts: AttemptView[] }> {
    await this.subscription(group);
    const attempts = await this.repo.attempts(group, { ...filter, failedOnly: failed });
    return { status: (await this.repo.status(group)) ?? null, attempts };
  }

  /** Dead letters, newest first, each with every attempt made at its message. */
  @Get(':group/dead-letters')
  @ApiDoc({ summary: "A webhook group's dead letters with their attempts", response: R.webhookDeadLetters })
  async deadLetters(
    @Param('group') group: string,
    @ValidQuery(deadLettersQuery) { limit }: z.infer<typeof deadLettersQuery>,
  ): Promise<DeadLetterView[]> {
    await this.subscription(group);
    return this.repo.deadLetters(group, limit);
  }

  /**
   * Delivers again: `{deadLetterId}` (removed from the dead letters once delivered),
   * `{topic, partition, fromOffset, toOffset}`, or `{since}` (every retained message appended since).
   */
  @Post(':group/replay')
  @HttpCode(200)
  @ApiDoc({
    summary: 'Deliver again: a dead letter, an offset range or everything since a time',
    body: replayBody,
    response: R.replayResult,
  })
  async replay(@Param('group') group: string, @Body() body: unknown): Promise<ReplayResult> {
    const { config, sink } = await this.subscription(group);
    const request = parseBody(replayBody, body);
    const replayer = new WebhookReplayer({ name: config.name, topics: config.topics, sink }, this.db.pool);
    try {
      if ('deadLetterId' in request) return await replayer.replay({ deadLetterId: String(request.deadLetterId) });
      if ('since' in request) return await replayer.replay({ since: request.since }, { limit: request.limit });
      return await replayer.replay(
        {
          topic: request.topic,
          partition: request.partition,
          fromOffset: String(request.fromOffset),
          toOffset: String(request.toOffset),
        },
        { limit: request.limit },
      );
    } catch (error) {
      if (error instanceof ReplayNotFoundError) throw new NotFoundException({ detail: error.message, field: 'deadLetterId' });
      if (error instanceof ReplayBusyError) throw new ConflictException({ detail: error.message, field: 'deadLetterId' });
      throw error;
    }
  }

  /** The subscription's stored state: active, paused (circuit open) or disabled (410 Gone). */
  @Get(':group/webhook')
  @ApiDoc({ summary: "A webhook subscription's state", response: R.webhookStatus })
  async status(@Param('group') group: string): Promise<unknown> {
    const { sink } = await this.subscription(group);
    const stored = await this.repo.status(group);
    return {
      url: storedUrl(sink.url), // credentials in the URL (user:pass@, ?token=) are secrets
      status: stored?.status ?? 'active',
      detail: stored?.detail ?? null,
      updatedAt: stored?.updatedAt ?? null,
      operations: sink.operations,
      batchSize: sink.batchSize,
      secrets: sink.secrets.length,
    };
  }

  /** Re-enables a subscription that a 410 Gone disabled; its workers resume within seconds. */
  @Post(':group/webhook/enable')
  @HttpCode(200)
  @ApiDoc({ summary: 'Re-enable a subscription a 410 Gone disabled', response: R.webhookStatus })
  async enable(@Param('group') group: string): Promise<unknown> {
    const { sink } = await this.subscription(group);
    await this.repo.setStatus(group, sink.url, 'active', null);
    return this.status(group);
  }

  /** A signed `ping` to the subscription's endpoint, to check URL, secret and reachability; nothing is delivered. */
  @Post(':group/webhook/test')
  @HttpCode(200)
  @ApiDoc({ summary: "Send a signed ping to the subscription's endpoint", response: R.pingResult })
  async test(@Param('group') group: string): Promise<PingResult> {
    const { sink } = await this.subscription(group);
    return pingWebhook(sink, sink.allowPrivateNetworks ?? this.config.localDefaults);
  }

  /**
   * Starts a secret rotation: a new secret (shown this once) signs alongside the current one, so receivers
   * can switch over; drop the old one with DELETE .../secrets/previous once they have.
   */
  @Post(':group/webhook/secrets/rotate')
  @HttpCode(200)
  @ApiDoc({ summary: 'Start a secret rotation (the new secret is shown once)', response: R.secretRotation })
  async rotate(@Param('group') group: string): Promise<{ secret: string; secretCount: number; version: number }> {
    const { version, stored, sink } = await this.subscription(group);
    const secret = generateWebhookSecret();
    const secrets = [secret, sink.secrets[0]];
    const updated = await this.saveSecrets(stored, version, secrets);
    return { secret, secretCount: secrets.length, version: updated };
  }

  /** Ends a rotation: only the newest secret signs from now on. */
  @Delete(':group/webhook/secrets/previous')
  @HttpCode(200)
  @ApiDoc({ summary: 'End a secret rotation: only the newest secret signs', response: R.secretRotation })
  async finishRotation(@Param('group') group: string): Promise<{ secretCount: number; version: number }> {
    const { version, stored, sink } = await this.subscription(group);
    if (sink.secrets.length < 2) {
      throw new ConflictException({ detail: `group "${group}" has one secret; no rotation is in progress`, field: 'group' });
    }
    return { secretCount: 1, version: await this.saveSecrets(stored, version, [sink.secrets[0]]) };
  }

  private async saveSecrets(config: GroupConfig, version: number, secrets: string[]): Promise<number> {
    if (config.sink.type !== 'webhook') throw new Error('not a webhook group');
    const outcome = await this.catalog.updateGroup(
      { ...config, sink: { ...config.sink, secrets } },
      { expectedVersion: version },
    );
    if (outcome === 'not_found') throw new NotFoundException({ detail: `group "${config.name}" does not exist`, field: 'group' });
    if (outcome === 'conflict') {
      throw new ConflictException({ detail: `group "${config.name}" changed meanwhile; try again`, field: 'group' });
    }
    return outcome.entry.version;
  }

  /** `config` as workers run it; `stored` as the catalog holds it (what updates write back). */
  private async subscription(
    group: string,
  ): Promise<{ config: GroupConfig; stored: GroupConfig; sink: WebhookSinkConfig; version: number }> {
    const entry = await this.catalog.getGroup(group);
    if (!entry) throw new NotFoundException({ detail: `group "${group}" does not exist`, field: 'group' });
    const config = resolveGroup(entry.spec, this.config.localDefaults);
    if (config.sink.type !== 'webhook') {
      throw new ConflictException({ detail: `group "${group}" has a ${config.sink.type} sink, not a webhook`, field: 'group' });
    }
    return { config, stored: entry.spec, sink: config.sink, version: entry.version };
  }
}
