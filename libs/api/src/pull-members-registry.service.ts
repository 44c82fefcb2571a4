import { ConflictException, Inject, Injectable, NotFoundException, BeforeApplicationShutdown } from '@nestjs/common';
import { CatalogRepository } from '@tributary/catalog';
import { GroupDeletedError, GroupMember, GroupRepository, PullMember } from '@tributary/consumer-groups';
import { PlatformDatabase } from '@tributary/store';

/**
 * HTTP pull members live in the API process that created them (clients must keep talking to that
 * instance). One that stops calling is dropped after its session timeout; the database membership
 * expires on the same clock, so its partitions move to other members.
 */
@Injectable()
export class PullMembersRegistry implements BeforeApplicationShutdown {
  readonly repo: GroupRepository;
  private readonly members = new Map<string, PullMember>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    @Inject(PlatformDatabase) db: PlatformDatabase,
    @Inject(CatalogRepository) private readonly catalog: CatalogRepository,
  ) {
    this.repo = new GroupRepository(db.pool);
    this.sweeper = setInterval(() => this.sweep(), 1_000);
    this.sweeper.unref();
  }

  async join(group: string, sessionTimeoutMs?: number): Promise<PullMember> {
    const definition = await this.repo.getGroup(group);
    if (!definition) throw new NotFoundException({ detail: `group "${group}" does not exist`, field: 'group' });
    // A pull member would take partitions from the workers and commit them: the sink would never see those messages.
    const entry = await this.catalog.getGroup(group);
    if (entry && entry.spec.sink.type !== 'pull') {
      throw new ConflictException({
        detail: `group "${group}" is run by workers (${entry.spec.sink.type} sink); pull consumers need a group without a sink`,
        field: 'group',
      });
    }
    const member = new GroupMember(
      this.repo,
      { ...definition, sessionTimeoutMs: sessionTimeoutMs ?? definition.sessionTimeoutMs },
      'http',
    );
    const pull = new PullMember(member, this.repo);
    await pull.heartbeat();
    this.members.set(this.key(group, member.id), pull);
    return pull;
  }

  get(group: string, memberId: string): PullMember {
    const pull = this.members.get(this.key(group, memberId));
    if (!pull) {
      throw new NotFoundException({
        detail: `member "${memberId}" of group "${group}" is unknown here (never joined, left, or expired after its session timeout)`,
        field: 'member',
      });
    }
    return pull;
  }

  /** Runs an action of a member; if its group was deleted meanwhile the member is dropped and the answer is 404. */
  async use<T>(group: string, memberId: string, action: (pull: PullMember) => T | Promise<T>): Promise<T> {
    const pull = this.get(group, memberId);
    try {
      return await action(pull);
    } catch (error) {
      if (!(error instanceof GroupDeletedError)) throw error;
      this.members.delete(this.key(group, memberId));
      throw new NotFoundException({ detail: error.message, field: 'group' });
    }
  }

  async leave(group: string, memberId: string): Promise<void> {
    const pull = this.get(group, memberId);
    this.members.delete(this.key(group, memberId));
    await pull.leave();
  }

  /** Before the platform database closes (StoreModule, at onApplicationShutdown): see bootstrap. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.members.values()].map((m) => m.leave().catch(() => undefined)));
    this.members.clear();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, pull] of this.members) {
      if (now - pull.lastSeenAt > pull.member.group.sessionTimeoutMs) this.members.delete(key);
    }
  }

  private key(group: string, memberId: string): string {
    return `${group}\u0000${memberId}`;
  }
}
