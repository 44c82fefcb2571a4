import { z } from 'zod';

/**
 * How a sink writes a message: `tributary`, our envelope verbatim (docs/envelope.md); `debezium`, the value
 * Debezium's PostgreSQL connector writes for the same change; `debezium-with-schema`, the same with Kafka
 * Connect's `schema` beside it as its JSON converter writes with `schemas.enable=true`
 * (docs/envelope.md#debezium-envelopes).
 */
export const envelopeFormatSchema = z.enum(['tributary', 'debezium', 'debezium-with-schema']).default('tributary');

export type EnvelopeFormat = z.infer<typeof envelopeFormatSchema>;
