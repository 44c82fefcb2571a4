import type { LiveGroup, LiveSource, LiveStats } from './stats';

/** `GET /api/v1/sources` items, as far as the overview reads them. */
export interface RestSource {
  name: string;
  lastCommitTime?: string | null;
  capture?: { state: string; messagesAppended: number; lastError: string | null } | null;
}
/** `GET /api/v1/groups` items. */
export interface RestGroup {
  name: string;
  sink: string;
  paused: boolean;
  lag: string;
  blocked: number;
}

export interface RestLive {
  stats: LiveStats;
  /** Messages each source's capture had appended, to take the next rate from. */
  appended: Map<string, number>;
}

/**
 * A live snapshot made from the REST lists, for an API without `/stats/live`: the capture rate is the
 * change of the capture's appended count since the previous snapshot (null for the first one, or where
 * this API process does not capture); the lists carry no delivery rate nor slot lag (null).
 */
export function liveFromRest(previous: RestLive | undefined, sources: RestSource[], groups: RestGroup[], now: number): RestLive {
  const appended = new Map<string, number>();
  const seconds = previous ? (now - Date.parse(previous.stats.at)) / 1000 : 0;
  const liveSources: LiveSource[] = sources.map((s) => {
    const count = s.capture?.messagesAppended;
    if (count !== undefined) appended.set(s.name, count);
    const before = previous?.appended.get(s.name);
    const rate = count !== undefined && before !== undefined && seconds > 0 ? Math.max(0, count - before) / seconds : null;
    return {
      name: s.name,
      state: s.capture?.state ?? 'unknown',
      slotLagBytes: null,
      lastCommitAt: s.lastCommitTime ?? null,
      appendedPerSec: rate,
      lastError: s.capture?.lastError ?? null,
    };
  });
  const liveGroups: LiveGroup[] = groups.map((g) => ({
    name: g.name,
    sinkType: g.sink,
    lag: Number(g.lag),
    deliveredPerSec: null,
    blockedPartitions: g.blocked,
    pausedPartitions: 0,
    errors: 0,
    reason: g.paused ? 'paused' : g.blocked > 0 ? `${g.blocked} partition(s) not ok` : null,
  }));
  return { stats: { at: new Date(now).toISOString(), sources: liveSources, groups: liveGroups }, appended };
}
