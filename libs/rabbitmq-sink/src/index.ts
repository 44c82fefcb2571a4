export { rabbitmqSinkSchema, type RabbitmqSinkConfig } from '@tributary/config';
export { RabbitmqNackError, RabbitmqSink, type RabbitmqSinkOptions } from './rabbitmq.sink';
export { RabbitmqUnavailableError } from './amqp-connection';
export { rabbitmqSinkKind } from './rabbitmq-sink-kind';
