import { liveFromRest } from '../apps/console/src/rest-live';
import type { LiveStats, StatsSeries } from '../apps/console/src/stats';
import {
  appendSample,
  chartFromHistory,
  chartFromSeries,
  groupTrouble,
  isSeries,
  mergeLive,
  sourceTrouble,
} from '../apps/console/src/stats';

const series: StatsSeries = {
  window: '15m',
  stepSeconds: 5,
  timestamps: [1_733_500_000_000, 1_733_500_005_000, 1_733_500_010_000],
  sources: { zeta: { appended: [1, null, 3] }, alpha: { appended: [10, 20] } },
  groups: { g: { delivered: [5, 5, 5], lag: [100, 50, 0] } },
};

function live(at: string, appended: number | null, lag: number, extra: Partial<LiveStats> = {}): LiveStats {
  return {
    at,
    sources: [
      { name: 'alpha', state: 'streaming', slotLagBytes: 0, lastCommitAt: null, appendedPerSec: appended, lastError: null },
    ],
    groups: [
      {
        name: 'g',
        sinkType: 'webhook',
        lag,
        deliveredPerSec: 1,
        blockedPartitions: 0,
        pausedPartitions: 0,
        errors: 0,
        reason: null,
      },
    ],
    ...extra,
  };
}

describe("console: the charts' data", () => {
  it('shapes a series answer into uPlot lines: seconds on x, names sorted, gaps as null', () => {
    expect(chartFromSeries(series, 'appended')).toEqual({
      x: [1_733_500_000, 1_733_500_005, 1_733_500_010],
      lines: [
        { label: 'alpha', values: [10, 20, null] },
        { label: 'zeta', values: [1, null, 3] },
      ],
    });
    expect(chartFromSeries(series, 'lag').lines).toEqual([{ label: 'g', values: [100, 50, 0] }]);
    expect(chartFromSeries({ ...series, groups: {} }, 'delivered')).toEqual({
      x: [1_733_500_000, 1_733_500_005, 1_733_500_010],
      lines: [],
    });
  });

  it("charts only an answer in the contract's shape", () => {
    expect(isSeries(series)).toBe(true);
    for (const other of [undefined, null, {}, [], { timestamps: [], sources: {} }, { ...series, timestamps: 'x' }])
      expect(isSeries(other)).toBe(false);
  });

  it('keeps live samples in order within the window, dropping older and repeated ones', () => {
    let h = { samples: [] as LiveStats[] };
    h = appendSample(h, live('2026-12-06T12:00:00Z', 1, 9), 10_000);
    h = appendSample(h, live('2026-12-06T12:00:02Z', 2, 8), 10_000);
    h = appendSample(h, live('2026-12-06T12:00:02Z', 99, 99), 10_000); // the same snapshot again
    h = appendSample(h, live('2026-12-06T12:00:01Z', 99, 99), 10_000); // out of order
    h = appendSample(h, live('2026-12-06T12:00:11Z', 3, 0), 10_000); // pushes 12:00:00 out
    expect(h.samples.map((s) => s.at)).toEqual(['2026-12-06T12:00:02Z', '2026-12-06T12:00:11Z']);
    expect(chartFromHistory(h, 'appended').lines).toEqual([{ label: 'alpha', values: [2, 3] }]);
    expect(chartFromHistory(h, 'lag').lines).toEqual([{ label: 'g', values: [8, 0] }]);
    expect(chartFromHistory(h, 'delivered').lines).toEqual([{ label: 'g', values: [1, 1] }]);
  });

  it('a source or group that appears later has null before it', () => {
    let h = { samples: [] as LiveStats[] };
    h = appendSample(h, live('2026-12-06T12:00:00Z', 1, 1, { groups: [] }), 60_000);
    h = appendSample(h, live('2026-12-06T12:00:02Z', 1, 4), 60_000);
    expect(chartFromHistory(h, 'lag').lines).toEqual([{ label: 'g', values: [null, 4] }]);
  });

  it('continues a series with the live samples newer than its last step', () => {
    const sampled = chartFromSeries(series, 'lag');
    let h = { samples: [] as LiveStats[] };
    h = appendSample(h, live(new Date(1_733_500_010_000).toISOString(), 1, 7), 60_000); // same time as the last step: left out
    h = appendSample(h, live(new Date(1_733_500_012_000).toISOString(), 1, 3), 60_000);
    expect(mergeLive(sampled, chartFromHistory(h, 'lag'))).toEqual({
      x: [1_733_500_000, 1_733_500_005, 1_733_500_010, 1_733_500_012],
      lines: [{ label: 'g', values: [100, 50, 0, 3] }],
    });
    expect(mergeLive(sampled, { x: [], lines: [] })).toBe(sampled);
  });
});

describe('console: what the overview marks red', () => {
  it('a source with an error or not streaming, a group with blocked partitions, with the reason', () => {
    const [s] = live('2026-12-06T12:00:00Z', 1, 0).sources;
    expect(sourceTrouble(s)).toBeUndefined();
    expect(sourceTrouble({ ...s, state: 'snapshotting' })).toBeUndefined();
    expect(sourceTrouble({ ...s, state: 'slot_lost' })).toBe('capture is slot lost');
    expect(sourceTrouble({ ...s, lastError: 'connection refused' })).toBe('connection refused');
    const [g] = live('2026-12-06T12:00:00Z', 1, 0).groups;
    expect(groupTrouble(g)).toBeUndefined();
    expect(groupTrouble({ ...g, blockedPartitions: 2 })).toBe('2 partition(s) blocked');
    expect(groupTrouble({ ...g, blockedPartitions: 1, reason: 'HTTP 500 from the endpoint' })).toBe('HTTP 500 from the endpoint');
  });
});

describe('console: live statistics from the REST lists (an API without /stats/live)', () => {
  it("takes the capture rate from the appended count's change, and lag and blocked partitions from the groups", () => {
    const t0 = Date.parse('2026-12-06T12:00:00Z');
    const sources = (n: number) => [
      { name: 'default', lastCommitTime: null, capture: { state: 'streaming', messagesAppended: n, lastError: null } },
      { name: 'elsewhere', lastCommitTime: '2026-12-06T11:00:00Z', capture: null },
    ];
    const groups = [{ name: 'g', sink: 'webhook', paused: false, lag: '12', blocked: 1 }];
    const first = liveFromRest(undefined, sources(100), groups, t0);
    expect(first.stats.sources.map((s) => s.appendedPerSec)).toEqual([null, null]);
    const second = liveFromRest(first, sources(140), groups, t0 + 2_000);
    expect(second.stats.at).toBe('2026-12-06T12:00:02.000Z');
    expect(second.stats.sources[0]).toMatchObject({ name: 'default', state: 'streaming', appendedPerSec: 20 });
    expect(second.stats.sources[1]).toMatchObject({
      name: 'elsewhere',
      state: 'unknown',
      appendedPerSec: null,
      lastCommitAt: '2026-12-06T11:00:00Z',
    });
    expect(second.stats.groups).toEqual([
      {
        name: 'g',
        sinkType: 'webhook',
        lag: 12,
        deliveredPerSec: null,
        blockedPartitions: 1,
        pausedPartitions: 0,
        errors: 0,
        reason: '1 partition(s) not ok',
      },
    ]);
    // a capture that restarted counts from 0 again: no negative rate
    expect(liveFromRest(second, sources(5), groups, t0 + 4_000).stats.sources[0].appendedPerSec).toBe(0);
  });
});
