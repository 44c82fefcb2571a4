import { redactUrl, streamSubjectsFor, type NatsSinkConfig } from '@tributary/config';
import type { EnvelopeRenderer } from '@tributary/debezium-envelope';
import {
  envelopeId,
  type ConsumedMessage,
  type DeliveryContext,
  type Sink,
  type SinkEvent,
  type SinkMetrics,
} from '@tributary/sink-contract';
import { JS_CODES, jetStreamCode, NatsSinkError } from './nats-errors';
import { describeFailure } from './nats-failures';
import { NatsLink, type ReadyLink } from './nats-link';
import { SubjectTemplate } from './subject-template';
import { messageHeaders, readPosition, type SubjectPosition } from './subject-position';

export interface NatsSinkOptions {
  group: string;
  config: NatsSinkConfig;
  report?: (event: SinkEvent) => Promise<void>;
  metrics?: SinkMetrics;
  /** Renders the bodies in the sink's `envelope` format. */
  envelopes?: EnvelopeRenderer;
}

/** Tries of one message when other writers keep moving its subject on (a fenced member finishing its batch). */
const MAX_TRIES = 5;

const TRUNCATE = /^\s*\{\s*"id"\s*:\s*"(?:[^"\\]|\\.)*"\s*,\s*"op"\s*:\s*"t"/;

/**
 * Publishes a group's messages to a JetStream stream, one subject per topic and partition, exactly
 * once whatever the duplicate window: every publish names the sequence the subject's last message has
 * (`Nats-Expected-Last-Subject-Sequence`), so a message lands only right after the one before it, and
 * the last message's offset header says where the partition is. A crash, a lost acknowledgement or a
 * fenced member that still publishes makes the next publish fail the expectation; the sink then reads
 * the subject's last message again and skips what is already there. `Nats-Msg-Id` (the envelope id)
 * lets the stream drop a repeat within its window too. A partition's messages go one after the other
 * (per-key order and the expectation need it); partitions go in parallel up to `concurrency`.
 */
export class NatsSink implements Sink {
  readonly kind = 'nats';
  readonly maxBatchSize: number;
  readonly concurrency: number;
  private readonly link: NatsLink;
  private readonly subjects: SubjectTemplate;
  /** Each subject's last message as this sink knows it; dropped after any doubt (a failure, a duplicate). */
  private readonly positions = new Map<string, SubjectPosition>();
  private problem?: string;

  constructor(private readonly options: NatsSinkOptions) {
    const { config } = options;
    this.maxBatchSize = config.batchSize;
    this.concurrency = config.concurrency;
    this.subjects = new SubjectTemplate(config.subject);
    this.link = new NatsLink(config, options.group, config.streamSubjects ?? [streamSubjectsFor(config.subject)]);
  }

  async deliver(batch: ConsumedMessage[], context?: DeliveryContext): Promise<void> {
    if (batch.length === 0) return;
    const first = batch[0];
    try {
      const link = await this.link.ready();
      const bodies = this.options.envelopes ? await this.options.envelopes.render(batch) : batch.map((m) => m.envelope);
      for (const [i, m] of batch.entries()) {
        if (context?.signal.aborted) throw new Error('delivery called off');
        const body = bodies[i];
        if (m.route !== undefined) await this.publishRouted(link, m, body);
        else await this.publishInOrder(link, m, body);
      }
    } catch (error) {
      const failure = context?.signal.aborted ? (error as Error) : describeFailure(error, `publishing to NATS`);
      if (failure instanceof NatsSinkError && failure.blockPartition) await this.reportProblem(first, failure.message);
      throw failure;
    }
    if (this.problem !== undefined) await this.reportRecovered(first);
  }

  /**
   * Where the partition resumes: after the offset of its subject's last message. Undefined when the
   * subject is empty, and also when the broker cannot be asked now: `deliver` reads the subject again
   * before it publishes, so nothing is written twice either way, and the partition's status says why.
   */
  async storedPosition(
    topic: string,
    partition: number,
  ): Promise<{ nextOffset: bigint; topicIncarnation: string | null } | undefined> {
    try {
      const link = await this.link.ready();
      const subject = this.subjects.render(topic, partition);
      const at = await readPosition(link.jsm, this.options.config.stream, subject, this.owner(topic, partition));
      this.positions.set(subject, at);
      return at.offset < 0n ? undefined : { nextOffset: at.offset + 1n, topicIncarnation: at.incarnation };
    } catch (error) {
      const failure = describeFailure(error, 'reading the stream');
      await this.reportProblem({ topic, partition }, failure.message);
      return undefined;
    }
  }

  async close(): Promise<void> {
    await this.link.close();
  }

  /** One message on its partition's subject, right after the message before it; skipped if already there. */
  private async publishInOrder(link: ReadyLink, m: ConsumedMessage, body: string): Promise<void> {
    const subject = this.subjects.render(m.topic, m.partition);
    for (let tries = 1; tries <= MAX_TRIES; tries++) {
      const at = this.positions.get(subject) ?? (await this.read(link, subject, m));
      if (alreadyThere(at, m)) return;
      const started = performance.now();
      try {
        const ack = await link.js.publish(subject, body, {
          msgID: msgId(m),
          headers: messageHeaders(this.options.group, m),
          expect: { lastSubjectSequence: at.seq },
          timeout: this.options.config.publishTimeoutMs,
        });
        this.options.metrics?.latency((performance.now() - started) / 1_000);
        if (ack.duplicate) return await this.confirmDuplicate(link, subject, m, ack.seq);
        this.options.metrics?.published(1);
        this.positions.set(subject, { seq: ack.seq, offset: m.offset, incarnation: m.topicIncarnation ?? null });
        return;
      } catch (error) {
        this.positions.delete(subject);
        this.options.metrics?.failed(1);
        // Someone else wrote after what this sink knew (a fenced member, or a publish whose ack was lost):
        // read the subject again, and what is there already is skipped.
        if (jetStreamCode(error) === JS_CODES.wrongLastSequence) continue;
        if (jetStreamCode(error) === JS_CODES.streamNotFound) this.link.recheck();
        throw describeFailure(error, `publishing ${m.topic}[${m.partition}]@${m.offset} to ${subject}`);
      }
    }
    throw new NatsSinkError(
      `publishing ${m.topic}[${m.partition}]@${m.offset} to ${subject}: the subject kept moving on (${MAX_TRIES} tries)`,
      'unreachable',
    );
  }

  /**
   * A message the group's route sends to a subject of its own: such a subject may take several
   * partitions, so no expectation can hold; the stream drops a repeat within its duplicate window.
   */
  private async publishRouted(link: ReadyLink, m: ConsumedMessage, body: string): Promise<void> {
    const subject = m.route as string;
    const started = performance.now();
    try {
      const ack = await link.js.publish(subject, body, {
        msgID: msgId(m),
        headers: messageHeaders(this.options.group, m),
        timeout: this.options.config.publishTimeoutMs,
      });
      this.options.metrics?.latency((performance.now() - started) / 1_000);
      if (!ack.duplicate) this.options.metrics?.published(1);
    } catch (error) {
      this.options.metrics?.failed(1);
      throw describeFailure(error, `publishing ${m.topic}[${m.partition}]@${m.offset} to ${subject} (routed)`);
    }
  }

  /**
   * The stream took the message for one it has (its `Nats-Msg-Id` within the window): fine if the
   * subject does hold it; if not, the id belongs to another message and publishing it again would not help.
   */
  private async confirmDuplicate(link: ReadyLink, subject: string, m: ConsumedMessage, seq: number): Promise<void> {
    this.positions.delete(subject);
    if (alreadyThere(await this.read(link, subject, m), m)) return;
    throw new NatsSinkError(
      `publishing ${m.topic}[${m.partition}]@${m.offset} to ${subject}: the stream holds its Nats-Msg-Id ${msgId(m)} ` +
        `already (sequence ${seq}) for another message`,
      'misconfigured',
    );
  }

  private async read(link: ReadyLink, subject: string, m: ConsumedMessage): Promise<SubjectPosition> {
    const at = await readPosition(link.jsm, this.options.config.stream, subject, this.owner(m.topic, m.partition));
    this.positions.set(subject, at);
    return at;
  }

  private owner(topic: string, partition: number): { group: string; topic: string; partition: number } {
    return { group: this.options.group, topic, partition };
  }

  /**
   * The first problem since publishing last worked is reported (a group event), not every retry of every
   * partition: the partitions' status always shows the current one.
   */
  private async reportProblem(at: { topic: string; partition: number }, detail: string): Promise<void> {
    if (this.problem !== undefined) return;
    this.problem = detail;
    await this.report({ topic: at.topic, partition: at.partition, kind: 'nats_problem', detail });
  }

  private async reportRecovered(at: { topic: string; partition: number }): Promise<void> {
    const was = this.problem;
    this.problem = undefined;
    await this.report({
      topic: at.topic,
      partition: at.partition,
      kind: 'nats_recovered',
      detail: `publishing to ${redactUrl(this.options.config.url)} again (was: ${was})`,
    });
  }

  private async report(event: SinkEvent): Promise<void> {
    await this.options.report?.(event).catch(() => undefined); // an event lost is not worth a failed delivery
  }
}

/** Whether the subject's last message is this message or a later one of the same topic incarnation. */
function alreadyThere(at: SubjectPosition, m: ConsumedMessage): boolean {
  if (at.offset < m.offset) return false;
  return at.incarnation === null || !m.topicIncarnation || at.incarnation === m.topicIncarnation;
}

/**
 * `Nats-Msg-Id`: the envelope id. A truncate is written to every partition of its table under one
 * envelope id; its partition is added so the stream does not take one partition's copy for another's.
 */
export function msgId(m: ConsumedMessage): string {
  const id = envelopeId(m);
  return TRUNCATE.test(m.envelope) ? `${id}@${m.partition}` : id;
}
