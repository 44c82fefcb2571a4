import type { GroupConfig, SourceFileConfig } from '@tributary/config';
import { generateWebhookSecret } from '@tributary/webhook-sink';

const MASK = '***';

/**
 * Secrets are write-only, so what the API and `tributary export` show has them masked or left out. Sending
 * such a spec back must not wipe them: a URL whose password is `***` keeps the stored password, and a
 * webhook sink without `secret`/`secrets` keeps the stored secrets (a new subscription gets a new secret,
 * reported through `generated`, to be shown once). Works on the raw input, before it is validated.
 */
export function restoreWriteOnlySecrets(
  raw: unknown,
  stored: { sourceUrl?: string; group?: GroupConfig } | undefined,
  generated: (secret: string) => void,
): unknown {
  if (!isObject(raw)) return raw;
  const out: Record<string, unknown> = { ...raw };
  if (typeof out.url === 'string' && stored?.sourceUrl) out.url = keepPassword(out.url, stored.sourceUrl);
  if (isObject(out.sink)) {
    const sink: Record<string, unknown> = { ...out.sink };
    const before = stored?.group?.sink;
    if (typeof sink.url === 'string' && before && 'url' in before) sink.url = keepPassword(sink.url, before.url);
    if (sink.type === 'webhook' && sink.secret === undefined && sink.secrets === undefined) {
      delete sink.secretCount; // as shown by the API; not an input
      if (before?.type === 'webhook') sink.secrets = before.secrets;
      else {
        const secret = generateWebhookSecret();
        generated(secret);
        sink.secrets = [secret];
      }
    }
    out.sink = sink;
  }
  return out;
}

export function storedSecretsOf(entry: SourceFileConfig | GroupConfig | undefined): {
  sourceUrl?: string;
  group?: GroupConfig;
} {
  if (!entry) return {};
  if ('sink' in entry) return { group: entry };
  return { sourceUrl: entry.url };
}

function keepPassword(url: string, storedUrl: string): string {
  try {
    const given = new URL(url);
    if (decodeURIComponent(given.password) !== MASK) return url;
    const stored = new URL(storedUrl);
    given.password = stored.password;
    return given.toString();
  } catch {
    return url; // validation reports the bad URL
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
