import { messagesTimeParameter } from '../apps/console/src/api-features';
import {
  beforeAfter,
  estimateEta,
  tableEntry,
  formatAgo,
  formatBytes,
  formatCount,
  formatDuration,
  formatRate,
} from '../apps/console/src/format';
import { describeReset, previewRows } from '../apps/console/src/reset-plan';
import { href, parseRoute } from '../apps/console/src/route';

describe('console: formatting', () => {
  it('formats bytes in powers of 1024', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 kB');
    expect(formatBytes(200 * 1024 * 1024)).toBe('200 MB');
    expect(formatBytes(3.25 * 1024 ** 3)).toBe('3.3 GB');
    expect(formatBytes(null)).toBe('–');
  });

  it('groups the digits of counts, numbers or int8 strings, keeping every digit', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(12345)).toBe('12,345');
    expect(formatCount('9223372036854775807')).toBe('9,223,372,036,854,775,807');
    expect(formatCount('-1200')).toBe('-1,200');
    expect(formatCount('lots')).toBe('–');
    expect(formatCount(undefined)).toBe('–');
  });

  it('formats rates and durations', () => {
    expect([0, 0.42, 12.4, 999.6, 1234, 2_500_000].map(formatRate)).toEqual([
      '0/s',
      '0.4/s',
      '12/s',
      '1000/s',
      '1.2k/s',
      '2.5M/s',
    ]);
    expect(formatRate(null)).toBe('–');
    expect([45_000, 200_000, 180_000, 7_500_000, 3 * 86_400_000 + 4 * 3_600_000].map(formatDuration)).toEqual([
      '45 s',
      '3 min 20 s',
      '3 min',
      '2 h 5 min',
      '3 d 4 h',
    ]);
  });

  it('says how long ago a time was', () => {
    const now = Date.parse('2026-12-06T12:00:00Z');
    expect(formatAgo(null, now)).toBe('never');
    expect(formatAgo('2026-12-06T12:00:00Z', now)).toBe('just now');
    expect(formatAgo('2026-12-06T11:59:48Z', now)).toBe('12 s ago');
    expect(formatAgo('not a time', now)).toBe('–');
  });

  it('estimates the time left from the pace so far', () => {
    const now = Date.parse('2026-12-06T12:10:00Z');
    expect(estimateEta(25, '2026-12-06T12:00:00Z', now)).toBe(30 * 60_000);
    expect(estimateEta(0, '2026-12-06T12:00:00Z', now)).toBeUndefined();
    expect(estimateEta(100, '2026-12-06T12:00:00Z', now)).toBeUndefined();
    expect(estimateEta(50, null, now)).toBeUndefined();
  });

  it("puts an update's before and after side by side, marking what changed", () => {
    const envelope = { op: 'u', before: { id: 1, name: 'a', gone: true }, after: { id: 1, name: 'b', added: null } };
    expect(beforeAfter(envelope)).toEqual([
      { field: 'id', before: '1', after: '1', changed: false },
      { field: 'name', before: '"a"', after: '"b"', changed: true },
      { field: 'added', before: '', after: 'null', changed: true },
      { field: 'gone', before: 'true', after: '', changed: true },
    ]);
    expect(beforeAfter({ op: 't' })).toEqual([]);
    expect(beforeAfter('text')).toEqual([]);
  });
});

describe("console: the reset confirmation's text", () => {
  it('says what is delivered again and what is skipped, per partition and in total', () => {
    const text = describeReset([
      { topic: 't', partition: 0, committedOffset: '1500', newOffset: '0', redelivered: 1500 },
      { topic: 't', partition: 1, committedOffset: '10', newOffset: '10', redelivered: '0' },
    ]);
    expect(text).toContain('1,500 messages will be delivered again');
    expect(text).toContain('t[0]: 1500 → 0 (1,500 delivered again)');
    expect(text).toContain('t[1]: 10 → 10 (unchanged)');
    expect(describeReset([{ topic: 't', partition: 0, committedOffset: '0', newOffset: '40', redelivered: -40 }])).toContain(
      '40 messages will be skipped',
    );
    expect(describeReset([])).toBe('No partition would move.');
  });
});

describe('console: routes', () => {
  it('reads and writes the hash of every page, names with any characters included', () => {
    for (const route of [
      { page: 'overview' },
      { page: 'config' },
      { page: 'source', name: 'default' },
      { page: 'topic', name: 'default.public.orders' },
      { page: 'group', name: 'a/b c?' },
    ] as const)
      expect(parseRoute(href(route))).toEqual(route);
    expect(parseRoute('')).toEqual({ page: 'overview' });
    expect(parseRoute('#/nowhere/x')).toEqual({ page: 'overview' });
    expect(parseRoute('#/groups/%E0%A4%A')).toEqual({ page: 'group', name: '%E0%A4%A' });
  });
});

describe("console: a dry-run reset's answer", () => {
  const row = { topic: 't', partition: 0, committedOffset: '5', newOffset: '0', redelivered: 5 };
  it('finds the per-partition rows, bare or in the answer object', () => {
    expect(previewRows([row])).toEqual([row]);
    expect(previewRows({ group: 'g', resets: [row] })).toEqual([row]);
    expect(previewRows({ group: 'g', dryRun: true, partitions: [row] })).toEqual([row]);
  });
  it('finds none in an answer without them (an API that reset instead of previewing is not mistaken for a plan)', () => {
    expect(previewRows(undefined)).toBeUndefined();
    expect(previewRows({ group: 'g', resets: [{ topic: 't', partition: 0, from: '5', to: '0' }] })).toBeUndefined();
    expect(previewRows('text')).toBeUndefined();
  });
});

describe("console: a source's tables and their topics", () => {
  it('reads the entries as the spec stores them: strings, or objects with a topic', () => {
    expect(tableEntry('shop', 'public.orders')).toEqual({ table: 'public.orders', topic: 'shop.public.orders' });
    expect(tableEntry('shop', { table: 'public.items', topic: 'items' })).toEqual({ table: 'public.items', topic: 'items' });
    expect(tableEntry('shop', { schema: 'public', table: 'x' })).toEqual({ table: 'public.x', topic: 'shop.public.x' });
    expect(tableEntry('shop', 7)).toEqual({ table: '?', topic: '?' });
  });
});

describe('console: which time parameter the messages endpoint takes', () => {
  const doc = (names: string[]) => ({
    paths: { '/api/v1/topics/{name}/messages': { get: { parameters: names.map((name) => ({ name, in: 'query' })) } } },
  });
  it("reads it from the OpenAPI document: 'since' only where the API names it and not 'at'", () => {
    expect(messagesTimeParameter(doc(['partition', 'offset', 'limit', 'since']))).toBe('since');
    expect(messagesTimeParameter(doc(['partition', 'offset', 'limit', 'at']))).toBe('at');
    expect(messagesTimeParameter(doc(['partition', 'since', 'at']))).toBe('at');
    expect(messagesTimeParameter({})).toBe('at');
    expect(messagesTimeParameter(null)).toBe('at');
  });
});
