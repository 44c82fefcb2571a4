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

  /**
   * Readiness: database reachable, migrations applied, writes not refused (read-only, full), and (where
   * this process captures) streaming.
   */
  @Get('ready')
  @ApiDoc({ summary: 'Readiness: database, migrations and capture', response: R.readiness })
  async ready(): Promise<Record<string, unknown>> {
    const checks: Record<string, string> = {};
    try {
      await this.db.pool.query('SELECT 1');
      checks.database = 'ok';
      checks.migrations = (await this.db.dataSource.showMigrations()) ? 'pending' : 'ok';
      // Reads work while writes are refused: what this process's writers (capture, group members) last met.
      checks.platformWrites = this.db.writability.reason ?? 'ok';
    } catch (error) {
      checks.database = `unreachable: ${(error as Error).message}`;
    }
    // A missing table is shown, but keeps no one from being ready: the source's other tables are captured.
    const missingTables: Record<string, string[]> = {};
    for (const s of this.capture?.statuses() ?? []) {
      checks[`capture:${s.source}`] = s.state;
      if (s.missingTables.length) missingTables[s.source] = s.missingTables;
    }
    const ok = Object.values(checks).every((v) => v === 'ok' || v === 'streaming' || v === 'standby');
    const shown = Object.keys(missingTables).length ? { missingTables } : {};
    if (!ok) throw new ServiceUnavailableException({ detail: 'not ready', checks, ...shown });
    return { status: 'ready', checks, ...shown };
  }
}
