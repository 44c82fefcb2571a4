import { redactUrl } from '@tributary/config';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';

/** The broker cannot be used now (unreachable, credentials refused, the exchange missing): the destination is out, not a message. */
export class RabbitmqUnavailableError extends Error {
  readonly blockPartition = true;
  constructor(message: string) {
    super(message);
    this.name = 'RabbitmqUnavailableError';
  }
}

export interface ExchangeSpec {
  name: string;
  type: string;
  /** true: declared durable if missing; false: checked, and missing is an error. */
  declare: boolean;
}

/** AMQP's reply codes for a closed channel (amqplib sets them as `code`). */
const NOT_FOUND = 404;
const ACCESS_REFUSED = 403;

/**
 * One connection and one confirm channel, opened when a delivery needs them and dropped when either
 * closes: the next delivery opens them again (the runtime's retries pace the reconnects). The exchange
 * is declared or checked on every new channel, so a deleted exchange is noticed on reconnect.
 */
export class AmqpConnection {
  private opening?: Promise<ConfirmChannel>;
  private model?: ChannelModel;

  constructor(
    private readonly url: string,
    private readonly exchange: ExchangeSpec,
    private readonly timeoutMs: number,
  ) {}

  get address(): string {
    return redactUrl(this.url);
  }

  channel(): Promise<ConfirmChannel> {
    this.opening ??= this.open().catch((error: Error) => {
      this.opening = undefined;
      throw this.explain(error);
    });
    return this.opening;
  }

  /** Ends the connection (after a confirm timeout: what is unconfirmed is published again on the next). */
  async reset(): Promise<void> {
    const model = this.model;
    this.opening = undefined;
    this.model = undefined;
    await model?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.reset();
  }

  private async open(): Promise<ConfirmChannel> {
    // Refused credentials end the handshake here, before any exchange is involved.
    const model = await connect(this.url, { timeout: this.timeoutMs }).catch((error: Error) => {
      throw this.unavailableNow(error.message);
    });
    const dropped = () => {
      if (this.model === model) {
        this.model = undefined;
        this.opening = undefined;
      }
    };
    model.on('error', () => undefined); // 'close' follows; the next delivery reconnects
    model.on('close', dropped);
    this.model = model;
    try {
      const channel = await model.createConfirmChannel();
      channel.on('error', () => undefined);
      channel.on('close', dropped);
      const { name, type, declare } = this.exchange;
      if (declare) await channel.assertExchange(name, type, { durable: true });
      else await channel.checkExchange(name);
      return channel;
    } catch (error) {
      dropped();
      await model.close().catch(() => undefined);
      throw error;
    }
  }

  unavailableNow(cause: string): RabbitmqUnavailableError {
    return new RabbitmqUnavailableError(`rabbitmq at ${this.address} is unavailable: ${cause}`);
  }

  private explain(error: Error): RabbitmqUnavailableError {
    if (error instanceof RabbitmqUnavailableError) return error;
    const code = (error as { code?: unknown }).code;
    const { name, declare } = this.exchange;
    if (code === NOT_FOUND && !declare)
      return new RabbitmqUnavailableError(
        `exchange "${name}" does not exist at ${this.address} (declare: false: it is only checked): ${error.message}`,
      );
    if (code === ACCESS_REFUSED)
      return new RabbitmqUnavailableError(`no permission on exchange "${name}" at ${this.address}: ${error.message}`);
    return this.unavailableNow(error.message);
  }
}
