import { Gauge, type Registry } from 'prom-client';
import type { PlatformReadings } from './platform-readings';

/**
 * Gauges read from the platform at scrape time: the same answer from every process that serves
 * /metrics. The sources' gauges come from the last background reading, so scrapes cost the sources
 * nothing.
 */
export class PlatformGauges {
  private readonly groupLag: Gauge;
  private readonly groupBlocked: Gauge;
  private readonly groupEvents: Gauge;
  private readonly deadLetters: Gauge;
  private readonly endOffset: Gauge;
  private readonly captureLag: Gauge;
  private readonly sourceUp: Gauge;
  private readonly tableMissing: Gauge;
  private readonly slotAtRisk: Gauge;
  private readonly safeWal: Gauge;

  constructor(
    registry: Registry,
    private readonly readings: PlatformReadings,
  ) {
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
    this.tableMissing = gauge(
      'tributary_source_table_missing',
      "1 for each of a source's tables that does not exist on the source (dropped or renamed; the others are captured)",
      ['source', 'table'],
    );
    this.slotAtRisk = gauge(
      'tributary_source_slot_at_risk',
      '1 when the slot is lost, about to be, or has less than a fifth of max_slot_wal_keep_size left',
      ['source'],
    );
    this.safeWal = gauge(
      'tributary_source_slot_safe_wal_bytes',
      'WAL that can still be written before the slot is lost (only with max_slot_wal_keep_size)',
      ['source'],
    );
  }

  async collect(): Promise<void> {
    const [partitions, events, dead, ends, sources] = await Promise.all([
      this.readings.groupPartitions(),
      this.readings.groupEvents(),
      this.readings.deadLetters(),
      this.readings.partitionEnds(),
      this.readings.sources(),
    ]);
    for (const g of [this.groupLag, this.groupBlocked, this.groupEvents, this.deadLetters, this.endOffset]) g.reset();
    for (const p of partitions) {
      const labels = { group: p.group, topic: p.topic, partition: String(p.partition) };
      this.groupLag.set(labels, Number(p.lag));
      this.groupBlocked.set({ ...labels, status: p.status }, p.status === 'ok' ? 0 : 1);
    }
    for (const e of events) this.groupEvents.set({ group: e.group, kind: e.kind }, e.count);
    for (const d of dead) this.deadLetters.set({ group: d.group }, d.count);
    for (const e of ends) this.endOffset.set({ topic: e.topic, partition: String(e.partition) }, Number(e.endOffset));
    this.captureLag.reset();
    this.sourceUp.reset();
    this.tableMissing.reset();
    this.slotAtRisk.reset();
    this.safeWal.reset();
    for (const s of sources) {
      this.sourceUp.set({ source: s.source }, s.reachable ? 1 : 0);
      for (const table of s.missingTables) this.tableMissing.set({ source: s.source, table }, 1);
      if (s.slotAtRisk !== undefined) this.slotAtRisk.set({ source: s.source }, s.slotAtRisk ? 1 : 0);
      if (s.safeWalBytes !== undefined) this.safeWal.set({ source: s.source }, s.safeWalBytes);
      if (s.lagBytes !== undefined) this.captureLag.set({ source: s.source }, s.lagBytes);
    }
  }
}
