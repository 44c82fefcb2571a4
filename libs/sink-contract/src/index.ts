export type { ConsumedMessage } from './consumed-message';
export { envelopeId } from './envelope-id';
export type { DeliveryContext, Sink, SinkFailure } from './sink';
export type { SinkMetrics } from './sink-metrics';
export type { GroupWithSink, SinkConfig, SinkDeps, SinkEvent, SinkKind, SinkType } from './sink-kind';
export { DestinationTemplate } from './destination-template';
export { DestinationHealth } from './destination-health';
