import { Controller, Get, Inject } from '@nestjs/common';
import { CatalogRepository, redactGroupSpec } from '@tributary/catalog';
import { GroupRepository } from '@tributary/consumer-groups';
import { PlatformDatabase } from '@tributary/store';
import { ApiDoc } from './openapi';
import * as R from './openapi/responses.schema';

/**
 * Every sink with its state: a sink belongs to one group (create, change and delete it through
 * /groups), so this is the operator's overview of where changes go and whether they get there.
 */
@Controller('api/v1/sinks')
export class SinksController {
  private readonly groups: GroupRepository;

  constructor(
    @Inject(CatalogRepository) private readonly catalog: CatalogRepository,
    @Inject(PlatformDatabase) db: PlatformDatabase,
  ) {
    this.groups = new GroupRepository(db.pool);
  }

  @Get()
  @ApiDoc({ summary: "Every group's sink with its target (passwords masked), lag and blocked partitions", response: R.sinkList })
  async list(): Promise<Record<string, unknown>[]> {
    const entries = (await this.catalog.listGroups()).filter((g) => g.spec.sink.type !== 'pull');
    return Promise.all(
      entries.map(async (g) => {
        const partitions = await this.groups.lag(g.name);
        const blocked = partitions.filter((p) => p.status !== 'ok');
        const { type, ...settings } = redactGroupSpec(g.spec).sink as { type: string } & Record<string, unknown>;
        return {
          group: g.name,
          type,
          settings,
          paused: g.paused,
          lag: String(partitions.reduce((n, p) => n + BigInt(p.lag), 0n)),
          status: g.paused ? 'paused' : blocked.length ? 'blocked' : 'ok',
          problems: blocked.map((p) => ({ topic: p.topic, partition: p.partition, detail: p.statusDetail })),
        };
      }),
    );
  }
}
