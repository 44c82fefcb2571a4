import { Module } from '@nestjs/common';
import { TopicLogModule } from '@tributary/topic-log';
import { GroupsController } from './groups.controller';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { PullController } from './pull.controller';
import { PullMembersRegistry } from './pull-members.registry';
import { SourcesController } from './sources.controller';
import { TopicsController } from './topics.controller';
import { WebhooksController } from './webhooks.controller';

@Module({
  imports: [TopicLogModule],
  controllers: [
    HealthController,
    MetricsController,
    TopicsController,
    SourcesController,
    GroupsController,
    PullController,
    WebhooksController,
  ],
  providers: [PullMembersRegistry],
})
export class ApiModule {}
