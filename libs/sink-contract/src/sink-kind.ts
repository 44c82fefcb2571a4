import type { GroupConfig } from '@tributary/config';
import type { Pool } from 'pg';
import type { Sink } from './sink';
import type { SinkMetrics } from './sink-metrics';

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

/** What the worker hands every sink it builds. */
export interface SinkDeps {
  /** The platform database: the schema registry, a webhook subscription's state and attempt log. */
  pool: Pool;
  /** Records an event in the group's events. */
  report: (event: SinkEvent) => Promise<void>;
  /** The group's publish metrics in this process's registry; absent where nothing serves /metrics. */
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
