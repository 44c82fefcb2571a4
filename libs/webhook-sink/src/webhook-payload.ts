import { envelopeId, type ConsumedMessage } from '@tributary/sink-contract';

export interface WebhookPayload {
  /** `webhook-id`: the envelope id (a batch: `<first id>..<last id>`); the same on every retry and replay. */
  id: string;
  /** The request body as text (signed and sent as UTF-8): envelopes are text already, so no copy is made here. */
  body: string;
}

/** The envelope's own id, else one made of the message's position (the sink contract's `envelopeId`). */
export const messageId = envelopeId;

/**
 * The request of one delivery: with `batched` false a single message, its envelope verbatim (or its
 * `bodies` entry, the subscription's envelope format) as the body; batched, a JSON array of them (even of
 * one). The id is always our envelope's, so a Debezium-shaped body keeps the same `webhook-id`.
 */
export function buildPayload(messages: ConsumedMessage[], batched: boolean, bodies?: readonly string[]): WebhookPayload {
  if (!batched) {
    if (messages.length !== 1) throw new Error(`one message per request, got ${messages.length}`);
    return { id: messageId(messages[0]), body: bodies?.[0] ?? messages[0].envelope };
  }
  const first = messageId(messages[0]);
  const last = messageId(messages[messages.length - 1]);
  return {
    id: messages.length === 1 ? `${first}..${first}` : `${first}..${last}`,
    body: `[${(bodies ?? messages.map((m) => m.envelope)).join(',')}]`,
  };
}
