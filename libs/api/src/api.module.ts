import { Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { DeadLetterRepository, GroupAdminRepository } from '@tributary/consumer-groups';
import { TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { PlatformDatabase } from '@tributary/store';
import { TopicLogModule } from '@tributary/topic-log';
import { Authentication, AuthGuard, TokenRepository, TokensController } from './auth';
import { BackfillsController } from './backfills.controller';
import { ConfigController } from './config.controller';
import { DeadLettersController } from './dead-letters.controller';
import { GroupOffsetsController } from './group-offsets.controller';
import { GroupsController } from './groups.controller';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { DocsController, OpenApiDocument } from './openapi';
import { PullController } from './pull.controller';
import { PullMembersRegistry } from './pull-members.registry';
import { SinksController } from './sinks.controller';
import { SourcesController } from './sources.controller';
import { SourceResyncController } from './source-resync.controller';
import { TopicsController } from './topics.controller';
import { WebhooksController } from './webhooks.controller';

@Module({
  imports: [TopicLogModule, DiscoveryModule],
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
  ],
  providers: [
    PullMembersRegistry,
    OpenApiDocument,
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
