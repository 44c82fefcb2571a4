import {
  BadRequestException,
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
  Res,
} from '@nestjs/common';
import { z } from 'zod';
import { MAX_RETENTION_MS, TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import type { Response } from 'express';
import { etagOf, TopicInfo, TopicLog, TopicRepository } from '@tributary/topic-log';
import { parseBody } from './body';
import { messageItemJson } from './message-items';
import { ApiDoc } from './openapi';
import { queryInt, queryLimit, queryPosition, ValidQuery } from './query-params';
import * as R from './openapi/responses.schema';

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

const retention = {
  retentionMs: z.number().int().min(1_000).max(MAX_RETENTION_MS).nullable().optional(),
  retentionBytes: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullable().optional(),
};
const createTopic = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'must be 1-200 letters, digits, dots, dashes or underscores'),
    partitions: z.number().int().min(1).max(1024).optional(),
    ...retention,
  })
  .strict();
const isoTime = z
  .string()
  .regex(ISO_TIME, 'must be an ISO 8601 time with a zone')
  .refine((t) => !Number.isNaN(new Date(t).getTime()), 'must be an ISO 8601 time with a zone')
  .transform((t) => new Date(t));
const messagesQuery = z
  .object({
    partition: queryInt(0, 1023).default(0),
    offset: queryPosition(0).optional(),
    limit: queryLimit,
    since: isoTime.optional(),
    /** The same as since: the console's name for it. */
    at: isoTime.optional(),
  })
  .refine((q) => q.since === undefined || q.at === undefined, { message: 'give since or at, not both', path: ['at'] })
  .refine((q) => q.since === undefined || q.offset === undefined, { message: 'give offset or since, not both', path: ['since'] })
  .refine((q) => q.at === undefined || q.offset === undefined, { message: 'give offset or at, not both', path: ['at'] });
const updateTopic = z
  .object(retention)
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'give retentionMs and/or retentionBytes (null: unlimited)' });

@Controller('api/v1/topics')
export class TopicsController {
  constructor(
    @Inject(TopicRepository) private readonly topics: TopicRepository,
    @Inject(TopicLog) private readonly log: TopicLog,
    @Inject(TRIBUTARY_CONFIG) private readonly config: TributaryConfig,
  ) {}

  /** A topic of its own (capture creates its tables' topics itself). Omitted settings use topicDefaults. */
  @Post()
  @ApiDoc({ summary: 'Create a topic', body: createTopic, response: R.topicInfo })
  async create(@Body() body: unknown): Promise<TopicInfo> {
    const t = parseBody(createTopic, body);
    const d = this.config.topicDefaults;
    const created = await this.topics.create(t.name, {
      partitions: t.partitions ?? d.partitions,
      retentionMs: t.retentionMs === undefined ? d.retentionMs : t.retentionMs,
      retentionBytes: t.retentionBytes === undefined ? d.retentionBytes : t.retentionBytes,
    });
    if (!created) throw new ConflictException({ detail: `topic "${t.name}" already exists`, field: 'name' });
    return this.mustExist(t.name);
  }

  /** Retention only: the partition count is fixed, since changing it would move keys between partitions. */
  @Patch(':name')
  @ApiDoc({ summary: "Change a topic's retention", body: updateTopic, response: R.topicInfo })
  async update(
    @Param('name') name: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TopicInfo> {
    const change = parseBody(updateTopic, body);
    const outcome = await this.topics.updateRetention(name, change, ifMatch);
    if (outcome === 'not_found') throw new NotFoundException({ detail: `topic "${name}" does not exist`, field: 'name' });
    if (outcome === 'conflict') {
      throw new ConflictException({
        detail: `topic "${name}" changed since the version in If-Match; read it again`,
        field: 'If-Match',
      });
    }
    const topic = await this.mustExist(name);
    res.setHeader('ETag', etagOf(topic));
    return topic;
  }

  /** Deletes the topic, its messages and every group's position in it. A captured table's topic comes back, empty, with its next change. */
  @Delete(':name')
  @HttpCode(204)
  @ApiDoc({ summary: 'Delete a topic and its messages' })
  async remove(@Param('name') name: string): Promise<void> {
    if (!(await this.topics.delete(name)))
      throw new NotFoundException({ detail: `topic "${name}" does not exist`, field: 'name' });
  }

  @Get()
  @ApiDoc({ summary: 'Every topic', response: R.topicList })
  list(): Promise<TopicInfo[]> {
    return this.topics.list();
  }

  @Get(':name')
  @ApiDoc({ summary: 'A topic with its offsets per partition', response: R.topicWithOffsets })
  async get(@Param('name') name: string, @Res({ passthrough: true }) res: Response): Promise<TopicInfo & { offsets: unknown }> {
    const topic = await this.mustExist(name);
    res.setHeader('ETag', etagOf(topic)); // send it back in If-Match to update only this version
    return { ...topic, offsets: await this.log.offsets(name) };
  }

  /**
   * Messages of one partition from an offset on (`?partition=0&offset=0&limit=100`) or from the first
   * appended at or after a time (`?since=2026-11-25T10:00:00Z`, or `at=`); page on with `nextOffset`.
   * Envelopes are sent as stored (messageItemJson).
   */
  @Get(':name/messages')
  @ApiDoc({ summary: 'Browse a partition by offset or by time, paginated (nextOffset)', response: R.messagesPage })
  async messages(
    @Param('name') name: string,
    @Res() res: Response,
    @ValidQuery(messagesQuery) { partition: p, offset, limit, since: sinceTime, at }: z.infer<typeof messagesQuery>,
  ): Promise<void> {
    const topic = await this.mustExist(name);
    if (p > topic.partitions - 1) {
      const detail = `partition: must be an integer from 0 to ${topic.partitions - 1}`;
      throw new BadRequestException({ detail, field: 'partition' });
    }
    const since = sinceTime ?? at;
    const from = since ? await this.log.offsetAt(name, p, since) : BigInt(offset ?? 0);
    const messages = await this.log.read(name, p, from, limit);
    const nextOffset = messages.length ? String(BigInt(messages[messages.length - 1].offset) + 1n) : String(from);
    const items = messages.map(messageItemJson);
    res.type('application/json').send(`{"messages":[${items.join(',')}],"nextOffset":"${nextOffset}"}`);
  }

  private async mustExist(name: string): Promise<TopicInfo> {
    const topic = await this.topics.get(name);
    if (!topic) throw new NotFoundException({ detail: `topic "${name}" does not exist`, field: 'name' });
    return topic;
  }
}
