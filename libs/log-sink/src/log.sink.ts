import type { ConsumedMessage, Sink } from '@tributary/sink-contract';

/** Writes each message as one JSON line on stdout (the envelope verbatim), for trying things out and for tests. */
export class LogSink implements Sink {
  readonly kind = 'log';

  constructor(
    private readonly group: string,
    private readonly write: (text: string) => boolean = (t) => process.stdout.write(t),
  ) {}

  async deliver(batch: ConsumedMessage[]): Promise<void> {
    let text = '';
    for (const m of batch) {
      text +=
        `{"group":${JSON.stringify(this.group)},"topic":${JSON.stringify(m.topic)},"partition":${m.partition},` +
        `"offset":${m.offset},"key":${JSON.stringify(m.key)},"envelope":${m.envelope}}\n`;
    }
    if (!this.write(text)) await new Promise((resolve) => process.stdout.once('drain', resolve));
  }
}
