import { Module } from '@nestjs/common';
import { PlatformDatabase } from '@tributary/store';
import { TopicLog } from './topic-log';
import { TopicRepository } from './topic.repository';

@Module({
  providers: [
    { provide: TopicLog, inject: [PlatformDatabase], useFactory: (db: PlatformDatabase) => new TopicLog(db.pool) },
    { provide: TopicRepository, inject: [PlatformDatabase], useFactory: (db: PlatformDatabase) => new TopicRepository(db.pool) },
  ],
  exports: [TopicLog, TopicRepository],
})
export class TopicLogModule {}
