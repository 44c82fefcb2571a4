import type { ConsumedMessage } from '@tributary/sink-contract';
import { textOf, valueAt, type Envelope } from './envelope';

/** A message's route, from the message and its envelope as it came from the topic. */
export type RouteOf = (message: ConsumedMessage, envelope: Envelope) => string;

const NAMED: Record<string, (m: ConsumedMessage, e: Envelope) => unknown> = {
  topic: (m) => m.topic,
  partition: (m) => m.partition,
  op: (_m, e) => e.op,
  source: (_m, e) => e.source?.name,
  schema: (_m, e) => e.source?.schema,
  table: (_m, e) => e.source?.table,
};

/**
 * `{schema}.{table}_archive`, `{op}`, `{topic}`, `{partition}`, `{source}` or any path into the
 * envelope (`{after.tenant}`). Placeholders read the message as it came from the topic (before the
 * transforms), so a renamed or dropped column still routes. A placeholder without a value fails the
 * message (retries, then onFailure): it is never sent to a made-up place.
 */
export function compileRouteTemplate(template: string): RouteOf {
  const parts = template.split(/(\{[^{}]+\})/).filter((p) => p !== '');
  const pieces = parts.map((part): ((m: ConsumedMessage, e: Envelope) => string) => {
    if (!part.startsWith('{')) return () => part;
    const name = part.slice(1, -1);
    const read = NAMED[name] ?? ((_m: ConsumedMessage, e: Envelope) => valueAt(e, name.split('.')));
    return (m, e) => {
      const value = read(m, e);
      if (value === undefined || value === null || (typeof value === 'object' && !('value' in value))) {
        throw new Error(`route ${template}: ${part} has no value for ${m.topic}[${m.partition}]@${m.offset}`);
      }
      return textOf(value);
    };
  });
  return (m, e) => pieces.map((piece) => piece(m, e)).join('');
}
