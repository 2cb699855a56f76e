import { describe, expect, it } from 'vitest';
import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { MicroBatcher } from '../../../src/inference/micro-batcher.js';

const opts = { maxBatch: 3, maxWaitMs: 5, queueLimit: 6, maxAgeMs: 100 };

/** Wires a batcher the way the service does (take whenever ready) and emits each batch as a string. */
function harness(scheduler: TestScheduler, o = opts) {
  const out = new Subject<string>();
  const b: MicroBatcher<string> = new MicroBatcher<string>(o, scheduler, () => {
    while (b.ready)
      out.next(
        b
          .take()
          .batch.map((q) => q.item)
          .join(''),
      );
  });
  return { b, out };
}

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('MicroBatcher (marbles)', () => {
  it('flushes a full batch at once and a partial one maxWaitMs after its first row', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      const { b, out } = harness(ts);
      // a,b,c at 0..2 fill a batch; d at 10 waits alone until 15.
      cold('abc 7ms d').subscribe((v) => b.push('s', v));
      expectObservable(out).toBe('--x 12ms y', { x: 'abc', y: 'd' });
    });
  });

  it('the wait starts at the first queued row, not the latest', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      const { b, out } = harness(ts);
      cold('a 3ms b').subscribe((v) => b.push(v === 'a' ? 's1' : 's2', v));
      expectObservable(out).toBe('5ms x', { x: 'ab' });
    });
  });

  it('an empty source never flushes and leaves no timer', () => {
    const ts = newScheduler();
    ts.run(({ expectObservable }) => {
      const { out } = harness(ts);
      expectObservable(out).toBe('');
    });
  });
});

describe('MicroBatcher (pull when a worker frees)', () => {
  it('keeps rows queued while not taken, then hands out maxBatch at a time, oldest first', () => {
    const ts = newScheduler();
    let readySignals = 0;
    const b = new MicroBatcher<number>(opts, ts, () => readySignals++);
    for (let i = 0; i < 5; i++) b.push('s', i);
    expect(b.ready).toBe(true);
    expect(readySignals).toBeGreaterThan(0);
    expect(b.take().batch.map((q) => q.item)).toEqual([0, 1, 2]);
    // two left: not a full batch, and not yet due
    expect(b.ready).toBe(false);
    ts.flush();
    expect(b.ready).toBe(true);
    expect(b.take().batch.map((q) => q.item)).toEqual([3, 4]);
  });

  it('a partial batch left behind is due immediately if its oldest row already waited maxWaitMs', () => {
    const ts = newScheduler();
    ts.run(({ cold }) => {
      const b = new MicroBatcher<string>(opts, ts, () => undefined);
      cold('abcd').subscribe((v) => b.push('s', v));
      ts.schedule(() => {
        expect(b.take().batch.map((q) => q.item)).toEqual(['a', 'b', 'c']);
        expect(b.ready).toBe(true); // 'd' arrived at 3 and it is now 10
      }, 10);
    });
  });

  it('sheds by the queue rule when full and reports the victim', () => {
    const ts = newScheduler();
    const b = new MicroBatcher<string>(opts, ts, () => undefined);
    for (const v of ['a1', 'a2', 'a3', 'a4', 'b1', 'b2']) b.push(v[0]!, v);
    expect(b.push('b', 'b3')?.item).toBe('a1');
    expect(b.depth).toBe(6);
  });

  it('drain empties and cancels the timer', () => {
    const ts = newScheduler();
    let signals = 0;
    const b = new MicroBatcher<string>(opts, ts, () => signals++);
    b.push('s', 'x');
    expect(b.drain().map((q) => q.item)).toEqual(['x']);
    ts.flush();
    expect(signals).toBe(0);
    expect(b.ready).toBe(false);
  });

  it('rejects queueLimit < maxBatch', () => {
    expect(() => new MicroBatcher({ ...opts, queueLimit: 2 }, newScheduler(), () => undefined)).toThrow(RangeError);
  });
});
