import type { Client } from 'pg';
import type { Duplex } from 'node:stream';
import { PgoutputPlugin } from 'pg-logical-replication';
import { decodePgoutput } from './pgoutput-decoder';
import type { PgoutputMessage } from './pgoutput-types';

type PgoutputOptions = ConstructorParameters<typeof PgoutputPlugin>[0];

/**
 * pg-logical-replication's pgoutput plugin with our own decoder: the stock parser turns unchanged
 * TOAST values into undefined and timestamps into millisecond Dates, losing what we must keep.
 *
 * It also holds the replication connection's socket, so the session applies backpressure itself: the
 * library's own flow control awaits two promises per message, which costs more than decoding it.
 */
export class RawPgoutputPlugin {
  private readonly stock: PgoutputPlugin;
  private socket?: Duplex;

  constructor(readonly options: PgoutputOptions) {
    this.stock = new PgoutputPlugin(options);
  }

  get name(): string {
    return this.stock.name;
  }

  start(client: Client, slotName: string, lastLsn: string): Promise<unknown> {
    this.socket = client.connection.stream;
    return this.stock.start(client, slotName, lastLsn);
  }

  parse(buffer: Buffer): PgoutputMessage {
    return decodePgoutput(buffer);
  }

  /** Stops reading the stream (the server waits once the socket's buffers fill) until `resume`. */
  pause(): void {
    this.socket?.pause();
  }

  resume(): void {
    this.socket?.resume();
  }
}
