import { describe, expect, it } from 'vitest';
import { backoffDelay, ClientError, ClientErrorCode, DEFAULT_BACKOFF, endpointUrl, UnackedBuffer } from '../../clients/sdk/index.js';
import { fatalClose } from '../../clients/sdk/close-policy.js';

describe('UnackedBuffer', () => {
  const bytes = (n: number) => new Uint8Array([n]);

  it('keeps frames until a cumulative ack releases them, and resends from a seq on', () => {
    const b = new UnackedBuffer(4);
    for (const s of [3, 4, 7, 9]) b.push(s, bytes(s));
    expect(b.full).toBe(true);
    expect(b.release(4)).toBe(2);
    expect(b.size).toBe(2);
    expect([...b.from(0)].map((f) => f.seq)).toEqual([7, 9]);
    expect([...b.from(8)].map((f) => f.seq)).toEqual([9]);
    expect(b.release(100)).toBe(2);
    expect(b.size).toBe(0);
  });

  it('refuses new frames when full (BUFFER_FULL) and keeps the old ones', () => {
    const b = new UnackedBuffer(2);
    b.push(0, bytes(0));
    b.push(1, bytes(1));
    const err = (() => {
      try {
        b.push(2, bytes(2));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).code).toBe(ClientErrorCode.BUFFER_FULL);
    expect([...b.from(0)].map((f) => f.seq)).toEqual([0, 1]);
  });

  it('stays correct across compaction over a long session', () => {
    const b = new UnackedBuffer(16);
    for (let s = 0; s < 5000; s++) {
      b.push(s, bytes(s & 255));
      if (s % 7 === 0) b.release(s - 3);
      expect(b.size).toBeLessThanOrEqual(16);
      if (b.full) b.release(s);
    }
    const left = [...b.from(0)].map((f) => f.seq);
    expect(left).toEqual([...left].sort((x, y) => x - y));
    expect(left.every((s) => s > 4990)).toBe(true);
  });

  it('rejects a non-positive capacity', () => {
    expect(() => new UnackedBuffer(0)).toThrow(RangeError);
  });
});

describe('backoff', () => {
  it('grows exponentially with half jitter and is capped', () => {
    const o = { ...DEFAULT_BACKOFF, initialMs: 100, maxMs: 1000 };
    expect(backoffDelay(0, o, () => 0)).toBe(50);
    expect(backoffDelay(0, o, () => 1)).toBe(100);
    expect(backoffDelay(3, o, () => 1)).toBe(800);
    expect(backoffDelay(10, o, () => 1)).toBe(1000);
    expect(backoffDelay(10, o, () => 0)).toBe(500);
  });
});

describe('endpointUrl and close policy', () => {
  it('builds /v1/<channel> URLs from a base or keeps a full one', () => {
    expect(endpointUrl('ws://127.0.0.1:8080', 'ingest')).toBe('ws://127.0.0.1:8080/v1/ingest');
    expect(endpointUrl('http://h:1/', 'live')).toBe('ws://h:1/v1/live');
    expect(endpointUrl('https://h/prefix', 'live')).toBe('wss://h/prefix/v1/live');
    expect(endpointUrl('ws://h/v1/ingest', 'ingest')).toBe('ws://h/v1/ingest');
  });

  it('reconnects on transient closes and stops on auth/protocol closes', () => {
    expect(fatalClose(1006, '')).toBeNull();
    expect(fatalClose(4000, 'shutdown')).toBeNull();
    expect(fatalClose(4001, '')?.code).toBe(ClientErrorCode.UNAUTHORIZED);
    expect(fatalClose(4011, '')?.code).toBe(ClientErrorCode.UNAUTHORIZED);
    expect(fatalClose(4006, '')?.code).toBe(ClientErrorCode.RESUME_FAILED);
    expect(fatalClose(4010, '')?.code).toBe(ClientErrorCode.CLOSED_BY_SERVER);
  });
});
