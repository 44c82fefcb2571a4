import type { SinkEvent } from './sink-kind';

/**
 * A destination's outage as group events: the first failure of a partition since it last worked is
 * reported once (not every retry), and so is its recovery. Recording an event never fails a delivery.
 */
export class DestinationHealth {
  private readonly down = new Set<string>();

  constructor(private readonly report: ((event: SinkEvent) => Promise<void>) | undefined) {}

  async failing(topic: string, partition: number, detail: string, kind = 'sink_unavailable'): Promise<void> {
    const id = `${topic}[${partition}]`;
    if (this.down.has(id)) return;
    this.down.add(id);
    await this.record({ topic, partition, kind, detail });
  }

  async working(topic: string, partition: number, detail: string): Promise<void> {
    if (!this.down.delete(`${topic}[${partition}]`)) return;
    await this.record({ topic, partition, kind: 'sink_recovered', detail });
  }

  /** An event of the sink's own (not an outage), recorded the same careful way. */
  async record(event: SinkEvent): Promise<void> {
    await this.report?.(event).catch(() => undefined);
  }
}
