import {
  ConflictException,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Res,
} from '@nestjs/common';
import type { Response } from 'express';
import { CatalogRepository } from '@tributary/catalog';
import { resolveGroup, TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { DeadLetterRepository, type DeadLetter } from '@tributary/consumer-groups';
import { PlatformDatabase } from '@tributary/store';
import { ReplayBusyError, ReplayNotFoundError, WebhookReplayer, type ReplayResult } from '@tributary/webhook-sink';
import { ApiDoc } from './openapi';
import { z } from 'zod';
import { queryLimit, queryPosition, ValidQuery } from './query-params';
import * as R from './openapi/responses.schema';

const ID = /^\d{1,18}$/;
const listQuery = z.object({
  group: z.string().optional(),
  topic: z.string().optional(),
  before: queryPosition(1).optional(),
  limit: queryLimit,
});

/**
 * Dead letters of every group. Only sinks that deliver outside the platform park messages (database sinks
 * block their partition instead, to keep the target exact), so replay is a webhook delivery.
 */
@Controller('api/v1/dead-letters')
export class DeadLettersController {
  constructor(
    @Inject(DeadLetterRepository) private readonly deadLetters: DeadLetterRepository,
    @Inject(CatalogRepository) private readonly catalog: CatalogRepository,
    @Inject(PlatformDatabase) private readonly db: PlatformDatabase,
    @Inject(TRIBUTARY_CONFIG) private readonly config: TributaryConfig,
  ) {}

  @Get()
  @ApiDoc({ summary: 'Dead letters, newest first: ?group=&topic=&before=<id>&limit=', response: R.deadLetterList })
  list(@ValidQuery(listQuery) query: z.infer<typeof listQuery>): Promise<DeadLetter[]> {
    return this.deadLetters.list(query);
  }

  /** One dead letter with its envelope, sent as stored (int8 and numeric keep every digit). */
  @Get(':id')
  @ApiDoc({ summary: 'A dead letter with its message', response: R.deadLetter })
  async get(@Param('id') id: string, @Res() res: Response): Promise<void> {
    const found = ID.test(id) ? await this.deadLetters.get(id) : undefined;
    if (!found) throw new NotFoundException({ detail: `no dead letter ${id}`, field: 'id' });
    const { envelope, ...meta } = found;
    res.type('application/json').send(`${JSON.stringify(meta).slice(0, -1)},"envelope":${envelope}}`);
  }

  /** Delivers the message again through its group's sink; once delivered the dead letter is removed. */
  @Post(':id/replay')
  @HttpCode(200)
  @ApiDoc({ summary: "Deliver a dead letter again through its group's sink (removed once delivered)", response: R.replayResult })
  async replay(@Param('id') id: string): Promise<ReplayResult> {
    const found = ID.test(id) ? await this.deadLetters.get(id) : undefined;
    if (!found) throw new NotFoundException({ detail: `no dead letter ${id}`, field: 'id' });
    const entry = await this.catalog.getGroup(found.group);
    if (!entry)
      throw new ConflictException({ detail: `group "${found.group}" no longer exists; discard it instead`, field: 'id' });
    const group = resolveGroup(entry.spec, this.config.localDefaults);
    if (group.sink.type !== 'webhook') {
      throw new ConflictException({
        detail: `group "${group.name}" has a ${group.sink.type} sink, which does not deliver outside the platform; reset the group's offset to replay`,
        field: 'id',
      });
    }
    const replayer = new WebhookReplayer({ name: group.name, topics: group.topics, sink: group.sink }, this.db.pool);
    try {
      return await replayer.replay({ deadLetterId: id });
    } catch (error) {
      // Discarded or replayed by someone else meanwhile.
      if (error instanceof ReplayNotFoundError) throw new NotFoundException({ detail: error.message, field: 'id' });
      if (error instanceof ReplayBusyError) throw new ConflictException({ detail: error.message, field: 'id' });
      throw error;
    }
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiDoc({ summary: 'Discard a dead letter' })
  async discard(@Param('id') id: string): Promise<void> {
    if (!ID.test(id) || !(await this.deadLetters.discard(id)))
      throw new NotFoundException({ detail: `no dead letter ${id}`, field: 'id' });
  }
}
