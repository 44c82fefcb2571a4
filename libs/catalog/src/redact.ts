import { redactUrl, SECRET_MASK, type GroupConfig, type SourceFileConfig } from '@tributary/config';

/**
 * Specs as the API and `tributary export` show them: URL passwords and credential-like query values
 * masked, webhook header values masked (they often carry tokens), webhook secrets left out (only how many
 * there are). Secrets are write-only.
 */
export function redactSourceSpec(spec: SourceFileConfig): Record<string, unknown> {
  return spec.url ? { ...spec, url: redactUrl(spec.url) } : { ...spec };
}

export function redactGroupSpec(spec: GroupConfig): Record<string, unknown> {
  if (spec.transforms?.some((t) => t.type === 'hash' && t.key !== SECRET_MASK)) {
    // A hash step's HMAC key is a secret: shown masked, and a masked key sent back keeps the stored one.
    const transforms = spec.transforms.map((t) => (t.type === 'hash' ? { ...t, key: SECRET_MASK } : t));
    return redactGroupSpec({ ...spec, transforms: transforms });
  }
  const sink = spec.sink;
  if (sink.type === 'postgres' || sink.type === 'mysql' || sink.type === 'redis' || sink.type === 'rabbitmq')
    return { ...spec, sink: { ...sink, url: redactUrl(sink.url) } };
  if (sink.type === 'webhook') {
    const { secrets, headers, ...rest } = sink;
    const masked = Object.fromEntries(Object.keys(headers).map((name) => [name, SECRET_MASK]));
    return { ...spec, sink: { ...rest, url: redactUrl(sink.url), headers: masked, secretCount: secrets.length } };
  }
  // Every other sink with a URL (the brokers): its password and token are masked.
  if ('url' in sink) return { ...spec, sink: { ...sink, url: redactUrl(sink.url) } };
  return { ...spec };
}
