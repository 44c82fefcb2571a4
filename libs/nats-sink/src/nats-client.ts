import type { JetStreamPublishOptions } from '@nats-io/jetstream';
import * as transport from '@nats-io/transport-node';

/** A message's headers, as a publish takes them. */
export type MsgHdrs = JetStreamPublishOptions['headers'];

/** What the sink uses of a connection. */
export interface NatsConnection {
  close(): Promise<void>;
  isClosed(): boolean;
}

/**
 * The node transport re-exports nats-core's helpers and types through a package subpath
 * (`@nats-io/nats-core/internal`) that this repository's `commonjs` module resolution does not follow
 * for types (they exist at run time): what the sink uses of them is typed once, here.
 */
interface CoreHelpers {
  headers: () => MsgHdrs;
  nanos: (millis: number) => number;
  connect: (options: transport.NodeConnectionOptions) => Promise<NatsConnection>;
}

export const { headers, nanos, connect } = transport as unknown as CoreHelpers;
