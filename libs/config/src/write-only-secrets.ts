import type { SourceFileConfig } from './config.schema';
import type { GroupConfig } from './tributary-config';
import { generateWebhookSecret } from './webhook-secret';

/** What a masked secret reads as in API answers and exports; sent back, it stands for the stored value. */
export const SECRET_MASK = '***';

/** A masked value sent for something that has no stored value to stand for (or a different target). */
export class WriteOnlySecretError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'WriteOnlySecretError';
  }
}

/**
 * Secrets are write-only, so what the API and `tributary export` show has them masked or left out.
 * Sending such a spec back must not wipe them: a masked URL password or query value keeps the stored one
 * (only for the same scheme, host, port, user and database: a stored password never goes to a new
 * place), a masked header value keeps the stored header (only while the URL is the same), and a webhook sink without `secret`/`secrets`
 * keeps the stored secrets (a new subscription gets a new secret, reported through `generated`, to be
 * shown once). Works on the raw input, before it is validated.
 */
export function restoreWriteOnlySecrets(
  raw: unknown,
  stored: { sourceUrl?: string; group?: GroupConfig } | undefined,
  generated: (secret: string) => void,
): unknown {
  if (!isObject(raw)) return raw;
  const out: Record<string, unknown> = { ...raw };
  if (typeof out.url === 'string') out.url = restoreUrl(out.url, stored?.sourceUrl, 'url');
  if (isObject(out.sink)) {
    const sink: Record<string, unknown> = { ...out.sink };
    const before = stored?.group?.sink;
    const storedUrl = before && 'url' in before ? before.url : undefined;
    if (typeof sink.url === 'string') sink.url = restoreUrl(sink.url, storedUrl, 'sink.url');
    if (sink.type === 'webhook') {
      delete sink.secretCount; // as shown by the API; not an input
      if (isObject(sink.headers))
        sink.headers = restoreHeaders(sink.headers, before?.type === 'webhook' ? before : undefined, sink.url);
      if (sink.secret === undefined && sink.secrets === undefined) {
        if (before?.type === 'webhook') sink.secrets = before.secrets;
        else {
          const secret = generateWebhookSecret();
          generated(secret);
          sink.secrets = [secret];
        }
      }
    }
    out.sink = sink;
  }
  if (Array.isArray(out.transforms)) out.transforms = restoreHashKeys(out.transforms, stored?.group);
  return out;
}

/** A masked `hash` key keeps the stored key of the same step (same place in `transforms`, also a hash). */
function restoreHashKeys(given: unknown[], stored: GroupConfig | undefined): unknown[] {
  return given.map((step, i) => {
    if (!isObject(step) || step.type !== 'hash' || step.key !== SECRET_MASK) return step;
    const before = stored?.transforms?.[i];
    if (before?.type !== 'hash')
      throw new WriteOnlySecretError(`transforms.${i}.key`, `"${SECRET_MASK}" has no stored key to keep`);
    return { ...step, key: before.key };
  });
}

export function storedSecretsOf(entry: SourceFileConfig | GroupConfig | undefined): {
  sourceUrl?: string;
  group?: GroupConfig;
} {
  if (!entry) return {};
  if ('sink' in entry) return { group: entry };
  return { sourceUrl: entry.url };
}

function restoreUrl(url: string, storedUrl: string | undefined, field: string): string {
  let given: URL;
  try {
    given = new URL(url);
  } catch {
    return url; // validation reports the bad URL
  }
  const maskedParams = [...given.searchParams.entries()].filter(([, v]) => v === SECRET_MASK).map(([k]) => k);
  const maskedPassword = decodeURIComponent(given.password) === SECRET_MASK;
  if (!maskedPassword && !maskedParams.length) return url;
  const stored = storedUrl ? new URL(storedUrl) : undefined;
  const refuse = () =>
    new WriteOnlySecretError(
      field,
      `"${SECRET_MASK}" keeps a stored credential only for the same scheme, host, port, user, database and query parameters; give the credential itself`,
    );
  if (!stored) throw refuse();
  if (maskedPassword) given.password = stored.password;
  for (const name of maskedParams) {
    const value = stored.searchParams.get(name);
    if (value === null) throw new WriteOnlySecretError(field, `"${name}=${SECRET_MASK}" has no stored value to keep`);
    given.searchParams.set(name, value);
  }
  // Drivers honour query parameters such as host=: every one of them decides where the credential goes.
  if (destinationOf(stored) !== destinationOf(given)) throw refuse();
  return given.toString();
}

/** Everything in a URL that decides where a connection or request goes: all but the password. */
function destinationOf(u: URL): string {
  const params = [...u.searchParams.entries()].map(([k, v]) => JSON.stringify([k, v])).sort();
  return JSON.stringify([u.protocol, u.hostname, u.port, u.username, u.pathname, params]);
}

/** A masked header keeps the stored value only while the webhook's URL goes where it went (all but a password). */
function restoreHeaders(
  given: Record<string, unknown>,
  stored: { url: string; headers: Record<string, string> } | undefined,
  url: unknown,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(given)) {
    if (value !== SECRET_MASK) out[name] = value;
    else if (!stored || !(name in stored.headers))
      throw new WriteOnlySecretError(`sink.headers.${name}`, `"${SECRET_MASK}" has no stored value to keep`);
    else if (!sameDestination(url, stored.url))
      throw new WriteOnlySecretError(
        `sink.headers.${name}`,
        `"${SECRET_MASK}" keeps a stored header only for the same URL (scheme, host, port, path and query); give the value itself`,
      );
    else out[name] = stored.headers[name];
  }
  return out;
}

function sameDestination(url: unknown, storedUrl: string): boolean {
  try {
    return typeof url === 'string' && destinationOf(new URL(url)) === destinationOf(new URL(storedUrl));
  } catch {
    return false;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
