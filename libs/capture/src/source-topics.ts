import type { SourceConfig, TributaryConfig } from '@tributary/config';
import type { TopicSettings } from '@tributary/topic-log';

/** The topic of a source's table: its own `topic`, its schema entry's, or `<source>.<schema>.<table>`. */
export function topicOf(source: SourceConfig, schema: string, table: string): string {
  const exact = source.tables.find((t) => t.schema === schema && t.table === table && t.topic);
  const wildcard = source.tables.find((t) => t.schema === schema && t.table === '*' && t.topic);
  return exact?.topic ?? wildcard?.topic ?? `${source.name}.${schema}.${table}`;
}

/** Settings for a topic capture creates: the configured topic's, else the defaults. */
export function settingsOf(config: TributaryConfig, topic: string): TopicSettings {
  const configured = config.topics.find((t) => t.name === topic);
  if (configured) return configured;
  const d = config.topicDefaults;
  return { partitions: d.partitions, retentionMs: d.retentionMs, retentionBytes: d.retentionBytes };
}
