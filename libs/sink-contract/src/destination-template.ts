import type { ConsumedMessage } from './consumed-message';

/** The envelope fields a template can name besides the message's topic and partition. */
interface EnvelopeNames {
  op?: string;
  source?: { name?: string; schema?: string; table?: string };
}

/**
 * A broker destination (stream key, routing key, subject) made from a template such as
 * `{source}.{schema}.{table}.{op}`, or the message's `route` when the group's route gave one. The
 * envelope is parsed only when the template names one of its fields.
 */
export class DestinationTemplate {
  private readonly needsEnvelope: boolean;

  constructor(private readonly template: string) {
    this.needsEnvelope = /\{(source|schema|table|op)\}/.test(template);
  }

  /** True when the destination depends on the topic and partition only (one per partition). */
  get perPartition(): boolean {
    return !this.needsEnvelope;
  }

  render(message: ConsumedMessage): string {
    if (message.route !== undefined) return message.route;
    const envelope = this.needsEnvelope ? (JSON.parse(message.envelope) as EnvelopeNames) : {};
    return this.template.replace(/\{(topic|partition|source|schema|table|op)\}/g, (_, name: string) => {
      switch (name) {
        case 'topic':
          return message.topic;
        case 'partition':
          return String(message.partition);
        case 'op':
          return envelope.op ?? '';
        case 'source':
          return envelope.source?.name ?? '';
        default:
          return envelope.source?.[name as 'schema' | 'table'] ?? '';
      }
    });
  }
}
