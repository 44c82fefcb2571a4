/**
 * What a sink kind counts about its own writes to its destination (a broker's publishes), beside the
 * worker's delivery metrics: the worker binds them to the group and the sink kind.
 */
export interface SinkMetrics {
  /** Messages the destination acknowledged. */
  published(count: number): void;
  /** Writes that failed (each attempt counts). */
  failed(count: number): void;
  /** Seconds from sending one write until the destination acknowledged it. */
  latency(seconds: number): void;
}
