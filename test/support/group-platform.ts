import { GroupRepository, MessageNotifier } from '@tributary/consumer-groups';
import type { GroupRunner } from '@tributary/worker';
import { TestCluster } from './pg-cluster';
import { TestPlatform } from './platform';

/**
 * The set-up of the in-process consumer group tests: a Postgres 18 cluster with a migrated platform
 * database, the group repository and a started notifier. `inTests()`, called in a describe block,
 * starts it before the block's tests, stops the runners a test pushed to `runners` after each test
 * and stops everything after the block.
 */
export class GroupPlatform {
  readonly runners: GroupRunner[] = [];
  cluster!: TestCluster;
  platform!: TestPlatform;
  notifier!: MessageNotifier;
  repo!: GroupRepository;

  static inTests(): GroupPlatform {
    const bed = new GroupPlatform();
    beforeAll(() => bed.start());
    afterEach(() => bed.stopRunners());
    afterAll(() => bed.stop());
    return bed;
  }

  private async start(): Promise<void> {
    this.cluster = await TestCluster.start(18);
    this.platform = await TestPlatform.create(this.cluster, 'platform');
    this.repo = new GroupRepository(this.platform.pool);
    this.notifier = new MessageNotifier(this.platform.url);
    await this.notifier.start();
  }

  private async stopRunners(): Promise<void> {
    await Promise.all(this.runners.splice(0).map((r) => r.stop()));
  }

  /** What started is stopped, also after a failed start. */
  private async stop(): Promise<void> {
    await this.stopRunners();
    await this.notifier?.close();
    await this.platform?.close();
    await this.cluster?.stop();
  }
}
