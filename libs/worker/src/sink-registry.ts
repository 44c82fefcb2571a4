import type { GroupConfig } from '@tributary/config';
import { mysqlSinkKind, postgresSinkKind } from '@tributary/db-sink';
import { logSinkKind } from '@tributary/log-sink';
import { natsSinkKind } from '@tributary/nats-sink';
import { rabbitmqSinkKind } from '@tributary/rabbitmq-sink';
import { redisSinkKind } from '@tributary/redis-sink';
import type { GroupWithSink, Sink, SinkDeps, SinkKind, SinkType } from '@tributary/sink-contract';
import { webhookSinkKind } from '@tributary/webhook-sink';

/**
 * Every sink kind the worker runs, by `sink.type`. A new kind is a lib exporting a `SinkKind` and one
 * line here; the type makes a `sink.type` of the configuration schema without a kind a compile error.
 */
export const SINK_KINDS: { readonly [T in SinkType]: SinkKind<T> } = {
  log: logSinkKind,
  postgres: postgresSinkKind,
  mysql: mysqlSinkKind,
  webhook: webhookSinkKind,
  nats: natsSinkKind,
  redis: redisSinkKind,
  rabbitmq: rabbitmqSinkKind,
};

/** Builds the sink a group's configuration names. */
export function createSink(group: GroupConfig, deps: SinkDeps): Sink {
  const type = group.sink.type;
  if (type === 'pull') throw new Error(`group ${group.name} is consumed over the pull API; no worker runs it`);
  return create(type, group as GroupWithSink<typeof type>, deps);
}

function create<T extends SinkType>(type: T, group: GroupWithSink<T>, deps: SinkDeps): Sink {
  const kind: SinkKind<T> = SINK_KINDS[type];
  return kind.create(group, deps);
}
