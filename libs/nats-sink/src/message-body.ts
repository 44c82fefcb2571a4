import type { ConsumedMessage } from '@tributary/sink-contract';

/**
 * The payload of one published message: the envelope text as captured. The one place a message's body
 * is made, so that another envelope format is one change here.
 */
export function messageBody(message: ConsumedMessage): string | Buffer {
  return message.envelope;
}
