import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { AttemptLog } from './attempt-log';
import { CircuitBreaker } from './circuit-breaker';
import { RateLimiter } from './rate-limiter';
import type { WebhookSinkConfig } from '@tributary/config';
import { WebhookHttpClient } from './webhook-http';
import { storedUrl, WebhookRepository } from './webhook.repository';

const PRUNE_EVERY_MS = 10 * 60_000;
const USER_AGENT = 'Tributary-Webhooks/0.1';
/** While disabled, how often the stored status is read again (an operator may re-enable it). */
export const DISABLED_POLL_MS = 5_000;

/**
 * What the members of one subscription share inside a process: the connection pool to the endpoint,
 * the circuit breaker, the rate limit, the disabled flag and the attempt log. Nothing here is shared
 * between subscriptions, so one slow or failing endpoint cannot hold up another.
 */
export class SubscriptionState {
  readonly logger: Logger;
  readonly client: WebhookHttpClient;
  readonly breaker: CircuitBreaker;
  readonly limiter?: RateLimiter;
  readonly log: AttemptLog;
  readonly repo: WebhookRepository;
  /** Why the subscription is disabled, if it is. */
  disabled?: string;
  private disabledCheckedAt = 0;
  private loading?: Promise<void>;
  /** The stored status was read (ready() resolved). */
  loaded = false;
  private pruneTimer?: NodeJS.Timeout;
  users = 0;

  constructor(
    readonly group: string,
    readonly config: WebhookSinkConfig,
    pool: Pool,
    /** The live deliveries (not a replay): they own the stored status and prune the log. */
    private readonly primary: boolean,
  ) {
    this.logger = new Logger(`Webhook ${group}`);
    this.client = new WebhookHttpClient(config.url, config.allowPrivateNetworks ?? false, {
      ...config.headers,
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
    });
    this.repo = new WebhookRepository(pool);
    this.log = new AttemptLog(pool);
    this.limiter = config.rateLimitPerSecond ? new RateLimiter(config.rateLimitPerSecond) : undefined;
    this.breaker = new CircuitBreaker(config.circuitBreaker, (state, detail) => {
      if (state === 'open') this.logger.warn(`circuit open: ${detail}`);
      if (state === 'closed') this.logger.log(`circuit closed: ${detail}`);
      if (primary && state !== 'half-open' && !this.disabled) {
        void this.repo
          .setStatus(group, config.url, state === 'open' ? 'paused' : 'active', state === 'open' ? detail : null)
          .catch((e: Error) => this.logger.warn(`recording the status failed: ${e.message}`));
      }
    });
    if (primary) {
      this.pruneTimer = setInterval(() => {
        void this.log
          .prune(group, config.attemptLogRetentionMs)
          .catch((e: Error) => this.logger.warn(`pruning the attempt log failed (retried next round): ${e.message}`));
      }, PRUNE_EVERY_MS);
      this.pruneTimer.unref();
    }
  }

  /** Reads the stored status once: a subscription disabled for this same URL stays disabled across restarts. */
  ready(): Promise<void> {
    this.loading ??= this.load().then(
      () => {
        this.loaded = true;
      },
      (error: Error) => {
        this.loading = undefined; // the database may be back on the next attempt
        throw error;
      },
    );
    return this.loading;
  }

  /** While disabled, re-reads the stored status now and then; true if still disabled. */
  async stillDisabled(): Promise<boolean> {
    if (!this.disabled) return false;
    if (Date.now() - this.disabledCheckedAt < DISABLED_POLL_MS) return true;
    this.disabledCheckedAt = Date.now();
    const stored = await this.repo.status(this.group);
    if (stored && stored.status === 'disabled') return true;
    this.logger.log('subscription re-enabled; deliveries resume');
    this.disabled = undefined;
    return false;
  }

  async disable(detail: string): Promise<void> {
    this.disabled = detail;
    this.disabledCheckedAt = Date.now();
    this.logger.error(`subscription disabled: ${detail}; nothing is delivered until it is re-enabled`);
    await this.repo.setStatus(this.group, this.config.url, 'disabled', detail);
  }

  async close(): Promise<void> {
    clearInterval(this.pruneTimer);
    await this.log.flush();
    this.client.close();
  }

  private async load(): Promise<void> {
    const stored = await this.repo.status(this.group);
    if (stored?.status === 'disabled' && stored.url === storedUrl(this.config.url)) {
      this.disabled = stored.detail ?? 'disabled';
      this.disabledCheckedAt = Date.now();
      this.logger.warn(`subscription is disabled (${this.disabled}); re-enable it to resume deliveries`);
      return;
    }
    if (this.primary) await this.repo.setStatus(this.group, this.config.url, 'active', null);
  }
}

const shared = new Map<string, SubscriptionState>();

/** The state of a subscription, shared by the members running it in this process. */
export function acquireState(group: string, config: WebhookSinkConfig, pool: Pool): SubscriptionState {
  let state = shared.get(group);
  if (!state || JSON.stringify(state.config) !== JSON.stringify(config)) {
    state = new SubscriptionState(group, config, pool, true);
    shared.set(group, state);
  }
  state.users++;
  return state;
}

export async function releaseState(state: SubscriptionState): Promise<void> {
  if (--state.users > 0) return;
  if (shared.get(state.group) === state) shared.delete(state.group);
  await state.close();
}
