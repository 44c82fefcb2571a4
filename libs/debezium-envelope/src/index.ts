export {
  DEBEZIUM_SOURCE_VERSION,
  envelopeTable,
  lsnNumber,
  toDebezium,
  type DebeziumOptions,
  type EnvelopeTable,
} from './debezium-envelope';
export { UNAVAILABLE, type DecimalHandling } from './debezium-values';
export type { ConnectSchema } from './connect-schema';
export { EnvelopeRenderer } from './envelope-renderer';
