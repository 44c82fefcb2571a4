import { Client } from 'pg';
import { GroupRepository, MessageNotifier } from '@tributary/consumer-groups';
import { DatabaseSink, MysqlDialect, PostgresDialect, type DatabaseSinkOptions } from '@tributary/db-sink';
import { TableSchemaRepository } from '@tributary/schema-registry';
import { CaptureHarness, platformConfig, sourceConfig } from './capture-harness';
import { TestCluster } from './pg-cluster';
import { SinkGroups, sinksCaughtUp } from './sink-groups';

export interface SinkBedOptions {
  /** What the capture of the database `src` takes: tables or `schema.*` patterns. */
  tables: string[];
  /** Creates the source's tables (and what the target needs) before the capture starts. */
  prepare?: (cluster: TestCluster) => Promise<void>;
  /** Partitions of each topic (default 1). */
  partitions?: number;
  /** Of the source client: a workload statement waiting on a lock fails with its cause, not jest's timeout. */
  statementTimeoutMs?: number;
}

/**
 * The set-up the database sink tests share: a Postgres 15 cluster with the databases `src` (captured
 * through the slot `tributary_src`), `target` and `platform`, a capture, a client on the source, and
 * group runners in the test process.
 */
export class SinkBed {
  readonly repo: GroupRepository;
  readonly schemas: TableSchemaRepository;
  readonly groups: SinkGroups;

  private constructor(
    readonly cluster: TestCluster,
    readonly harness: CaptureHarness,
    readonly source: Client,
    readonly notifier: MessageNotifier,
  ) {
    this.repo = new GroupRepository(harness.db.pool);
    this.schemas = new TableSchemaRepository(harness.db.pool);
    this.groups = new SinkGroups(this.repo, notifier);
  }

  /** Whatever was started before a step failed is stopped again, so a failed set-up leaves nothing running. */
  static async start(options: SinkBedOptions): Promise<SinkBed> {
    const started: { stop(): Promise<unknown> }[] = [];
    try {
      const cluster = await TestCluster.start(15);
      started.push(cluster);
      await cluster.createDatabase('src');
      await cluster.createDatabase('target');
      const platformUrl = await cluster.createDatabase('platform');
      await options.prepare?.(cluster);
      const sources = [sourceConfig('src', cluster.url('src'), options.tables)];
      const harness = await CaptureHarness.start(platformConfig(platformUrl, sources, options.partitions ?? 1));
      started.push(harness);
      const source = new Client({ connectionString: cluster.url('src'), statement_timeout: options.statementTimeoutMs });
      await source.connect();
      started.push({ stop: () => source.end() });
      const notifier = new MessageNotifier(platformUrl);
      await notifier.start();
      return new SinkBed(cluster, harness, source, notifier);
    } catch (error) {
      for (const s of started.reverse()) await s.stop();
      throw error;
    }
  }

  /** A database sink into the database `target`, schema public. */
  postgresSink(group: string, extra: Partial<DatabaseSinkOptions> = {}): DatabaseSink {
    const connect = () => PostgresDialect.connect(this.cluster.url('target'), 'public');
    return new DatabaseSink(connect, this.schemas, sinkOptions(group, extra), 'postgres');
  }

  /** A database sink into the MariaDB database at `url`. */
  mysqlSink(url: string, group: string, extra: Partial<DatabaseSinkOptions> = {}): DatabaseSink {
    return new DatabaseSink(() => MysqlDialect.connect(url), this.schemas, sinkOptions(group, extra), 'mysql');
  }

  /** Reported events go to the group's events, as the worker's database sink kinds do. */
  reportingTo(group: string): Pick<DatabaseSinkOptions, 'report'> {
    return { report: (e) => this.repo.recordEvent(group, e, e.kind, e.detail) };
  }

  /** The slot has confirmed all the source wrote so far and every group has lag 0. */
  caughtUp(groups: string[], timeoutMs?: number): Promise<void> {
    return sinksCaughtUp(this.cluster, 'src', 'tributary_src', this.repo, groups, timeoutMs);
  }

  async stop(): Promise<void> {
    await this.groups.stop();
    await this.notifier.close();
    await this.source.end();
    await this.harness.stop();
    await this.cluster.stop();
  }
}

function sinkOptions(group: string, extra: Partial<DatabaseSinkOptions>): DatabaseSinkOptions {
  return { group, autoCreate: true, addColumns: true, ...extra };
}
