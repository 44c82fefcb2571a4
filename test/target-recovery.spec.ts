import { TargetRecovery } from '@tributary/worker';

describe('TargetRecovery', () => {
  function recovery(): { r: TargetRecovery; woken: string[][] } {
    const r = new TargetRecovery();
    const woken: string[][] = [];
    r.onRecovered((ids) => woken.push(ids));
    return { r, woken };
  }

  it('wakes the other failing partitions when the target answers again after failing for several', () => {
    const { r, woken } = recovery();
    for (const id of ['a', 'b', 'c', 'a', 'b']) r.failed(id);
    r.succeeded('c');
    expect(woken).toEqual([['a', 'b']]);
  });

  it('never shortens the backoff of a partition failing alone', () => {
    const { r, woken } = recovery();
    for (let i = 0; i < 5; i++) {
      r.failed('poison');
      r.succeeded('healthy');
    }
    expect(woken).toEqual([]);
  });

  it('wakes a partition at most once until it succeeds itself', () => {
    const { r, woken } = recovery();
    r.failed('a');
    r.failed('b');
    r.succeeded('c'); // wakes a and b
    for (let i = 0; i < 3; i++) {
      r.failed('a');
      r.failed('b');
      r.succeeded('c');
    }
    expect(woken).toEqual([['a', 'b']]);
    r.succeeded('a');
    r.failed('a');
    r.failed('d');
    r.succeeded('c');
    expect(woken).toEqual([
      ['a', 'b'],
      ['a', 'd'],
    ]);
  });
});
