import { randomUUID } from 'node:crypto';
import type { WebhookSinkConfig } from '@tributary/config';
import { WebhookHttpClient } from './webhook-http';
import { secretKey, signatureHeader } from './webhook-signature';

export interface PingResult {
  webhookId: string;
  ok: boolean;
  status: number | null;
  latencyMs: number;
  error: string | null;
}

/**
 * A signed test request to a subscription's endpoint, outside any group: the body is a `ping` envelope
 * (op "ping", no row), with the same headers, signature, timeout and address rules as real deliveries.
 * Nothing is logged as an attempt and no offset moves.
 */
export async function pingWebhook(config: WebhookSinkConfig, allowPrivate: boolean): Promise<PingResult> {
  const webhookId = `ping-${randomUUID()}`;
  const timestamp = Math.floor(Date.now() / 1_000);
  const body = Buffer.from(JSON.stringify({ id: webhookId, op: 'ping', ts_ms: Date.now() }));
  const client = new WebhookHttpClient(config.url, allowPrivate);
  const outcome = await client
    .post(
      {
        ...config.headers,
        'content-type': 'application/json',
        'webhook-id': webhookId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(config.secrets.map(secretKey), webhookId, timestamp, body),
      },
      body,
      config.timeoutMs,
    )
    .finally(() => client.close());
  const ok = outcome.status !== undefined && outcome.status >= 200 && outcome.status < 300;
  return {
    webhookId,
    ok,
    status: outcome.status ?? null,
    latencyMs: outcome.latencyMs,
    error: ok ? null : (outcome.error ?? `HTTP ${outcome.status}${outcome.body ? `: ${outcome.body.slice(0, 200)}` : ''}`),
  };
}
