import type { JetStreamManager } from '@nats-io/jetstream';
import { headers, type MsgHdrs } from './nats-client';
import type { ConsumedMessage } from '@tributary/sink-contract';
import { NatsSinkError } from './nats-errors';

/** The headers every published message carries: where it comes from, so the stream says where a partition is. */
export const HEADERS = {
  group: 'Tributary-Group',
  topic: 'Tributary-Topic',
  partition: 'Tributary-Partition',
  offset: 'Tributary-Offset',
  incarnation: 'Tributary-Topic-Incarnation',
  key: 'Tributary-Key',
} as const;

/** The last message of a partition's subject: its stream sequence and the offset it carries (-1: none yet). */
export interface SubjectPosition {
  seq: number;
  offset: bigint;
  incarnation: string | null;
}

export const EMPTY_SUBJECT: SubjectPosition = { seq: 0, offset: -1n, incarnation: null };

/** The headers of a message published by `group`. */
export function messageHeaders(group: string, message: ConsumedMessage): MsgHdrs {
  const h = headers();
  h.set(HEADERS.group, group);
  h.set(HEADERS.topic, message.topic);
  h.set(HEADERS.partition, String(message.partition));
  h.set(HEADERS.offset, String(message.offset));
  if (message.topicIncarnation) h.set(HEADERS.incarnation, message.topicIncarnation);
  // A key is JSON text: never a line break in it, so it fits a header line.
  if (message.key !== null) h.set(HEADERS.key, message.key);
  return h;
}

/**
 * Where a partition's subject is: read from the last message on it. That message must be this group's
 * and this partition's (its headers say so): a subject shared with another writer would make its
 * sequence, and so exactly once, meaningless, and is refused loudly.
 */
export async function readPosition(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  owner: { group: string; topic: string; partition: number },
): Promise<SubjectPosition> {
  const last = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  if (!last) return EMPTY_SUBJECT;
  const h = last.header;
  const offset = h?.get(HEADERS.offset);
  const group = h?.get(HEADERS.group);
  const topic = h?.get(HEADERS.topic);
  const partition = h?.get(HEADERS.partition);
  if (
    !offset ||
    !/^\d+$/.test(offset) ||
    group !== owner.group ||
    topic !== owner.topic ||
    partition !== String(owner.partition)
  ) {
    const writer = group ? `group "${group}", ${topic}[${partition}]` : 'a writer other than Tributary';
    throw new NatsSinkError(
      `subject ${subject} of stream "${stream}" holds a message of ${writer} (sequence ${last.seq}); ` +
        `each partition needs a subject of its own: give group "${owner.group}" another subject template or stream`,
      'misconfigured',
    );
  }
  return { seq: last.seq, offset: BigInt(offset), incarnation: h.get(HEADERS.incarnation) || null };
}
