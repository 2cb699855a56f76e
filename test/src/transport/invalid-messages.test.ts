// The sliding window behind close 4002, with an exact clock.
import { describe, expect, it } from 'vitest';
import { InvalidMessageWindow } from '../../../src/transport/invalid-messages.js';

describe('InvalidMessageWindow', () => {
  it('tolerates max invalid messages within the window and refuses one more', () => {
    let now = 0;
    const w = new InvalidMessageWindow({ max: 3, windowMs: 10_000 }, () => now);
    expect([w.record(), w.record(), w.record()]).toEqual([false, false, false]);
    now = 9_999;
    expect(w.record()).toBe(true);
  });

  it('slides: messages older than the window no longer count', () => {
    let now = 0;
    const w = new InvalidMessageWindow({ max: 3, windowMs: 10_000 }, () => now);
    w.record(); // t = 0
    now = 5_000;
    w.record();
    w.record();
    now = 10_000; // the first one left the window: 3 in it, including this one
    expect(w.record()).toBe(false);
    now = 10_001;
    expect(w.record()).toBe(true); // 5000, 5000, 10000, 10001
    // A steady trickle below the rate never closes: one every 4 s with max 3 per 10 s.
    const slow = new InvalidMessageWindow({ max: 3, windowMs: 10_000 }, () => now);
    for (let i = 0; i < 100; i++, now += 4_000) expect(slow.record()).toBe(false);
  });

  it('refuses a meaningless configuration', () => {
    expect(() => new InvalidMessageWindow({ max: 0, windowMs: 1000 }, () => 0)).toThrow(RangeError);
    expect(() => new InvalidMessageWindow({ max: 1, windowMs: 0 }, () => 0)).toThrow(RangeError);
  });
});
