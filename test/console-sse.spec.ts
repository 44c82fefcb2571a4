import fc from 'fast-check';
import { SseParser } from '../apps/console/src/sse';

describe('console: the SSE parser', () => {
  it('reads named events, default events, multi-line data and ids; drops comments and empty events', () => {
    const p = new SseParser();
    const events = p.push(
      ': keep-alive\n\nevent: stats\ndata: {"a":1}\n\ndata: one\ndata: two\nid: 7\n\nevent: nothing\n\ndata:no-space\n\n',
    );
    expect(events).toEqual([
      { event: 'stats', data: '{"a":1}' },
      { event: 'message', data: 'one\ntwo', id: '7' },
      { event: 'message', data: 'no-space', id: '7' },
    ]);
  });

  it('keeps an event that is not finished yet for the next chunk', () => {
    const p = new SseParser();
    expect(p.push('event: stats\ndata: {"at"')).toEqual([]);
    expect(p.push(':"x"}\n')).toEqual([]);
    expect(p.push('\n')).toEqual([{ event: 'stats', data: '{"at":"x"}' }]);
  });

  it('takes \\r\\n and \\r line ends, also when \\r\\n is split between two chunks', () => {
    const p = new SseParser();
    expect(p.push('data: a\r')).toEqual([]);
    expect(p.push('\n\r\n')).toEqual([{ event: 'message', data: 'a' }]);
    expect(p.push('data: b\r\rdata: c\r\n\r\n')).toEqual([
      { event: 'message', data: 'b' },
      { event: 'message', data: 'c' },
    ]);
  });

  it('gives the same events however the stream is split into chunks', () => {
    const stream =
      ': keep-alive\r\n\r\nevent: stats\r\ndata: {"n":1}\r\n\r\nevent: message\ndata: x: y\n\ndata: 1\rdata: 2\r\r' +
      'event: stats\ndata: {"n":2}\n\n';
    const whole = new SseParser().push(stream);
    expect(whole).toHaveLength(4);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: stream.length }), { maxLength: 12 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const p = new SseParser();
        const got = [];
        let from = 0;
        for (const at of [...points, stream.length]) {
          got.push(...p.push(stream.slice(from, at)));
          from = at;
        }
        expect(got).toEqual(whole);
      }),
    );
  });
});
