import { BadRequestException, Controller, Get, Inject, Logger, NotFoundException, Param, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { sleepUnlessAborted } from '@tributary/timing';
import { TopicLog, TopicRepository } from '@tributary/topic-log';
import { messageItemJson } from './message-items';
import { ApiDoc } from './openapi';
import * as R from './openapi/responses.schema';
import { queryInt, ValidQuery } from './query-params';
import { SseStream, SseStreams } from './sse-streams.service';

/** A tail asks for new messages this often when it found none: one indexed read per open tail. */
const TAIL_POLL_MS = 500;
const TAIL_BATCH = 100;

const tailQuery = z.object({ partition: queryInt(0, 1023).default(0) });

/** The console's live tail of one partition. */
@Controller('api/v1/topics')
export class TopicTailController {
  private readonly logger = new Logger('TopicTail');

  constructor(
    @Inject(TopicRepository) private readonly topics: TopicRepository,
    @Inject(TopicLog) private readonly log: TopicLog,
    @Inject(SseStreams) private readonly streams: SseStreams,
  ) {}

  /** Server-sent events, `event: message` for every message appended to the partition after the connect. */
  @Get(':name/tail')
  @ApiDoc({
    summary: 'Server-sent events: each message appended to a partition from now on',
    response: R.tailMessage,
    responseType: 'text/event-stream',
  })
  async tail(
    @Param('name') name: string,
    @ValidQuery(tailQuery) { partition }: z.infer<typeof tailQuery>,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const topic = await this.topics.get(name);
    if (!topic) throw new NotFoundException({ detail: `topic "${name}" does not exist`, field: 'name' });
    if (partition > topic.partitions - 1) {
      throw new BadRequestException({
        detail: `partition: must be an integer from 0 to ${topic.partitions - 1}`,
        field: 'partition',
      });
    }
    const end = (await this.log.offsets(name)).find((o) => o.partition === partition)?.end ?? '0';
    const stream = this.streams.open(req, res);
    void this.follow(stream, name, partition, BigInt(end));
  }

  private async follow(stream: SseStream, topic: string, partition: number, from: bigint): Promise<void> {
    const stopped = new AbortController();
    stream.onClose(() => stopped.abort());
    try {
      while (!stream.closed) {
        const messages = await this.log.read(topic, partition, from, TAIL_BATCH);
        for (const m of messages) stream.send('message', messageItemJson(m));
        if (messages.length) from = BigInt(messages[messages.length - 1].offset) + 1n;
        if (messages.length < TAIL_BATCH) await sleepUnlessAborted(TAIL_POLL_MS, stopped.signal);
      }
    } catch (error) {
      if (!stream.closed) this.logger.warn(`the tail of ${topic}[${partition}] stopped: ${(error as Error).message}`);
      stream.end();
    }
  }
}
