/**
 * The envelope's `id` (`<source>:<commitLsn>:<seq>`), the AMQP `message-id` of its message. The capture
 * renders `id` first, so it is read without parsing the whole envelope; anything else is parsed.
 */
export function envelopeId(envelope: string): string | undefined {
  if (envelope.startsWith('{"id":"')) {
    const end = envelope.indexOf('"', 7);
    const id = envelope.slice(7, end);
    if (end > 7 && !id.includes('\\')) return id;
  }
  const parsed = JSON.parse(envelope) as { id?: unknown };
  return typeof parsed.id === 'string' ? parsed.id : undefined;
}
