import { connect } from 'amqplib';
import type { BrokerTarget } from '../support/broker-bench';

const URL = process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
/** Publishes a plain client keeps unconfirmed at once before it waits for the confirms. */
const WINDOW = 1_000;

const names = (runId: string) => ({ exchange: `tributary-bench-${runId}`, queue: `tributary-bench-${runId}` });

/** RabbitMQ: a durable topic exchange with one durable queue bound to `#`, which both publishers fill. */
export const target: BrokerTarget = {
  name: 'RabbitMQ',

  async setUp(runId) {
    const { exchange, queue } = names(runId);
    const model = await connect(URL);
    try {
      const channel = await model.createChannel();
      await channel.assertExchange(exchange, 'topic', { durable: true });
      await channel.assertQueue(queue, { durable: true });
      await channel.bindQueue(queue, exchange, '#');
    } finally {
      await model.close();
    }
  },

  sink: (runId) => ({ type: 'rabbitmq', url: URL, exchange: names(runId).exchange, declare: false }),

  async plainPublish(runId, bodies) {
    const model = await connect(URL);
    try {
      const channel = await model.createConfirmChannel();
      for (let i = 0; i < bodies.length; i += WINDOW) {
        for (const body of bodies.slice(i, i + WINDOW)) {
          if (!channel.publish(names(runId).exchange, 'plain', Buffer.from(body), { persistent: true }))
            await new Promise((resolve) => channel.once('drain', resolve));
        }
        await channel.waitForConfirms();
      }
    } finally {
      await model.close();
    }
  },

  /** Ready messages in the run's queue: what a consumer has taken (and acknowledged) is no longer counted. */
  async readCount(runId) {
    const model = await connect(URL);
    try {
      return (await (await model.createChannel()).checkQueue(names(runId).queue)).messageCount;
    } finally {
      await model.close();
    }
  },

  async consume(runId, onBody) {
    const model = await connect(URL);
    const channel = await model.createChannel();
    await channel.prefetch(1_000);
    const { consumerTag } = await channel.consume(
      names(runId).queue,
      (m) => {
        if (!m) return;
        onBody(m.content.toString());
        channel.ack(m);
      },
      { noAck: false },
    );
    return async () => {
      await channel.cancel(consumerTag);
      await model.close();
    };
  },

  async tearDown(runId) {
    const { exchange, queue } = names(runId);
    const model = await connect(URL);
    try {
      const channel = await model.createChannel();
      await channel.deleteQueue(queue);
      await channel.deleteExchange(exchange);
    } finally {
      await model.close();
    }
  },
};
