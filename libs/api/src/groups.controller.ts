import { Body, ConflictException, Controller, Get, Inject, NotFoundException, Param, Post } from '@nestjs/common';
import { z } from 'zod';
import { GroupAdminRepository, PartitionLag } from '@tributary/consumer-groups';
import { parseBody } from './body';
import { ApiDoc } from './openapi';
import { PullMembersRegistry } from './pull-members.registry';

const createGroup = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,99}$/, 'must be 1-100 lowercase letters, digits, dots, dashes or underscores'),
    topics: z
      .array(z.string().regex(/^[A-Za-z0-9._*-]{1,200}$/, 'must be a topic name or a glob pattern'))
      .min(1)
      .max(100),
    startFrom: z.union([z.enum(['earliest', 'latest']), z.iso.datetime({ offset: true })]).default('earliest'),
    resetPolicy: z.enum(['earliest', 'latest', 'fail']).default('earliest'),
    sessionTimeoutMs: z.number().int().min(1_000).max(300_000).default(6_000),
  })
  .strict();

@Controller('api/v1/groups')
export class GroupsController {
  constructor(
    @Inject(PullMembersRegistry) private readonly registry: PullMembersRegistry,
    @Inject(GroupAdminRepository) private readonly admin: GroupAdminRepository,
  ) {}

  @Post()
  @ApiDoc({ summary: 'Create a consumer group', body: createGroup })
  async create(@Body() body: unknown): Promise<z.infer<typeof createGroup>> {
    const group = parseBody(createGroup, body);
    if (!(await this.admin.create(group))) {
      throw new ConflictException({ detail: `group "${group.name}" already exists`, field: 'name' });
    }
    return group;
  }

  /** The group, its members, and per partition: committed offset, log end, lag, owner, status. */
  @Get(':group')
  @ApiDoc({ summary: 'A group with members, lag and per-partition state' })
  async get(@Param('group') name: string): Promise<Record<string, unknown>> {
    const group = await this.registry.repo.getGroup(name);
    if (!group) throw new NotFoundException({ detail: `group "${name}" does not exist`, field: 'group' });
    const partitions: PartitionLag[] = await this.registry.repo.lag(name);
    const lag = partitions.reduce((n, p) => n + BigInt(p.lag), 0n);
    return { ...group, lag: String(lag), members: await this.registry.repo.members(name), partitions };
  }

  /** Offset resets and other notable happenings, newest first. */
  @Get(':group/events')
  @ApiDoc({ summary: 'Offset resets and other group events, newest first' })
  async events(@Param('group') name: string): Promise<unknown> {
    return this.registry.repo.events(name);
  }
}
