import { Inject, Injectable, Logger, OnApplicationBootstrap, BeforeApplicationShutdown, Optional } from '@nestjs/common';
import { hostname } from 'node:os';
import { CatalogFollower, CatalogRepository } from '@tributary/catalog';
import { resolveGroup, TRIBUTARY_CONFIG, type GroupConfig, type TributaryConfig } from '@tributary/config';
import { GroupMember, GroupRepository, MessageNotifier } from '@tributary/consumer-groups';
import { MetricsService } from '@tributary/metrics';
import { PlatformDatabase } from '@tributary/store';
import { RetentionJanitor } from '@tributary/topic-log';
import { TargetRecovery } from './target-recovery';
import { GroupRunner } from './group-runner';
import type { ConsumedMessage, Sink, SinkDeps, SinkMetrics } from '@tributary/sink-contract';
import { createSink } from './sink-registry';

/** A group as the catalog lists it: its settings resolved, and the version they belong to. */
interface WantedGroup {
  config: GroupConfig;
  version: number;
  createdAt: string;
}

/**
 * The worker role: runs the members of every group in the catalog that has a sink, following the catalog
 * (a new group starts, a changed one restarts, a deleted one stops), and the retention janitor.
 */
@Injectable()
export class WorkerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Worker');
  private readonly repo: GroupRepository;
  private readonly notifier: MessageNotifier;
  private readonly janitor: RetentionJanitor;
  private readonly pool: PlatformDatabase['pool'];
  private readonly groups = new Map<string, { runners: GroupRunner[]; sinks: Sink[]; version: string }>();
  private readonly reported = new Map<GroupRunner, { retries: number; deadLettered: number }>();
  private readonly follower: CatalogFollower;
  private janitorTimer?: NodeJS.Timeout;
  private janitorRun?: Promise<unknown>;

  constructor(
    @Inject(TRIBUTARY_CONFIG) private readonly config: TributaryConfig,
    @Inject(PlatformDatabase) db: PlatformDatabase,
    @Inject(CatalogRepository) private readonly catalog: CatalogRepository,
    @Optional() @Inject(MetricsService) private readonly metricsService?: MetricsService,
  ) {
    this.follower = new CatalogFollower(catalog, () => this.reconcile(), this.logger);
    this.repo = new GroupRepository(db.pool);
    this.notifier = new MessageNotifier(db.url);
    this.janitor = new RetentionJanitor(db.pool);
    metricsService?.onCollect(() => this.collectStats());
    this.pool = db.pool;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.notifier.start();
    await this.follower.start();
    this.janitorTimer = setInterval(() => this.runJanitor(), this.config.retentionCheckIntervalMs);
    if (this.groups.size === 0) this.logger.log('no consumer groups with a sink in the catalog yet');
  }

  /** Before the platform database closes (StoreModule, at onApplicationShutdown): see bootstrap. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.janitorTimer);
    await this.follower.stop();
    await Promise.all([...this.groups.keys()].map((name) => this.stopGroup(name)));
    await this.janitorRun;
    await this.notifier.close();
  }

  runnersOf(group: string): GroupRunner[] {
    return this.groups.get(group)?.runners ?? [];
  }

  private async reconcile(): Promise<void> {
    const wanted = new Map(
      (await this.catalog.listGroups())
        .filter((g) => g.spec.sink.type !== 'pull')
        .map((g) => [
          g.name,
          { config: resolveGroup(g.spec, this.config.localDefaults), version: g.version, createdAt: g.createdAt },
        ]),
    );
    for (const [name, running] of this.groups) {
      const next = wanted.get(name);
      // Any new version restarts the members: they are fenced by the version they started with (GroupMember).
      if (next && `${next.version}@${next.createdAt}` === running.version) continue;
      this.logger.log(next ? `group ${name} changed: restarting its members` : `group ${name} was removed: stopping its members`);
      await this.stopGroup(name);
    }
    // One group that cannot start (a sink that fails to build) must not keep the others from starting;
    // failing the reconcile afterwards makes the follower try it again.
    const failed: string[] = [];
    for (const [name, group] of wanted) {
      if (this.groups.has(name)) continue;
      await this.startGroup(group).catch((e: Error) => failed.push(`${name} (${e.message})`));
    }
    if (failed.length) throw new Error(`group(s) could not start: ${failed.join('; ')}`);
  }

  private async startGroup({ config: group, version, createdAt }: WantedGroup): Promise<void> {
    const definition = await this.repo.getGroup(group.name);
    // Deleted or changed since the catalog was read: the follower sees the change and reconciles again.
    if (!definition || definition.incarnation?.split('@')[0] !== String(version)) return;
    const running = { runners: [] as GroupRunner[], sinks: [] as Sink[], version: `${version}@${createdAt}` };
    const recovery = new TargetRecovery(); // one per group: its members' partitions share the target
    const deps: SinkDeps = {
      pool: this.pool,
      report: (e) => this.repo.recordEvent(group.name, e, e.kind, e.detail),
      metrics: this.sinkMetrics(group.name, group.sink.type),
    };
    try {
      for (let i = 0; i < group.members; i++) {
        const sink = createSink(group, deps); // one per member: a sink may hold a connection and a transaction
        running.sinks.push(sink);
        const member = new GroupMember(this.repo, definition, `worker ${hostname()} pid ${process.pid}`);
        running.runners.push(
          new GroupRunner(member, group, this.repo, sink, this.notifier, (batch) => this.observe(group.name, batch), recovery),
        );
      }
    } catch (error) {
      await Promise.all(running.sinks.map((sink) => sink.close?.() ?? Promise.resolve()));
      throw error;
    }
    // Registered and started only once every member could be built: never half a group.
    this.groups.set(group.name, running);
    for (const runner of running.runners) runner.start();
    this.logger.log(
      `group ${group.name}: ${group.members} member(s), sink ${group.sink.type}, topics ${group.topics.join(', ')}`,
    );
  }

  /** Runners stop (aborting what waits on a sink), commit what is acknowledged and release their leases; sinks close. */
  private async stopGroup(name: string): Promise<void> {
    const running = this.groups.get(name);
    if (!running) return;
    await Promise.all(running.runners.map((r) => r.stop()));
    await Promise.all(running.sinks.map((s) => s.close?.() ?? Promise.resolve()));
    for (const r of running.runners) this.reported.delete(r);
    this.groups.delete(name);
  }

  private observe(group: string, batch: ConsumedMessage[]): void {
    const metrics = this.metricsService?.metrics;
    if (!metrics) return;
    const now = Date.now();
    for (const m of batch) metrics.deliveryLatency.observe({ group }, (now - m.appendedAt.getTime()) / 1000);
    metrics.delivered.inc({ group }, batch.length);
  }

  /** A broker sink's counters in this process's registry, labelled with its group and type. */
  private sinkMetrics(group: string, sink: string): SinkMetrics | undefined {
    const metrics = this.metricsService?.metrics;
    if (!metrics) return undefined;
    const labels = { group, sink };
    return {
      published: (count) => metrics.sinkPublished.inc(labels, count),
      failed: (count) => metrics.sinkPublishErrors.inc(labels, count),
      latency: (seconds) => metrics.sinkPublishLatency.observe(labels, seconds),
    };
  }

  /** Runner stats count since start; the counters move by what is new since the last scrape. */
  private collectStats(): void {
    const metrics = this.metricsService?.metrics;
    if (!metrics) return;
    for (const runner of [...this.groups.values()].flatMap((g) => g.runners)) {
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
