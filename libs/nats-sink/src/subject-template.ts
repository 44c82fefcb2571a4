import { NatsSinkError } from './nats-errors';

/** A subject NATS takes for a publish: non-empty tokens without whitespace or wildcards. */
const SUBJECT = /^[^\s.*>]+(\.[^\s.*>]+)*$/;

/**
 * A group's subject template (validated by the configuration schema): `{topic}`, `{partition}`, and
 * `{source}`, `{schema}`, `{table}` as the first, second and remaining dot-separated parts of the topic's
 * name (`src.public.accounts` is source `src`, schema `public`, table `accounts`). A subject depends on
 * the topic and partition only, so each subject holds exactly one partition of one topic.
 */
export class SubjectTemplate {
  private readonly cache = new Map<string, string>();

  constructor(private readonly template: string) {}

  render(topic: string, partition: number): string {
    const cacheKey = `${partition}|${topic}`;
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) return cached;
    const parts = topic.split('.');
    const needsParts = /\{(source|schema|table)\}/.test(this.template);
    if (needsParts && parts.length < 3) {
      throw new NatsSinkError(
        `topic "${topic}" has no {source}.{schema}.{table} parts for the subject template "${this.template}": use {topic}`,
        'misconfigured',
      );
    }
    const values: Record<string, string> = {
      topic,
      partition: String(partition),
      source: parts[0],
      schema: parts[1],
      table: parts.slice(2).join('.'),
    };
    const subject = this.template.replace(/\{(\w+)\}/g, (_, name: string) => values[name]);
    if (!SUBJECT.test(subject)) {
      throw new NatsSinkError(`topic "${topic}" gives the subject "${subject}", which NATS does not take`, 'misconfigured');
    }
    this.cache.set(cacheKey, subject);
    return subject;
  }
}
