export {
  WEBHOOK_DEFAULT_MEMBERS,
  WEBHOOK_OPERATIONS,
  WEBHOOK_RETRY_DEFAULTS,
  webhookGroupDefaults,
  webhookSinkSchema,
  type WebhookOperation,
  type WebhookSinkConfig,
} from '@tributary/config';
export { WebhookSink, type WebhookSinkOptions } from './webhook.sink';
export { webhookSinkKind } from './webhook-sink-kind';
export { pingWebhook, type PingResult } from './webhook-ping';
export { WebhookDeliveryError } from './webhook-errors';
export { generateWebhookSecret, secretKey, signatureHeader } from './webhook-signature';
export { isPrivateAddress, RefusedAddressError } from './address.guard';
export { parseRetryAfter } from './retry-after';
export { CircuitBreaker, type CircuitState } from './circuit-breaker';
export { MessageFilter } from './message.filter';
export { buildPayload, messageId } from './webhook-payload';
export { MAX_RESPONSE_BYTES, WebhookHttpClient } from './webhook-http';
export {
  storedUrl,
  WebhookRepository,
  type AttemptView,
  type DeadLetterView,
  type SubscriptionState as StoredSubscriptionState,
} from './webhook.repository';
export {
  ReplayBusyError,
  ReplayNotFoundError,
  WebhookReplayer,
  type ReplayOptions,
  type ReplayResult,
  type ReplaySelector,
} from './webhook-replayer';
