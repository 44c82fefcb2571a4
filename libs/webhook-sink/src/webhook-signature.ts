import { createHmac } from 'node:crypto';

const PREFIX = 'whsec_';

/** The key bytes of a `whsec_<base64>` secret. */
export function secretKey(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) throw new Error('a webhook secret starts with "whsec_"');
  return Buffer.from(secret.slice(PREFIX.length), 'base64');
}

// Made with the config it belongs to (libs/config), which the thin CLI loads without this lib; kept here for importers.
export { generateWebhookSecret } from '@tributary/config';

/**
 * The `webhook-signature` header of the Standard Webhooks specification: for every key,
 * `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, space-separated (two keys during a rotation).
 */
export function signatureHeader(keys: Buffer[], id: string, timestamp: number, body: Buffer | string): string {
  const prefix = `${id}.${timestamp}.`;
  return keys.map((key) => `v1,${createHmac('sha256', key).update(prefix).update(body).digest('base64')}`).join(' ');
}
