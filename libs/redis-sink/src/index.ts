export { redisSinkSchema, type RedisSinkConfig } from '@tributary/config';
export { RedisSink, RedisStreamError, type RedisSinkOptions } from './redis.sink';
export { RedisUnavailableError } from './redis-connection';
export { redisSinkKind } from './redis-sink-kind';
