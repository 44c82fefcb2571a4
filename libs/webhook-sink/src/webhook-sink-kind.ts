import type { SinkKind } from '@tributary/sink-contract';
import { WebhookSink } from './webhook.sink';

/** `sink.type: webhook`: a Standard Webhooks subscription (docs/webhooks.md). */
export const webhookSinkKind: SinkKind<'webhook'> = {
  type: 'webhook',
  create: (group, deps) =>
    new WebhookSink({ group: group.name, config: group.sink, pool: deps.pool, holdWhilePausedMs: group.retry.maxBackoffMs }),
};
