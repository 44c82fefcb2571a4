import { Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { DeadLetterRepository, GroupAdminRepository } from '@tributary/consumer-groups';
import { TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { StatsModule } from '@tributary/stats';
import { PlatformDatabase } from '@tributary/store';
import { TopicLogModule } from '@tributary/topic-log';
import { Authentication, AuthGuard, TokenRepository, TokensController } from './auth';
import { BackfillsController } from './backfills.controller';
import { ConfigController } from './config.controller';
import { ConsoleController } from './console.controller';
import { DeadLettersController } from './dead-letters.controller';
import { GroupOffsetsController } from './group-offsets.controller';
import { GroupsController } from './groups.controller';
import { HealthController } from './health.controller';
import { LiveStats } from './live-stats.service';
import { MetricsController } from './metrics.controller';
import { DocsController, OpenApiDocument } from './openapi';
import { PullController } from './pull.controller';
import { PullMembersRegistry } from './pull-members-registry.service';
import { SinksController } from './sinks.controller';
import { SourcesController } from './sources.controller';
import { SourceResyncController } from './source-resync.controller';
import { SseStreams } from './sse-streams.service';
import { StatsController } from './stats.controller';
import { TopicTailController } from './topic-tail.controller';
import { TopicsController } from './topics.controller';
import { WebhooksController } from './webhooks.controller';

@Module({
  imports: [TopicLogModule, DiscoveryModule, StatsModule],
  controllers: [
    HealthController,
    MetricsController,
    TopicsController,
    SourcesController,
    SourceResyncController,
    BackfillsController,
    GroupsController,
    GroupOffsetsController,
    PullController,
    WebhooksController,
    TokensController,
    DocsController,
    DeadLettersController,
    ConfigController,
    SinksController,
    StatsController,
    TopicTailController,
    ConsoleController,
  ],
  providers: [
    PullMembersRegistry,
    OpenApiDocument,
    SseStreams,
    LiveStats,
    { provide: TokenRepository, inject: [PlatformDatabase], useFactory: (db: PlatformDatabase) => new TokenRepository(db.pool) },
    {
      provide: Authentication,
      inject: [TokenRepository, TRIBUTARY_CONFIG],
      useFactory: (tokens: TokenRepository, config: TributaryConfig) => Authentication.started(tokens, config),
    },
    {
      provide: GroupAdminRepository,
      inject: [PlatformDatabase],
      useFactory: (db: PlatformDatabase) => new GroupAdminRepository(db.pool),
    },
    {
      provide: DeadLetterRepository,
      inject: [PlatformDatabase],
      useFactory: (db: PlatformDatabase) => new DeadLetterRepository(db.pool),
    },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
})
export class ApiModule {}
