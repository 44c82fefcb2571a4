import { Controller, Get, Inject, Optional, ServiceUnavailableException } from '@nestjs/common';
import { CaptureService } from '@tributary/capture';
import { PlatformDatabase } from '@tributary/store';
import { Public } from './auth';
import * as R from './openapi/responses.schema';
import { ApiDoc } from './openapi';

@Controller()
@Public()
export class HealthController {
  constructor(
    @Inject(PlatformDatabase) private readonly db: PlatformDatabase,
    @Optional() @Inject(CaptureService) private readonly capture?: CaptureService,
  ) {}

  /** Liveness: the process answers. */
  @Get('health')
  @ApiDoc({ summary: 'Liveness', response: R.health })
  health(): { status: string } {
    return { status: 'ok' };
  }

  /** Readiness: database reachable, migrations applied, and (where this process captures) streaming. */
  @Get('ready')
  @ApiDoc({ summary: 'Readiness: database, migrations and capture', response: R.readiness })
  async ready(): Promise<Record<string, unknown>> {
    const checks: Record<string, string> = {};
    try {
      await this.db.pool.query('SELECT 1');
      checks.database = 'ok';
      checks.migrations = (await this.db.dataSource.showMigrations()) ? 'pending' : 'ok';
    } catch (error) {
      checks.database = `unreachable: ${(error as Error).message}`;
    }
    for (const s of this.capture?.statuses() ?? []) checks[`capture:${s.source}`] = s.state;
    const ok = Object.values(checks).every((v) => v === 'ok' || v === 'streaming' || v === 'standby');
    if (!ok) throw new ServiceUnavailableException({ detail: 'not ready', checks });
    return { status: 'ready', checks };
  }
}
