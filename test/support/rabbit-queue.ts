import { connect, type Channel, type ChannelModel } from 'amqplib';

export interface Received {
  routingKey: string;
  messageId: string | undefined;
  persistent: boolean;
  headers: Record<string, unknown>;
  body: string;
}

/** An exclusive queue bound with `#` to a (declared, durable topic) exchange, keeping every message it gets. */
export class RabbitQueue {
  readonly received: Received[] = [];

  private constructor(
    private readonly model: ChannelModel,
    private readonly channel: Channel,
  ) {}

  static async bind(url: string, exchange: string, type = 'topic'): Promise<RabbitQueue> {
    const model = await connect(url);
    const channel = await model.createChannel();
    await channel.assertExchange(exchange, type, { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, exchange, '#');
    const q = new RabbitQueue(model, channel);
    await channel.consume(
      queue,
      (m) => {
        if (!m) return;
        q.received.push({
          routingKey: m.fields.routingKey,
          messageId: m.properties.messageId,
          persistent: m.properties.deliveryMode === 2,
          headers: m.properties.headers ?? {},
          body: m.content.toString(),
        });
      },
      { noAck: true },
    );
    return q;
  }

  async close(): Promise<void> {
    await this.model.close().catch(() => undefined);
  }
}
