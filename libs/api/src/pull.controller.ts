import { Body, Controller, Delete, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import type { AckResult } from '@tributary/consumer-groups';
import { ConsumerWrites } from './auth';
import { parseBody } from './body';
import { ApiDoc } from './openapi';
import { PullMembersRegistry } from './pull-members-registry.service';
import * as R from './openapi/responses.schema';

const join = z.object({ sessionTimeoutMs: z.number().int().min(1_000).max(300_000).optional() }).strict();
const fetchBody = z
  .object({
    maxMessages: z.number().int().min(1).max(1_000).default(100),
    visibilityTimeoutMs: z.number().int().min(100).max(43_200_000).default(30_000),
  })
  .strict();
const ref = z
  .object({
    topic: z.string().min(1).max(200),
    partition: z.number().int().min(0).max(1023),
    offset: z.union([z.number().int().min(0), z.string().regex(/^\d{1,19}$/, 'must be a non-negative integer')]),
  })
  .strict();
const ackBody = z.object({ messages: z.array(ref).min(1).max(10_000) }).strict();
const nackBody = z
  .object({ messages: z.array(ref).min(1).max(10_000), delayMs: z.number().int().min(0).max(43_200_000).default(0) })
  .strict();

/** The HTTP pull API: consumers we do not host join a group, fetch batches, and ack or nack by offset. */
@Controller('api/v1/groups/:group/members')
@ConsumerWrites()
export class PullController {
  constructor(@Inject(PullMembersRegistry) private readonly registry: PullMembersRegistry) {}

  @Post()
  @ApiDoc({ summary: 'Join a group as a pull consumer', body: join, response: R.pullJoined })
  async join(@Param('group') group: string, @Body() body: unknown): Promise<Record<string, unknown>> {
    const { sessionTimeoutMs } = parseBody(join, body);
    const pull = await this.registry.join(group, sessionTimeoutMs);
    return {
      memberId: pull.member.id,
      sessionTimeoutMs: pull.member.group.sessionTimeoutMs,
      partitions: pull.member.all().map((p) => ({ topic: p.topic, partition: p.partition, committed: String(p.committed) })),
    };
  }

  @Post(':member/fetch')
  @ApiDoc({
    summary: 'Receive a batch (unacked messages come back after the visibility timeout)',
    body: fetchBody,
    response: R.pullBatch,
  })
  @HttpCode(200)
  async fetch(
    @Param('group') group: string,
    @Param('member') member: string,
    @Body() body: unknown,
    @Res() res: Response,
  ): Promise<void> {
    const { maxMessages, visibilityTimeoutMs } = parseBody(fetchBody, body);
    const messages = await this.registry.use(group, member, (p) => p.fetch(maxMessages, visibilityTimeoutMs));
    // Envelopes go out as stored (not re-serialised), so big numbers keep every digit.
    const items = messages.map(
      (m) =>
        `{"topic":${JSON.stringify(m.topic)},"partition":${m.partition},"offset":"${m.offset}","key":${JSON.stringify(m.key)},` +
        `"attempt":${m.attempt},"envelope":${m.envelope}}`,
    );
    res
      .status(200)
      .type('application/json')
      .send(`{"messages":[${items.join(',')}]}`);
  }

  @Post(':member/ack')
  @ApiDoc({ summary: 'Acknowledge messages by offset', body: ackBody, response: R.ackResult })
  @HttpCode(200)
  ack(@Param('group') group: string, @Param('member') member: string, @Body() body: unknown): Promise<AckResult> {
    const { messages } = parseBody(ackBody, body);
    return this.registry.use(group, member, (p) => p.ack(messages.map((m) => ({ ...m, offset: BigInt(m.offset) }))));
  }

  @Post(':member/nack')
  @ApiDoc({ summary: 'Give messages back for redelivery', body: nackBody, response: R.nackResult })
  @HttpCode(200)
  nack(@Param('group') group: string, @Param('member') member: string, @Body() body: unknown): { nacked: number } {
    const { messages, delayMs } = parseBody(nackBody, body);
    return {
      nacked: this.registry.get(group, member).nack(
        messages.map((m) => ({ ...m, offset: BigInt(m.offset) })),
        delayMs,
      ),
    };
  }

  @Post(':member/heartbeat')
  @ApiDoc({ summary: 'Keep the membership alive' })
  @HttpCode(204)
  async heartbeat(@Param('group') group: string, @Param('member') member: string): Promise<void> {
    await this.registry.use(group, member, (p) => p.heartbeat());
  }

  @Delete(':member')
  @ApiDoc({ summary: 'Commit and leave' })
  @HttpCode(204)
  async leave(@Param('group') group: string, @Param('member') member: string): Promise<void> {
    await this.registry.leave(group, member);
  }
}
