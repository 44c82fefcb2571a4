import type { GroupConfig } from '@tributary/config';
import type { Pool } from 'pg';
import type { Sink } from './sink';

/** A group's `sink:` as the configuration schema validated it. */
export type SinkConfig = GroupConfig['sink'];

/** The sink types a worker runs: every one but `pull`, whose messages the pull API hands out. */
export type SinkType = Exclude<SinkConfig['type'], 'pull'>;

/** A group whose `sink:` is of type `T`. */
export type GroupWithSink<T extends SinkType> = GroupConfig & { sink: Extract<SinkConfig, { type: T }> };

/** Something a sink reports about a partition, recorded as a group event (`GET /api/v1/groups/:group/events`). */
export interface SinkEvent {
  topic: string;
  partition: number;
  kind: string;
  detail: string;
}

/** A broker sink's own numbers, labelled with its group and sink type by whoever provides them (the worker's /metrics). */
export interface SinkMetrics {
  /** Messages the destination accepted (confirmed, or refused as already written). */
  published(count: number): void;
  /** One failed publish attempt. */
  failed(): void;
  /** Seconds one publish round trip took, from sending until the destination accepted it. */
  publishLatency(seconds: number): void;
}

/** What the worker hands every sink it builds. */
export interface SinkDeps {
  /** The platform database: the schema registry, a webhook subscription's state and attempt log. */
  pool: Pool;
  /** Records an event in the group's events. */
  report: (event: SinkEvent) => Promise<void>;
  /** Absent where nothing serves metrics (tests, a worker without a metrics port). */
  metrics?: SinkMetrics;
}

/**
 * One kind of sink: the `sink.type` it serves and how to build one for a group. Each sink lib exports
 * its kinds; the worker registers them by type and only ever calls `create`.
 */
export interface SinkKind<T extends SinkType = SinkType> {
  readonly type: T;
  /** One sink per group member: a sink may hold a connection and a transaction of its own. */
  create(group: GroupWithSink<T>, deps: SinkDeps): Sink;
}
