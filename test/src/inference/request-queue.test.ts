import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pickShedVictim, RequestQueue } from '../../../src/inference/request-queue.js';

describe('pickShedVictim', () => {
  const rows = (...at: number[]) => at.map((t) => ({ at: t }));
  it('picks the session with the most queued rows, ties by the oldest head, skips empty', () => {
    expect(pickShedVictim(new Map())).toBeNull();
    expect(pickShedVictim(new Map([['a', []]]))).toBeNull();
    expect(
      pickShedVictim(
        new Map([
          ['a', rows(0, 1)],
          ['b', rows(5, 6, 7)],
          ['c', rows(-1)],
        ]),
      ),
    ).toBe('b');
    expect(
      pickShedVictim(
        new Map([
          ['a', rows(4, 5, 6)],
          ['b', rows(2, 7, 8)],
        ]),
      ),
    ).toBe('b');
  });
});

describe('RequestQueue', () => {
  it('is FIFO across sessions', () => {
    const q = new RequestQueue<string>(10);
    q.push('a', 'a1', 0);
    q.push('b', 'b1', 1);
    q.push('a', 'a2', 2);
    expect(q.take(2, 2, 100).batch.map((e) => e.item)).toEqual(['a1', 'b1']);
    expect(q.depth).toBe(1);
    expect(q.oldestAt).toBe(2);
    expect(q.take(5, 2, 100).batch.map((e) => e.item)).toEqual(['a2']);
    expect(q.oldestAt).toBeNull();
  });

  it('when full, drops the oldest row of the session with the most queued rows', () => {
    const q = new RequestQueue<string>(4);
    q.push('quiet', 'q1', 0);
    q.push('flood', 'f1', 1);
    q.push('flood', 'f2', 2);
    q.push('flood', 'f3', 3);
    const shed = q.push('quiet', 'q2', 4);
    expect(shed?.item).toBe('f1');
    expect(q.depth).toBe(4);
    expect(q.depthOf('flood')).toBe(2);
    expect(q.take(10, 4, 100).batch.map((e) => e.item)).toEqual(['q1', 'f2', 'f3', 'q2']);
  });

  it('a session alone in a full queue sheds its own oldest frame (fresh frames win)', () => {
    const q = new RequestQueue<number>(3);
    for (let i = 0; i < 3; i++) q.push('s', i, i);
    expect(q.push('s', 3, 3)?.item).toBe(0);
    expect(q.take(10, 3, 100).batch.map((e) => e.item)).toEqual([1, 2, 3]);
  });

  it('takes rows older than maxAge out as stale, without counting them in the batch', () => {
    const q = new RequestQueue<string>(10);
    q.push('a', 'old1', 0);
    q.push('b', 'old2', 5);
    q.push('a', 'new1', 60);
    q.push('b', 'new2', 70);
    const { batch, stale } = q.take(1, 100, 50);
    expect(stale.map((e) => e.item)).toEqual(['old1', 'old2']);
    expect(batch.map((e) => e.item)).toEqual(['new1']);
    expect(q.depth).toBe(1);
  });

  it('drain empties every session', () => {
    const q = new RequestQueue<string>(10);
    q.push('a', 'x', 0);
    q.push('b', 'y', 0);
    expect(q.drain().map((e) => e.item)).toEqual(['x', 'y']);
    expect(q.depth).toBe(0);
    expect(q.depthOf('a')).toBe(0);
  });

  it('rejects a non-positive limit', () => {
    expect(() => new RequestQueue(0)).toThrow(RangeError);
  });

  it('property: never exceeds its limit, loses no row, and sheds only from a session holding the most rows', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 80 }), (limit, sessions) => {
        const q = new RequestQueue<number>(limit);
        const shedIds: number[] = [];
        sessions.forEach((s, i) => {
          const before = new Map<string, number>();
          for (let k = 0; k <= 4; k++) before.set(`s${k}`, q.depthOf(`s${k}`));
          const shed = q.push(`s${s}`, i, i);
          if (shed) {
            shedIds.push(shed.item);
            const max = Math.max(...before.values());
            expect(before.get(shed.sessionId)).toBe(max);
          }
          expect(q.depth).toBeLessThanOrEqual(limit);
        });
        const left = q.drain().map((e) => e.item);
        expect([...left, ...shedIds].sort((a, b) => a - b)).toEqual(sessions.map((_, i) => i));
      }),
    );
  });
});
