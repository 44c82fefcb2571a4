import { EnvelopeRenderer } from '@tributary/debezium-envelope';
import type { SinkKind } from '@tributary/sink-contract';
import { NatsSink } from './nats.sink';

/** `sink.type: nats`: NATS JetStream, one subject per topic and partition, exactly once (docs/sinks.md). */
export const natsSinkKind: SinkKind<'nats'> = {
  type: 'nats',
  create: (group, deps) =>
    new NatsSink({
      group: group.name,
      config: group.sink,
      report: deps.report,
      metrics: deps.metrics,
      envelopes: new EnvelopeRenderer(group.sink.envelope, deps.pool),
    }),
};
