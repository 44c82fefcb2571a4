import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The process's Prometheus registry. Counters that only this process can know (deliveries it made,
 * their latency) live here; numbers the platform database knows (lag, end offsets, dead letters) are
 * read at scrape time by PlatformGauges, so any process serving /metrics reports them alike.
 */
export class TributaryMetrics {
  readonly registry = new Registry();

  readonly deliveryLatency = new Histogram({
    name: 'tributary_delivery_latency_seconds',
    help: 'Time from a message being appended to its topic until the sink accepted it',
    labelNames: ['group'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
    registers: [this.registry],
  });

  readonly delivered = new Counter({
    name: 'tributary_delivered_messages_total',
    help: 'Messages handed to a sink and accepted, by this process',
    labelNames: ['group'],
    registers: [this.registry],
  });

  readonly deliveryErrors = new Counter({
    name: 'tributary_delivery_errors_total',
    help: 'Failed delivery attempts (each retry counts), by this process',
    labelNames: ['group'],
    registers: [this.registry],
  });

  readonly deadLettered = new Counter({
    name: 'tributary_dead_lettered_messages_total',
    help: 'Messages moved to the dead letter table by this process',
    labelNames: ['group'],
    registers: [this.registry],
  });

  readonly sinkPublished = new Counter({
    name: 'tributary_sink_published_messages_total',
    help: 'Messages a broker sink of this process published and the broker accepted',
    labelNames: ['group', 'sink'],
    registers: [this.registry],
  });

  readonly sinkPublishErrors = new Counter({
    name: 'tributary_sink_publish_errors_total',
    help: 'Failed publish attempts of a broker sink of this process',
    labelNames: ['group', 'sink'],
    registers: [this.registry],
  });

  readonly sinkPublishLatency = new Histogram({
    name: 'tributary_sink_publish_latency_seconds',
    help: 'Time one publish round trip of a broker sink took, until the broker accepted it',
    labelNames: ['group', 'sink'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });

  readonly messagesAppended = new Counter({
    name: 'tributary_capture_messages_appended_total',
    help: 'Messages appended to topics by the capture in this process',
    labelNames: ['source'],
    registers: [this.registry],
  });

  readonly captureStreaming = new Gauge({
    name: 'tributary_capture_streaming',
    help: '1 while this process streams the source, 0 while it waits (standby, reconnecting)',
    labelNames: ['source', 'state'],
    registers: [this.registry],
  });

  constructor() {
    this.registry.setDefaultLabels({});
  }
}
