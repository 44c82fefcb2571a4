import { Controller, Get, Inject, NotFoundException, Param, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { TopicInfo, TopicLog, TopicRepository } from '@tributary/topic-log';
import { intParam } from './query-params';

@Controller('api/v1/topics')
export class TopicsController {
  constructor(
    @Inject(TopicRepository) private readonly topics: TopicRepository,
    @Inject(TopicLog) private readonly log: TopicLog,
  ) {}

  @Get()
  list(): Promise<TopicInfo[]> {
    return this.topics.list();
  }

  @Get(':name')
  async get(@Param('name') name: string): Promise<TopicInfo & { offsets: unknown }> {
    const topic = await this.mustExist(name);
    return { ...topic, offsets: await this.log.offsets(name) };
  }

  /**
   * Messages of one partition from an offset on: `?partition=0&offset=0&limit=100`. Envelopes are sent
   * as stored, not re-serialised, so int8, numeric and json values keep every digit.
   */
  @Get(':name/messages')
  async messages(
    @Param('name') name: string,
    @Res() res: Response,
    @Query('partition') partition?: string,
    @Query('offset') offset?: string,
    @Query('limit') limit?: string,
  ): Promise<void> {
    const topic = await this.mustExist(name);
    const p = intParam(partition, 'partition', { min: 0, max: topic.partitions - 1, default: 0 });
    const from = BigInt(intParam(offset, 'offset', { min: 0, max: Number.MAX_SAFE_INTEGER, default: 0 }));
    const n = intParam(limit, 'limit', { min: 1, max: 1000, default: 100 });
    const messages = await this.log.read(name, p, from, n);
    const nextOffset = messages.length ? String(BigInt(messages[messages.length - 1].offset) + 1n) : String(from);
    const items = messages.map(({ envelope, ...meta }) => `${JSON.stringify(meta).slice(0, -1)},"envelope":${envelope}}`);
    res.type('application/json').send(`{"messages":[${items.join(',')}],"nextOffset":"${nextOffset}"}`);
  }

  private async mustExist(name: string): Promise<TopicInfo> {
    const topic = await this.topics.get(name);
    if (!topic) throw new NotFoundException({ detail: `topic "${name}" does not exist`, field: 'name' });
    return topic;
  }
}
