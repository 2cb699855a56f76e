import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../src/transport/rate-limit.js';

describe('TokenBucket', () => {
  it('allows the burst, then refills at the rate; RATE_LIMITED at most once per second', () => {
    let now = 0;
    const b = new TokenBucket({ ratePerS: 10, burst: 3, closeAfterRejected: 100 }, () => now);
    expect([b.take(), b.take(), b.take()]).toEqual(['ok', 'ok', 'ok']);
    expect(b.take()).toBe('limited');
    expect(b.take()).toBe('limited-quiet');
    now += 100; // one token at 10/s
    expect(b.take()).toBe('ok');
    expect(b.take()).toBe('limited-quiet'); // still within a second of the last error
    now += 1000;
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual(['ok', 'ok', 'ok', 'limited']); // refill capped at burst
  });

  it('closes a sustained flood even when allowed messages are interleaved', () => {
    let now = 0;
    const b = new TokenBucket({ ratePerS: 100, burst: 100, closeAfterRejected: 200 }, () => now);
    // 1000 msgs/s against 100/s: every 10th message gets a token, the rest add penalty.
    const verdicts: string[] = [];
    for (let i = 0; i < 2000 && verdicts.at(-1) !== 'close'; i++) {
      now += 1;
      verdicts.push(b.take());
    }
    expect(verdicts.at(-1)).toBe('close');
    expect(verdicts.filter((v) => v === 'ok').length).toBeGreaterThan(100); // burst + refills were served
    expect(verdicts.filter((v) => v === 'limited').length).toBeLessThanOrEqual(2);
    expect(verdicts.length).toBeLessThan(600);
  });

  it('does not close a device that bursts over the limit now and then', () => {
    let now = 0;
    const b = new TokenBucket({ ratePerS: 100, burst: 100, closeAfterRejected: 200 }, () => now);
    for (let second = 0; second < 60; second++) {
      for (let i = 0; i < 150; i++) expect(b.take()).not.toBe('close'); // 50 over the limit each second
      now += 1000;
    }
  });

  it('rejects nonsense options', () => {
    expect(() => new TokenBucket({ ratePerS: 0, burst: 1, closeAfterRejected: 1 }, () => 0)).toThrow(RangeError);
    expect(() => new TokenBucket({ ratePerS: 1, burst: 0, closeAfterRejected: 1 }, () => 0)).toThrow(RangeError);
  });
});
