import { EnvelopeRenderer } from '@tributary/debezium-envelope';
import type { SinkKind } from '@tributary/sink-contract';
import { RedisSink } from './redis.sink';

/** `sink.type: redis`: Redis Streams, one stream per topic partition, exactly once (docs/sinks.md). */
export const redisSinkKind: SinkKind<'redis'> = {
  type: 'redis',
  create: (group, deps) =>
    new RedisSink({
      group: group.name,
      config: group.sink,
      report: deps.report,
      metrics: deps.metrics,
      envelopes: new EnvelopeRenderer(group.sink.envelope, deps.pool),
    }),
};
