import { Gauge, type Registry } from 'prom-client';
import type { Pool } from 'pg';
import { CatalogRepository } from '@tributary/catalog';
import type { TributaryConfig } from '@tributary/config';
import { SourceReadings } from './source-readings';

/**
 * Gauges read from the platform database at scrape time: the same answer from every process that serves
 * /metrics. The sources' gauges come from the last background reading (SourceReadings), so scrapes cost
 * the sources nothing.
 */
export class DatabaseMetrics {
  private readonly groupLag: Gauge;
  private readonly groupBlocked: Gauge;
  private readonly groupEvents: Gauge;
  private readonly deadLetters: Gauge;
  private readonly endOffset: Gauge;
  private readonly captureLag: Gauge;
  private readonly sourceUp: Gauge;
  private readonly sources: SourceReadings;

  constructor(
    registry: Registry,
    private readonly pool: Pool,
    config: TributaryConfig,
  ) {
    this.sources = new SourceReadings(new CatalogRepository(pool), config);
    const gauge = (name: string, help: string, labelNames: string[]) =>
      new Gauge({ name, help, labelNames, registers: [registry] });
    this.groupLag = gauge('tributary_group_lag_messages', 'Log end offset minus committed offset', [
      'group',
      'topic',
      'partition',
    ]);
    this.groupBlocked = gauge('tributary_group_partition_blocked', '1 when a partition waits on a failing message', [
      'group',
      'topic',
      'partition',
      'status',
    ]);
    this.groupEvents = gauge('tributary_group_events_total', 'Group events such as offset resets by retention', [
      'group',
      'kind',
    ]);
    this.deadLetters = gauge('tributary_dead_letters', 'Messages currently in the dead letter table', ['group']);
    this.endOffset = gauge('tributary_topic_end_offset', 'Next offset of each partition (rate() = messages appended/s)', [
      'topic',
      'partition',
    ]);
    this.captureLag = gauge('tributary_capture_lag_bytes', "WAL between the source's current position and the slot", ['source']);
    this.sourceUp = gauge('tributary_source_up', '1 when the source answered its last reading', ['source']);
  }

  async collect(): Promise<void> {
    const [lag, events, dead, ends, sources] = await Promise.all([
      this.pool.query(
        `SELECT o.group_name, o.topic, o.partition, tp.next_offset - o.next_offset AS lag, o.status
           FROM tributary.group_offsets o
           JOIN tributary.topic_partitions tp ON tp.topic = o.topic AND tp.partition = o.partition`,
      ),
      this.pool.query(`SELECT group_name, kind, count(*)::int AS n FROM tributary.group_events GROUP BY group_name, kind`),
      this.pool.query(`SELECT group_name, count(*)::int AS n FROM tributary.dead_letters GROUP BY group_name`),
      this.pool.query(`SELECT topic, partition, next_offset FROM tributary.topic_partitions`),
      this.sources.current(),
    ]);
    for (const g of [this.groupLag, this.groupBlocked, this.groupEvents, this.deadLetters, this.endOffset]) g.reset();
    for (const r of lag.rows) {
      const labels = { group: r.group_name, topic: r.topic, partition: String(r.partition) };
      this.groupLag.set(labels, Number(r.lag));
      this.groupBlocked.set({ ...labels, status: r.status }, r.status === 'ok' ? 0 : 1);
    }
    for (const r of events.rows) this.groupEvents.set({ group: r.group_name, kind: r.kind }, r.n);
    for (const r of dead.rows) this.deadLetters.set({ group: r.group_name }, r.n);
    for (const r of ends.rows) this.endOffset.set({ topic: r.topic, partition: String(r.partition) }, Number(r.next_offset));
    this.captureLag.reset();
    this.sourceUp.reset();
    for (const s of sources) {
      this.sourceUp.set({ source: s.source }, s.reachable ? 1 : 0);
      if (s.lagBytes !== undefined) this.captureLag.set({ source: s.source }, s.lagBytes);
    }
  }
}
