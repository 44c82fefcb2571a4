import type { SinkKind } from '@tributary/sink-contract';
import { LogSink } from './log.sink';

/** `sink.type: log`: every message as one JSON line on stdout. */
export const logSinkKind: SinkKind<'log'> = { type: 'log', create: (group) => new LogSink(group.name) };
