export { natsSinkKind } from './nats-sink-kind';
export { msgId, NatsSink, type NatsSinkOptions } from './nats.sink';
export { NatsSinkError } from './nats-errors';
export { HEADERS as NATS_HEADERS } from './subject-position';
export { SubjectTemplate } from './subject-template';
export { covers as subjectFilterCovers } from './stream-setup';
