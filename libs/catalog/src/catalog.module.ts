import { Global, Inject, Injectable, Logger, Module, OnModuleInit } from '@nestjs/common';
import { TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { PlatformDatabase } from '@tributary/store';
import { CatalogRepository } from './catalog.repository';
import { ConfigApplier } from './config-applier';

/**
 * Applies what tributary.yaml declares to the catalog when a process starts, before capture and workers
 * read it. It creates and updates, never deletes: processes of different roles may read different files;
 * `tributary apply --prune` removes what a file no longer declares.
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
    const result = await this.applier.apply({ sources, groups }, { managedBy: 'file', topicDefaults: this.config.topicDefaults });
    const changed = result.changes.filter((c) => c.action !== 'unchanged');
    for (const c of changed) this.logger.log(`${c.action} ${c.kind} ${c.name}${c.detail ? ` (${c.detail})` : ''}`);
    for (const c of result.changes.filter((ch) => ch.action === 'conflict')) this.logger.warn(`${c.kind} ${c.name}: ${c.detail}`);
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
