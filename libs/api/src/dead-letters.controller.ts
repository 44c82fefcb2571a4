import { Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { DeadLetterRepository, type DeadLetter } from '@tributary/consumer-groups';
import { ApiDoc } from './openapi';
import { intParam } from './query-params';

const ID = /^\d{1,18}$/;

/** Dead letters of every group. Webhook groups also have replay: POST /api/v1/groups/:group/replay. */
@Controller('api/v1/dead-letters')
export class DeadLettersController {
  constructor(@Inject(DeadLetterRepository) private readonly deadLetters: DeadLetterRepository) {}

  @Get()
  @ApiDoc({ summary: 'Dead letters, newest first: ?group=&topic=&before=<id>&limit=' })
  list(
    @Query('group') group?: string,
    @Query('topic') topic?: string,
    @Query('before') before?: string,
    @Query('limit') limit?: string,
  ): Promise<DeadLetter[]> {
    return this.deadLetters.list({
      group: group || undefined,
      topic: topic || undefined,
      before:
        before === undefined
          ? undefined
          : String(intParam(before, 'before', { min: 1, max: Number.MAX_SAFE_INTEGER, default: 1 })),
      limit: intParam(limit, 'limit', { min: 1, max: 1000, default: 100 }),
    });
  }

  /** One dead letter with its envelope, sent as stored (int8 and numeric keep every digit). */
  @Get(':id')
  @ApiDoc({ summary: 'A dead letter with its message' })
  async get(@Param('id') id: string, @Res() res: Response): Promise<void> {
    const found = ID.test(id) ? await this.deadLetters.get(id) : undefined;
    if (!found) throw new NotFoundException({ detail: `no dead letter ${id}`, field: 'id' });
    const { envelope, ...meta } = found;
    res.type('application/json').send(`${JSON.stringify(meta).slice(0, -1)},"envelope":${envelope}}`);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiDoc({ summary: 'Discard a dead letter' })
  async discard(@Param('id') id: string): Promise<void> {
    if (!ID.test(id) || !(await this.deadLetters.discard(id)))
      throw new NotFoundException({ detail: `no dead letter ${id}`, field: 'id' });
  }
}
