import { murmur2, partitionForKey } from '@tributary/topic-log';

describe('partitioner', () => {
  // Reference values from Kafka's own test of Utils.murmur2, so keys land where Kafka would put them.
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('murmur2(%s) = %i', (input, expected) => {
    expect(murmur2(Buffer.from(input))).toBe(expected);
  });

  it('is stable and spreads keys over all partitions', () => {
    const counts = new Array(8).fill(0);
    for (let id = 0; id < 8000; id++) counts[partitionForKey(`{"id":${id}}`, 8)]++;
    expect(partitionForKey('{"id":42}', 8)).toBe(partitionForKey('{"id":42}', 8));
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });

  it('hashes the UTF-8 bytes of any key, short or long, ASCII or not', () => {
    const keys = ['{"id":"żółw"}', '{"id":"😀"}', 'x'.repeat(4095), 'x'.repeat(4096), 'é'.repeat(3000), 'y'.repeat(10_000)];
    // Multi-byte characters across the reused buffer's end (4096 bytes): none may be cut off.
    keys.push('a' + 'é'.repeat(3000), 'ab' + '😀'.repeat(1100), 'x'.repeat(4093) + '€€');
    for (const key of keys) {
      const expected = (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % 13;
      expect(partitionForKey(key, 13)).toBe(expected);
      // And again after a longer key, so nothing of an earlier key is left in the reused buffer.
      partitionForKey('z'.repeat(5000), 13);
      expect(partitionForKey(key, 13)).toBe(expected);
    }
  });

  it('puts keyless messages in partition 0', () => {
    expect(partitionForKey(null, 8)).toBe(0);
  });
});
