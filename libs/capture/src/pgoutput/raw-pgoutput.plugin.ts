import type { Client } from 'pg';
import { PgoutputPlugin } from 'pg-logical-replication';
import { decodePgoutput } from './pgoutput.decoder';
import type { PgoutputMessage } from './pgoutput.types';

type PgoutputOptions = ConstructorParameters<typeof PgoutputPlugin>[0];

/**
 * pg-logical-replication's pgoutput plugin with our own decoder: the stock parser turns unchanged
 * TOAST values into undefined and timestamps into millisecond Dates, losing what we must keep.
 */
export class RawPgoutputPlugin {
  private readonly stock: PgoutputPlugin;

  constructor(readonly options: PgoutputOptions) {
    this.stock = new PgoutputPlugin(options);
  }

  get name(): string {
    return this.stock.name;
  }

  start(client: Client, slotName: string, lastLsn: string): Promise<unknown> {
    return this.stock.start(client, slotName, lastLsn);
  }

  parse(buffer: Buffer): PgoutputMessage {
    return decodePgoutput(buffer);
  }
}
