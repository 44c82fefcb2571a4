export { LogSink } from './log.sink';
export { logSinkKind } from './log-sink-kind';
