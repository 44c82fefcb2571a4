import { Global, Inject, Injectable, Logger, Module, OnModuleInit } from '@nestjs/common';
import { TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { PlatformDatabase } from '@tributary/store';
import { CatalogRepository } from './catalog.repository';
import { ApplyRaceError, ConfigApplier, type ApplyResult } from './config-applier';

/**
 * Applies what tributary.yaml declares to the catalog when a process starts, before capture and workers
 * read it: creates and updates, and for each kind the file declares (sources, groups) removes the
 * file-managed entries it no longer lists. A kind the file does not mention is left alone, so a worker's
 * file with only groups keeps the sources a capture process's file declared. Entries created through the
 * API are never removed here.
 */
@Injectable()
export class CatalogSeeder implements OnModuleInit {
  private readonly logger = new Logger('Catalog');

  constructor(
    @Inject(TRIBUTARY_CONFIG) private readonly config: TributaryConfig,
    @Inject(ConfigApplier) private readonly applier: ConfigApplier,
  ) {}

  async onModuleInit(): Promise<void> {
    const { sources, groups } = this.config.declared;
    if (!sources.length && !groups.length) return;
    const result = await this.applyRetryingRaces({ sources, groups }, { sources: sources.length > 0, groups: groups.length > 0 });
    const conflicts = result.changes.filter((c) => c.action === 'conflict');
    if (conflicts.length) {
      // Nothing was applied; running on with the catalog's older version would hide the file's mistake.
      const what = conflicts.map((c) => `${c.kind} ${c.name}: ${c.detail}`).join('; ');
      throw new Error(`${this.config.configFile ?? 'the configuration'} conflicts with the catalog: ${what}`);
    }
    for (const c of result.changes.filter((ch) => ch.action !== 'unchanged')) {
      this.logger.log(`${c.action} ${c.kind} ${c.name}${c.detail ? ` (${c.detail})` : ''}`);
    }
  }

  /** An API write landing between plan and apply rolls the apply back; planning again sees it. */
  private async applyRetryingRaces(
    document: unknown,
    prune: { sources: boolean; groups: boolean },
    attempts = 3,
  ): Promise<ApplyResult> {
    try {
      return await this.applier.apply(document, {
        prune,
        managedBy: 'file',
        topicDefaults: this.config.topicDefaults,
        defaultSourceUrl: this.config.defaultSourceUrl,
      });
    } catch (error) {
      if (!(error instanceof ApplyRaceError) || attempts <= 1) throw error;
      return this.applyRetryingRaces(document, prune, attempts - 1);
    }
  }
}

@Global()
@Module({
  providers: [
    {
      provide: CatalogRepository,
      inject: [PlatformDatabase],
      useFactory: (db: PlatformDatabase) => new CatalogRepository(db.pool),
    },
    { provide: ConfigApplier, inject: [CatalogRepository], useFactory: (c: CatalogRepository) => new ConfigApplier(c) },
    CatalogSeeder,
  ],
  exports: [CatalogRepository, ConfigApplier],
})
export class CatalogModule {}
