import type { GroupConfig, SourceFileConfig } from '@tributary/config';
import { redactUrl } from '@tributary/store';

/**
 * Specs as the API and `tributary export` show them: connection passwords masked, webhook secrets left
 * out (only how many there are). Secrets are write-only.
 */
export function redactSourceSpec(spec: SourceFileConfig): Record<string, unknown> {
  return spec.url ? { ...spec, url: redactUrl(spec.url) } : { ...spec };
}

export function redactGroupSpec(spec: GroupConfig): Record<string, unknown> {
  const sink = spec.sink;
  if (sink.type === 'postgres' || sink.type === 'mysql') return { ...spec, sink: { ...sink, url: redactUrl(sink.url) } };
  if (sink.type === 'webhook') {
    const { secrets, ...rest } = sink;
    return { ...spec, sink: { ...rest, secretCount: secrets.length } };
  }
  return { ...spec };
}
