import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { hostname } from 'node:os';
import { TRIBUTARY_CONFIG, type GroupConfig, type TributaryConfig } from '@tributary/config';
import { GroupMember, GroupRepository, MessageNotifier, type ConsumedMessage } from '@tributary/consumer-groups';
import { MetricsService } from '@tributary/metrics';
import { PlatformDatabase } from '@tributary/store';
import { TableSchemaRepository } from '@tributary/schema-registry';
import { RetentionJanitor } from '@tributary/topic-log';
import { GroupRunner } from './group-runner';
import { createSink } from './sinks/sink.factory';
import type { Sink } from './sinks/sink';

/** The worker role: runs the configured groups' members and the retention janitor. */
@Injectable()
export class WorkerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Worker');
  private readonly repo: GroupRepository;
  private readonly notifier: MessageNotifier;
  private readonly janitor: RetentionJanitor;
  private readonly schemas: TableSchemaRepository;
  private readonly pool: PlatformDatabase['pool'];
  private readonly runners: GroupRunner[] = [];
  private readonly reported = new Map<GroupRunner, { retries: number; deadLettered: number }>();
  private readonly sinks: Sink[] = [];
  private janitorTimer?: NodeJS.Timeout;
  private janitorRun?: Promise<unknown>;

  constructor(
    @Inject(TRIBUTARY_CONFIG) private readonly config: TributaryConfig,
    @Inject(PlatformDatabase) db: PlatformDatabase,
    @Optional() @Inject(MetricsService) private readonly metricsService?: MetricsService,
  ) {
    this.repo = new GroupRepository(db.pool);
    this.notifier = new MessageNotifier(db.url);
    this.janitor = new RetentionJanitor(db.pool);
    this.schemas = new TableSchemaRepository(db.pool);
    metricsService?.onCollect(() => this.collectStats());
    this.pool = db.pool;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.notifier.start();
    for (const group of this.config.groups) await this.startGroup(group);
    this.janitorTimer = setInterval(() => this.runJanitor(), this.config.retentionCheckIntervalMs);
    if (this.config.groups.length === 0) this.logger.log('no consumer groups configured');
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.janitorTimer);
    await Promise.all(this.runners.map((r) => r.stop()));
    await this.janitorRun;
    await Promise.all(this.sinks.map((s) => s.close?.()));
    await this.notifier.close();
  }

  runnersOf(group: string): GroupRunner[] {
    return this.runners.filter((r) => r.member.group.name === group);
  }

  private async startGroup(group: GroupConfig): Promise<void> {
    await this.repo.upsertGroup(group); // a GroupConfig is a GroupDefinition plus how to run it
    const definition = await this.repo.getGroup(group.name);
    if (!definition) throw new Error(`group "${group.name}" vanished while starting`);
    let kind = '';
    for (let i = 0; i < group.members; i++) {
      const sink = createSink(group, this.schemas, this.pool); // one per member: a sink may hold a connection and a transaction
      this.sinks.push(sink);
      kind = sink.kind;
      const member = new GroupMember(this.repo, definition, `worker ${hostname()} pid ${process.pid}`);
      const runner = new GroupRunner(member, group, this.repo, sink, this.notifier, (batch) => this.observe(group.name, batch));
      this.runners.push(runner);
      runner.start();
    }
    this.logger.log(`group ${group.name}: ${group.members} member(s), sink ${kind}, topics ${group.topics.join(', ')}`);
  }

  private observe(group: string, batch: ConsumedMessage[]): void {
    const metrics = this.metricsService?.metrics;
    if (!metrics) return;
    const now = Date.now();
    for (const m of batch) metrics.deliveryLatency.observe({ group }, (now - m.appendedAt.getTime()) / 1000);
    metrics.delivered.inc({ group }, batch.length);
  }

  /** Runner stats count since start; the counters move by what is new since the last scrape. */
  private collectStats(): void {
    const metrics = this.metricsService?.metrics;
    if (!metrics) return;
    for (const runner of this.runners) {
      const group = runner.member.group.name;
      const seen = this.reported.get(runner) ?? { retries: 0, deadLettered: 0 };
      metrics.deliveryErrors.inc({ group }, runner.stats.retries - seen.retries);
      metrics.deadLettered.inc({ group }, runner.stats.deadLettered - seen.deadLettered);
      this.reported.set(runner, { retries: runner.stats.retries, deadLettered: runner.stats.deadLettered });
    }
  }

  private runJanitor(): void {
    if (this.janitorRun) return;
    this.janitorRun = this.janitor
      .runOnce()
      .catch((e: Error) => this.logger.error(`retention janitor failed: ${e.message}`))
      .finally(() => (this.janitorRun = undefined));
  }
}
