import type { Provider } from '@nestjs/common';
import type { Pool } from 'pg';
import { SourceReadings } from '@tributary/capture';
import { CatalogRepository } from '@tributary/catalog';
import { GroupGaugesRepository } from '@tributary/consumer-groups';
import { TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { PlatformReadings } from '@tributary/metrics';
import { PlatformDatabase } from '@tributary/store';
import { TopicRepository } from '@tributary/topic-log';

/** The metrics' readings, each from the library owning the data. One instance per process: SourceReadings keeps the last reading. */
class ComposedPlatformReadings extends PlatformReadings {
  private readonly groups: GroupGaugesRepository;
  private readonly topics: TopicRepository;
  private readonly sourceReadings: SourceReadings;

  constructor(pool: Pool, config: TributaryConfig) {
    super();
    this.groups = new GroupGaugesRepository(pool);
    this.topics = new TopicRepository(pool);
    this.sourceReadings = new SourceReadings(new CatalogRepository(pool), config);
  }

  groupPartitions() {
    return this.groups.partitionLag();
  }

  groupEvents() {
    return this.groups.eventCounts();
  }

  deadLetters() {
    return this.groups.deadLetterCounts();
  }

  partitionEnds() {
    return this.topics.partitionEnds();
  }

  sources() {
    return this.sourceReadings.current();
  }
}

export const platformReadingsProvider: Provider = {
  provide: PlatformReadings,
  useFactory: (db: PlatformDatabase, config: TributaryConfig) => new ComposedPlatformReadings(db.pool, config),
  inject: [PlatformDatabase, TRIBUTARY_CONFIG],
};
