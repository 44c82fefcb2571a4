import { EnvelopeRenderer } from '@tributary/debezium-envelope';
import type { SinkKind } from '@tributary/sink-contract';
import { RabbitmqSink } from './rabbitmq.sink';

/** `sink.type: rabbitmq`: persistent messages to an exchange, publisher confirms, at least once (docs/sinks.md). */
export const rabbitmqSinkKind: SinkKind<'rabbitmq'> = {
  type: 'rabbitmq',
  create: (group, deps) =>
    new RabbitmqSink({
      group: group.name,
      config: group.sink,
      report: deps.report,
      metrics: deps.metrics,
      envelopes: new EnvelopeRenderer(group.sink.envelope, deps.pool),
    }),
};
