export type { ConsumedMessage } from './consumed-message';
export type { DeliveryContext, Sink, SinkFailure } from './sink';
export type { GroupWithSink, SinkConfig, SinkDeps, SinkEvent, SinkKind, SinkType } from './sink-kind';
