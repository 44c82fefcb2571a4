import {
  Body,
  ConflictException,
  Controller,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  UnprocessableEntityException,
} from '@nestjs/common';
import { z } from 'zod';
import { GroupAdminError, GroupAdminRepository, type OffsetReset, type ResetTarget } from '@tributary/consumer-groups';
import { parseBody } from './body';
import { ApiDoc } from './openapi';
import * as R from './openapi/responses.schema';

const resetBody = z
  .object({
    to: z.union([
      z.enum(['earliest', 'latest']),
      z.object({ timestamp: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 timestamp with a zone' }) }).strict(),
      z
        .object({
          offset: z.union([
            z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
            z.string().regex(/^\d{1,19}$/, 'must be a decimal offset'),
          ]),
        })
        .strict(),
    ]),
    topic: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,200}$/, 'must be a topic name')
      .optional(),
    partition: z.number().int().min(0).max(100_000).optional(),
    /** Change nothing (the group need not be paused): answer what the reset would do. */
    dryRun: z.boolean().optional(),
  })
  .strict()
  .refine((b) => b.partition === undefined || b.topic !== undefined, { path: ['topic'], message: 'is required with partition' })
  .refine((b) => typeof b.to !== 'object' || !('offset' in b.to) || b.partition !== undefined, {
    path: ['partition'],
    message: 'is required to reset to an explicit offset',
  });

type ResetAnswer = OffsetReset & { committedOffset: string; newOffset: string; redelivered: number };

/** A reset as the console shows it: from where to where, and how many messages that delivers again. */
function answer(r: OffsetReset): ResetAnswer {
  return { ...r, committedOffset: r.from, newOffset: r.to, redelivered: Number(BigInt(r.from) - BigInt(r.to)) };
}

/** Operator controls: pause and resume consumption, and move a paused group's committed offsets. */
@Controller('api/v1/groups')
export class GroupOffsetsController {
  constructor(@Inject(GroupAdminRepository) private readonly admin: GroupAdminRepository) {}

  @Get()
  @ApiDoc({ summary: 'Every group with members, lag and blocked partitions', response: R.groupList })
  list(): ReturnType<GroupAdminRepository['list']> {
    return this.admin.list();
  }

  @Post(':group/pause')
  @ApiDoc({ summary: 'Pause consumption (members keep their partitions)', response: R.pauseState })
  @HttpCode(200)
  async pause(@Param('group') group: string): Promise<{ group: string; paused: boolean }> {
    await this.run(() => this.admin.setPaused(group, true));
    return { group, paused: true };
  }

  @Post(':group/resume')
  @ApiDoc({ summary: 'Resume consumption', response: R.pauseState })
  @HttpCode(200)
  async resume(@Param('group') group: string): Promise<{ group: string; paused: boolean }> {
    await this.run(() => this.admin.setPaused(group, false));
    return { group, paused: false };
  }

  /**
   * Only while paused (409 otherwise): members would race the move. `dryRun: true` changes nothing and
   * says, per partition, how many messages would be delivered again (`redelivered`; negative: skipped).
   */
  @Post(':group/offsets/reset')
  @ApiDoc({
    summary: "Move a paused group's committed offsets (dryRun: only say what would move)",
    body: resetBody,
    response: R.offsetResets,
  })
  @HttpCode(200)
  async reset(
    @Param('group') group: string,
    @Body() body: unknown,
  ): Promise<{ group: string; dryRun: boolean; resets: ResetAnswer[] }> {
    const { to, topic, partition, dryRun = false } = parseBody(resetBody, body);
    const target: ResetTarget = typeof to === 'object' && 'offset' in to ? { offset: BigInt(to.offset) } : to;
    const resets = await this.run(() => this.admin.resetOffsets(group, target, topic, partition, dryRun));
    return { group, dryRun, resets: resets.map(answer) };
  }

  private async run<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (!(error instanceof GroupAdminError)) throw error;
      if (error.reason === 'not_found') throw new NotFoundException({ detail: error.message, field: 'group' });
      if (error.reason === 'not_paused') throw new ConflictException({ detail: error.message, field: 'group' });
      if (error.reason === 'no_partitions') throw new NotFoundException({ detail: error.message, field: 'partition' });
      throw new UnprocessableEntityException({ detail: error.message, field: 'to.offset' });
    }
  }
}
