import { Body, ConflictException, Controller, HttpCode, Inject, NotFoundException, Param, Post } from '@nestjs/common';
import { ResyncRefusedError, resyncSource, SourceConfigurationError, type ResyncResult } from '@tributary/capture';
import { CatalogRepository } from '@tributary/catalog';
import { resolveSource, TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { PlatformDatabase } from '@tributary/store';
import { z } from 'zod';
import { parseBody } from './body';
import { ApiDoc } from './openapi';
import * as R from './openapi/responses.schema';

const resyncBody = z
  .object({
    /** How long to wait for a capture to let go of the source (a capture whose slot is lost does at once). */
    waitMs: z.number().int().min(0).max(120_000).optional(),
  })
  .strict();

const DEFAULT_WAIT_MS = 15_000;

/** The fix for a lost slot (state `slot_lost`): docs/operations.md. */
@Controller('api/v1/sources')
export class SourceResyncController {
  constructor(
    @Inject(TRIBUTARY_CONFIG) private readonly config: TributaryConfig,
    @Inject(CatalogRepository) private readonly catalog: CatalogRepository,
    @Inject(PlatformDatabase) private readonly db: PlatformDatabase,
  ) {}

  /**
   * Drops and creates the slot again at a consistent point, writes a truncate of every published table
   * into its topic and snapshots every table, so that every sink ends equal to the source.
   */
  @Post(':name/resync')
  @HttpCode(200)
  @ApiDoc({
    summary: 'Resync a source whose slot is lost: new slot, every table reset and snapshotted again',
    body: resyncBody,
    response: R.resync,
  })
  async resync(@Param('name') name: string, @Body() body: unknown): Promise<ResyncResult> {
    const { waitMs } = parseBody(resyncBody, body);
    const entry = await this.catalog.getSource(name);
    if (!entry) throw new NotFoundException({ detail: `source "${name}" does not exist`, field: 'name' });
    const source = resolveSource(entry.spec, this.config.defaultSourceUrl);
    try {
      return await resyncSource(this.db, this.config, source, waitMs ?? DEFAULT_WAIT_MS);
    } catch (error) {
      if (error instanceof ResyncRefusedError || error instanceof SourceConfigurationError) {
        throw new ConflictException({ detail: error.message, field: 'name' });
      }
      throw error;
    }
  }
}
