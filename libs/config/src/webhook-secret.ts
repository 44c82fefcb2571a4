import { randomBytes } from 'node:crypto';

/**
 * A fresh webhook secret (32 random bytes) as `whsec_<base64>`, the form subscribers are given once. It
 * lives with the webhook sink's config, not the sink, so the API, `tributary apply` and the thin CLI can
 * make one without loading the delivery code and its database layer.
 */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}
