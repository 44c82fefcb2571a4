import type { ConsumedMessage } from './consumed-message';

/**
 * The body a broker sink publishes for a message: today the envelope text exactly as captured. The one
 * place a body is made, so another envelope shape (a Debezium-style one) is a change here only.
 */
export function messageBody(message: ConsumedMessage): string | Buffer {
  return message.envelope;
}
