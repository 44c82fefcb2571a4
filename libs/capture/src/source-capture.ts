import { Logger } from '@nestjs/common';
import type { Client } from 'pg';
import type { SourceConfig, TributaryConfig } from '@tributary/config';
import {
  ChunkExchange,
  queueInitialSnapshots,
  skipEmptyInitialSnapshots,
  Snapshotter,
  WatermarkHandler,
  type QueuedSnapshot,
} from '@tributary/snapshot';
import type { PlatformDatabase } from '@tributary/store';
import { backoffDelay, sleep, sleepUnlessAborted } from '@tributary/timing';
import type { TopicSettings } from '@tributary/topic-log';
import { CaptureSession } from './capture-session';
import { CheckpointRepository } from './checkpoint.repository';
import { formatLsn } from '@tributary/pg-source';
import { SlotLostError } from './capture-errors';
import { SourcePreparer } from './source-preparer';
import { settingsOf, topicOf } from './source-topics';
import { TableWatcher } from './table-watcher';

export type CaptureState =
  'starting' | 'standby' | 'preparing' | 'streaming' | 'backoff' | 'slot_lost' | 'platform_unwritable' | 'stopped';

export interface CaptureStatus {
  source: string;
  state: CaptureState;
  confirmedLsn: string | null;
  messagesAppended: number;
  lastMessageAt: string | null;
  lastError: string | null;
  restarts: number;
  /** Configured tables that do not exist on the source (dropped, renamed): the others are captured. */
  missingTables: string[];
}

const LOCK_NAMESPACE = 'tributary.capture';
const STANDBY_POLL_MS = 1_000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** How often a source whose slot is lost checks whether it was resynced. */
const SLOT_LOST_POLL_MS = 2_000;
/** How often a source paused by a platform database that refuses writes checks whether it takes them again. */
const UNWRITABLE_POLL_MS = 2_000;

/**
 * Keeps one source captured: becomes its leader (a session advisory lock on the platform database,
 * so a second instance waits as a hot standby), prepares the source, streams, and after any failure
 * reconnects with exponential backoff and jitter, resuming from the stored checkpoint.
 */
export class SourceCapture {
  private readonly logger: Logger;
  private stopping = false;
  private session?: CaptureSession;
  private snapshotter?: Snapshotter;
  private watcher?: TableWatcher;
  private missing: string[] = [];
  /** The set of missing tables changed while streaming: prepare again at once, no backoff. */
  private prepareAgain = false;
  /** The slot is lost (SlotLostError): the source waits for a resync. */
  private slotLost = false;
  /** Why the platform database refuses capture's writes (read-only, full): capture pauses until it takes them. */
  private unwritable?: string;
  /**
   * The refusal last logged. A full disk can take the probe write and refuse the next append, so the
   * pause would be logged every retry: it is logged again only after writes worked for a while.
   */
  private announcedRefusal?: string;
  private announcedResume = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private state: CaptureState = 'starting';
  private lastError: string | null = null;
  private restarts = 0;
  private appendedBefore = 0;

  constructor(
    private readonly source: SourceConfig,
    private readonly config: TributaryConfig,
    private readonly db: PlatformDatabase,
    /**
     * Asked once leadership is won: is this still the source as the catalog has it? A standby that wins
     * after the source changed or was deleted must not prepare (it would bring back a dropped slot).
     */
    private readonly isCurrent: () => Promise<boolean> = () => Promise.resolve(true),
  ) {
    this.logger = new Logger(`Capture ${source.name}`);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.session?.stop();
    await this.loop;
    this.db.writability.clear(this.writer);
    this.state = 'stopped';
  }

  status(): CaptureStatus {
    const s = this.session;
    return {
      source: this.source.name,
      state: this.state,
      confirmedLsn: s ? formatLsn(s.confirmedLsn) : null,
      messagesAppended: this.appendedBefore + (s?.messagesAppended ?? 0),
      lastMessageAt: s?.lastMessageAtMs === undefined ? null : new Date(s.lastMessageAtMs).toISOString(),
      lastError: this.lastError,
      restarts: this.restarts,
      missingTables: this.missing,
    };
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopping) {
      let platform: Client | undefined;
      let streamingSince: number | undefined;
      try {
        platform = await this.db.connect(`tributary-capture:${this.source.name}`);
        platform.on('error', (e) => this.session?.fail(new Error(`platform database connection lost: ${e.message}`)));
        if (!(await this.lead(platform))) break;
        if (!(await this.isCurrent())) {
          this.logger.log('the source changed or was removed meanwhile: this capture stands down');
          break;
        }
        if (this.unwritable) await this.platformWritable(platform);
        if (!this.slotLost) this.state = 'preparing';
        const queued: QueuedSnapshot[] = [];
        const hasCheckpoint = (await CheckpointRepository.get(platform, this.source.name)) > 0n;
        const prepared = await new SourcePreparer(this.source, async (tables) => {
          queued.push(...(await queueInitialSnapshots(this.db.pool, this.source, tables)));
        }).prepare(hasCheckpoint);
        this.missing = prepared.missingTables;
        this.slotLost = false;
        await skipEmptyInitialSnapshots(this.db.pool, this.source, queued);
        const startLsn = await CheckpointRepository.get(platform, this.source.name);
        // A stop() while preparing found no session to stop: starting one now would stream until killed.
        if (this.stopping) break;
        const chunks = new ChunkExchange();
        this.session = new CaptureSession({
          source: this.source,
          platform,
          startLsn,
          topicFor: (schema, table) => this.topicFor(schema, table),
          isCaptured: (schema, table) =>
            this.source.tables.some((t) => t.schema === schema && (t.table === table || t.table === '*')),
          topicSettings: (topic) => this.topicSettings(topic),
          watermarks: new WatermarkHandler(this.source.name, chunks),
        });
        const running = this.session.run();
        // Backfills run beside the stream, as long as this session lives (docs/snapshots.md).
        const session = this.session;
        this.snapshotter = new Snapshotter({
          source: this.source,
          pool: this.db.pool,
          exchange: chunks,
          topicFor: (schema, table) => this.topicFor(schema, table),
        });
        this.snapshotter.start((e) => session.fail(e));
        this.watcher = new TableWatcher(
          this.source,
          this.missing,
          (missing) => this.tablesChanged(session, missing),
          (e) => session.fail(e),
        );
        this.watcher.start();
        this.state = 'streaming';
        streamingSince = Date.now();
        await running;
      } catch (error) {
        if (this.stopping) break;
        if (!this.pausedByPlatform(error)) {
          this.lastError = (error as Error).message;
          // Said once; then checked every few seconds, without the leadership lock, until a resync.
          if (!(error instanceof SlotLostError && this.slotLost)) this.logger.error(`capture stopped: ${this.lastError}`);
          this.slotLost = error instanceof SlotLostError;
        }
      } finally {
        await this.watcher?.stop();
        this.watcher = undefined;
        await this.snapshotter?.stop();
        this.snapshotter = undefined;
        if (this.session) {
          if (this.session.messagesAppended > 0 || (streamingSince && Date.now() - streamingSince > 10_000)) {
            this.announcedRefusal = undefined;
          }
          this.appendedBefore += this.session.messagesAppended;
          await this.session.stop();
          this.session = undefined;
        }
        await platform?.end().catch(() => undefined);
      }
      if (this.stopping) break;
      if (this.unwritable) {
        // Nothing was acknowledged that is not stored: the slot stays where the last platform commit left it.
        this.state = 'platform_unwritable';
        await this.sleep(UNWRITABLE_POLL_MS);
        continue;
      }
      if (this.prepareAgain) {
        this.prepareAgain = false;
        continue;
      }
      if (this.slotLost) {
        this.state = 'slot_lost';
        await this.sleep(SLOT_LOST_POLL_MS);
        continue;
      }
      if (streamingSince && Date.now() - streamingSince > 60_000) attempt = 0;
      this.restarts++;
      this.state = 'backoff';
      const delay = backoffDelay(++attempt, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
      this.logger.log(`reconnecting in ${delay} ms`);
      await this.sleep(delay);
    }
  }

  /** True when `error` is the platform database refusing writes: capture pauses (said once) and retries. */
  private pausedByPlatform(error: unknown): boolean {
    const reason = this.db.writability.report(this.writer, error);
    if (!reason) return false;
    if (this.announcedRefusal !== reason) {
      this.logger.error(`capture paused: ${reason}; it resumes by itself once writes succeed again`);
      this.announcedRefusal = reason;
      this.announcedResume = false;
    }
    this.unwritable = reason;
    this.lastError = reason;
    return true;
  }

  /** Throws while the platform database still refuses writes; once it takes them, capture resumes. */
  private async platformWritable(platform: Client): Promise<void> {
    await CheckpointRepository.touch(platform, this.source.name);
    this.unwritable = undefined;
    this.db.writability.clear(this.writer);
    // Once per logged refusal: a full disk that takes this write and refuses the next would repeat it.
    if (this.announcedRefusal && !this.announcedResume)
      this.logger.log('the platform database took a write again: capture resumes');
    this.announcedResume = this.announcedRefusal !== undefined;
  }

  private get writer(): string {
    return `capture:${this.source.name}`;
  }

  /** A table went missing or came back: the session ends cleanly and the source is prepared again. */
  private tablesChanged(session: CaptureSession, missing: string[]): void {
    const back = this.missing.filter((t) => !missing.includes(t));
    const gone = missing.filter((t) => !this.missing.includes(t));
    this.logger.warn(
      [
        gone.length ? `table(s) ${gone.join(', ')} no longer exist` : '',
        back.length ? `table(s) ${back.join(', ')} are back` : '',
      ]
        .filter(Boolean)
        .join('; ') + ': preparing the source again',
    );
    this.missing = missing;
    this.prepareAgain = true;
    void session.stop();
  }

  /** Waits until this process holds the source's leadership lock; false if stopped first. */
  private async lead(platform: Client): Promise<boolean> {
    let announced = false;
    while (!this.stopping) {
      const { rows } = await platform.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS ok', [
        LOCK_NAMESPACE,
        this.source.name,
      ]);
      if (rows[0].ok) {
        if (announced) this.logger.log('took over as the active capture');
        return true;
      }
      if (!announced) {
        this.logger.log('another instance is capturing this source; waiting as hot standby');
        announced = true;
      }
      this.state = 'standby';
      await this.sleep(STANDBY_POLL_MS);
    }
    return false;
  }

  private topicFor(schema: string, table: string): string {
    return topicOf(this.source, schema, table);
  }

  private topicSettings(topic: string): TopicSettings {
    return settingsOf(this.config, topic);
  }

  private sleep(ms: number): Promise<void> {
    const woken = new AbortController();
    this.wake = () => woken.abort();
    return sleepUnlessAborted(ms, woken.signal);
  }
}

/**
 * Runs `fn` while holding a source's leadership lock, so that no capture streams from or prepares the
 * source meanwhile (dropping its slot); false when the lock was not free within `timeoutMs`.
 */
export async function whileNoCaptureLeads(
  db: PlatformDatabase,
  source: string,
  timeoutMs: number,
  fn: () => Promise<void>,
): Promise<boolean> {
  const client = await db.connect(`tributary-admin:${source}`);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS ok', [
        LOCK_NAMESPACE,
        source,
      ]);
      if (rows[0].ok) break;
      if (Date.now() > deadline) return false;
      await sleep(200);
    }
    await fn();
    return true;
  } finally {
    await client.end().catch(() => undefined); // ending the session releases the lock
  }
}
