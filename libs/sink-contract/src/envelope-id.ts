import type { ConsumedMessage } from './consumed-message';

const ENVELOPE_ID = /^\s*\{\s*"id"\s*:\s*"((?:[^"\\]|\\.)*)"/;

/**
 * The envelope's own id (captured envelopes start with it), else one made of the message's position:
 * the same on every redelivery, which is what brokers' and receivers' deduplication keys on.
 */
export function envelopeId(message: ConsumedMessage): string {
  const fast = ENVELOPE_ID.exec(message.envelope);
  if (fast) return fast[1].includes('\\') ? (JSON.parse(`"${fast[1]}"`) as string) : fast[1];
  try {
    const id = (JSON.parse(message.envelope) as { id?: unknown }).id;
    if (typeof id === 'string' && id) return id;
  } catch {
    // fall through
  }
  return `${message.topic}:${message.partition}:${message.offset}`;
}
