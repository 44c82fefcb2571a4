export type { ConsumedMessage } from './consumed-message';
export type { DeliveryContext, Sink, SinkFailure } from './sink';
export type { GroupWithSink, SinkConfig, SinkDeps, SinkEvent, SinkKind, SinkMetrics, SinkType } from './sink-kind';
export { DestinationTemplate } from './destination-template';
export { messageBody } from './message-body';
