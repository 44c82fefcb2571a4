import { Module } from '@nestjs/common';
import { PlatformDatabase } from '@tributary/store';
import { StatsRepository } from './stats.repository';
import { StatsSampler } from './stats-sampler.service';

/** The stats series: its repository, and the sampler that fills it (import this in one role only: api). */
@Module({
  providers: [
    { provide: StatsRepository, inject: [PlatformDatabase], useFactory: (db: PlatformDatabase) => new StatsRepository(db.pool) },
    StatsSampler,
  ],
  exports: [StatsRepository],
})
export class StatsModule {}
