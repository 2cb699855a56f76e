import { describe, expect, it } from 'vitest';
import { decodeServerMessage, encodeServerMessage, type Update } from '../../../src/protocol/index.js';
import { LiveHub, type LiveSubscriber } from '../../../src/sessions/live-hub.js';
import type { SendResult } from '../../../src/sessions/types.js';
import { FakeClock } from './fake-clock.js';

const principal = { clinic: 'c1', role: 'therapist' as const, exp: 2e9, iat: 1 };

class Sub implements LiveSubscriber {
  static next = 1;
  readonly id = Sub.next++;
  readonly principal = principal;
  buffered = 0;
  received: { type: string; seq?: number; updates?: unknown[] }[] = [];
  topics = new Set<string>();
  bufferedAmount(): number {
    return this.buffered;
  }
  sendBytes(bytes: Uint8Array): SendResult {
    const r = decodeServerMessage(bytes, 'live');
    if (!r.ok) throw new Error(`hub sent an invalid message: ${r.error.message}`);
    this.received.push(r.message as never);
    return 'sent';
  }
  topic(topic: string, on: boolean): void {
    if (on) this.topics.add(topic);
    else this.topics.delete(topic);
  }
}

function update(seq: number): Update {
  return {
    type: 'update',
    sessionId: 's1',
    seq,
    t: seq / 60,
    joints: new Float32Array(60),
    phase: 'stance',
    contacts: { left: true, right: false },
    metrics: { cadence_spm: 100 },
    uncertainty: 0.1,
    surprise: null,
  };
}

function setup(hz = 10, snapshotSeconds = 1) {
  const clock = new FakeClock();
  const published: string[] = [];
  let dropped = 0;
  const hub = new LiveHub(
    { updateHz: hz, snapshotSeconds, slowThresholdBytes: 1000, maxSubscriptions: 3 },
    { clock, encode: encodeServerMessage, publish: (topic) => published.push(topic), onDropped: () => (dropped += 1), onSend: () => undefined },
  );
  hub.sessionStarted({ sessionId: 's1', clinic: 'c1', patientId: 'p1', assessment: 'gait', startedAt: 1 });
  return { clock, hub, published, dropped: () => dropped };
}

describe('LiveHub', () => {
  it('taskpack.ready goes to the subscribers of that clinic only, skipping (and counting) a slow one', () => {
    const { hub, dropped } = setup();
    const clinic1 = new Sub();
    const session1 = new Sub();
    const slow = new Sub();
    const clinic2 = new Sub();
    hub.subscribe(clinic1, { clinic: 'c1' });
    hub.subscribe(session1, { sessionId: 's1' });
    hub.subscribe(slow, { clinic: 'c1' });
    hub.subscribe(clinic2, { clinic: 'c2' });
    for (const s of [clinic1, session1, slow, clinic2]) s.received = [];
    slow.buffered = 5000;
    hub.taskpackReady({ taskpackId: 'tp-1', sessionId: 's0', patientId: 'p1', clinic: 'c1' });
    expect(clinic1.received).toEqual([{ type: 'taskpack.ready', taskpackId: 'tp-1', sessionId: 's0', patientId: 'p1', clinic: 'c1' }]);
    expect(session1.received).toEqual([]);
    expect(slow.received).toEqual([]);
    expect(clinic2.received).toEqual([]);
    expect(dropped()).toBe(1);
  });

  it('throttles to updateHz per session with the latest state winning', () => {
    const { clock, hub } = setup(10);
    const sub = new Sub();
    expect(hub.subscribe(sub, { sessionId: 's1' })).toBe('ok');
    sub.received = [];
    // 60 Hz for one second → at most 10 updates (one per 100 ms slot), each the newest at its slot.
    for (let i = 0; i < 60; i++) {
      hub.update('s1', update(i));
      clock.advance(1000 / 60);
    }
    clock.advance(200);
    const seqs = sub.received.filter((m) => m.type === 'update').map((m) => m.seq);
    expect(seqs.length).toBeGreaterThanOrEqual(10);
    expect(seqs.length).toBeLessThanOrEqual(11);
    expect(seqs[0]).toBe(0);
    expect(seqs[seqs.length - 1]).toBe(59); // the trailing state is delivered, not lost
    expect([...seqs].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(seqs);
  });

  it('encodes an update only for someone who gets it: none while nobody follows, once for a drained slow dashboard', () => {
    const clock = new FakeClock();
    const encoded: string[] = [];
    const hub = new LiveHub(
      { updateHz: 10, snapshotSeconds: 1, slowThresholdBytes: 1000, maxSubscriptions: 3 },
      {
        clock,
        encode: (m) => (encoded.push(m.type), encodeServerMessage(m)),
        publish: () => undefined,
        onDropped: () => undefined,
        onSend: () => undefined,
      },
    );
    hub.sessionStarted({ sessionId: 's1', clinic: 'c1', patientId: 'p1', assessment: 'gait', startedAt: 1 });
    for (let i = 0; i < 20; i++) {
      hub.update('s1', update(i));
      clock.advance(100);
    }
    expect(encoded.filter((t) => t === 'update')).toEqual([]);
    const sub = new Sub();
    hub.subscribe(sub, { sessionId: 's1' });
    expect((sub.received.find((m) => m.type === 'snapshot')?.updates?.at(-1) as { seq: number }).seq).toBe(19);
    sub.buffered = 5000; // slow: the next update is skipped, and sent on drain
    hub.update('s1', update(20));
    expect(encoded.filter((t) => t === 'update')).toHaveLength(1);
    sub.buffered = 0;
    sub.received = [];
    hub.drain(sub);
    expect(sub.received.map((m) => m.seq)).toEqual([20]);
    expect(encoded.filter((t) => t === 'update')).toHaveLength(1); // the same bytes, not encoded again
  });

  it('sends a bounded snapshot of the last snapshotSeconds on subscribe', () => {
    const { clock, hub } = setup(10, 1);
    for (let i = 0; i < 50; i++) {
      hub.update('s1', update(i));
      clock.advance(100);
    }
    const sub = new Sub();
    hub.subscribe(sub, { sessionId: 's1' });
    const snap = sub.received.find((m) => m.type === 'snapshot');
    expect(snap?.updates).toHaveLength(10);
    expect((snap?.updates?.[9] as { seq: number }).seq).toBe(49);
    expect(sub.topics.has('session/s1')).toBe(true);
  });

  it("live updates carry every horizon's predicted pose; the snapshot history keeps their uncertainties only", () => {
    const { clock, hub } = setup(10, 1);
    const pose = new Float32Array(60).fill(0.5);
    const sub = new Sub();
    hub.subscribe(sub, { sessionId: 's1' });
    for (let i = 0; i < 3; i++) {
      hub.update('s1', {
        ...update(i),
        prediction: pose,
        predictions: [
          { h: 1, uncertainty: 0.2, pose },
          { h: 5, pose },
        ],
      });
      clock.advance(100);
    }
    const live = sub.received.filter((m) => m.type === 'update');
    expect(live.at(-1)).toMatchObject({
      predictions: [
        { h: 1, uncertainty: 0.2, pose },
        { h: 5, pose },
      ],
    });
    const later = new Sub();
    hub.subscribe(later, { sessionId: 's1' });
    const snap = later.received.find((m) => m.type === 'snapshot');
    expect(snap?.updates?.[2]).toMatchObject({ seq: 2, prediction: pose, predictions: [{ h: 1, uncertainty: 0.2 }, { h: 5 }] });
    expect((snap?.updates?.[2] as Update).predictions?.every((p) => p.pose === undefined)).toBe(true);
  });

  it('skips a slow subscriber (counted), and sends it only the newest state when it drains', () => {
    const { clock, hub, dropped } = setup(10);
    const slow = new Sub();
    const fast = new Sub();
    hub.subscribe(slow, { clinic: 'c1' });
    hub.subscribe(fast, { sessionId: 's1' });
    slow.received = [];
    fast.received = [];
    slow.buffered = 5000;
    for (let i = 0; i < 100; i++) {
      hub.update('s1', update(i));
      clock.advance(100);
    }
    expect(slow.received).toHaveLength(0);
    expect(fast.received).toHaveLength(100);
    expect(dropped()).toBe(100);
    slow.buffered = 0;
    hub.drain(slow);
    expect(slow.received.map((m) => m.seq)).toEqual([99]);
    hub.drain(slow); // nothing more owed
    expect(slow.received).toHaveLength(1);
  });

  it('announces session end to session and clinic subscribers and forgets the session', () => {
    const { hub, published } = setup();
    const bySession = new Sub();
    const byClinic = new Sub();
    hub.subscribe(bySession, { sessionId: 's1' });
    hub.subscribe(byClinic, { clinic: 'c1' });
    byClinic.received = [];
    hub.sessionEnded('s1', { frames: 10, jobId: 'j1' });
    expect(published).toEqual(['clinic/c1']); // session.started went through the clinic topic
    expect(byClinic.received.map((m) => m.type)).toEqual(['session.ended']);
    expect(bySession.received.filter((m) => m.type === 'session.ended')).toHaveLength(1);
    expect(hub.get('s1')).toBeUndefined();
    expect(hub.subscribe(new Sub(), { sessionId: 's1' })).toBe('not_found');
  });
  it('bounds the subscriptions one connection may hold', () => {
    const { hub } = setup();
    const sub = new Sub();
    expect(hub.subscribe(sub, { clinic: 'c1' })).toBe('ok');
    expect(hub.subscribe(sub, { sessionId: 's1' })).toBe('ok');
    expect(hub.subscribe(sub, { clinic: 'c2' })).toBe('ok');
    expect(hub.subscribe(sub, { clinic: 'c3' })).toBe('limit');
    expect(hub.subscribe(sub, { clinic: 'c1' })).toBe('ok'); // already held: not a new one
    hub.unsubscribe(sub, { clinic: 'c2' });
    expect(hub.subscribe(sub, { clinic: 'c3' })).toBe('ok');
  });
  it('publishes local messages to other nodes and forwards their messages to clinic subscribers while watched', () => {
    const clock = new FakeClock();
    const published: string[] = [];
    let deliver: ((m: { clinic: string; sessionId: string; data: Uint8Array }) => void) | undefined;
    let stopped = 0;
    const fanout = {
      publish: (clinic: string, sessionId: string) => void published.push(`${clinic}/${sessionId}`),
      subscribe: (_f: { clinic: string }, cb: typeof deliver) => {
        deliver = cb;
        return { stop: () => void (stopped += 1) };
      },
    };
    const hub = new LiveHub(
      { updateHz: 10, snapshotSeconds: 1, slowThresholdBytes: 1000, maxSubscriptions: 4 },
      { fanout, clock, encode: encodeServerMessage, publish: () => undefined, onDropped: () => undefined, onSend: () => undefined },
    );
    hub.sessionStarted({ sessionId: 's1', clinic: 'c1', patientId: 'p1', assessment: 'gait', startedAt: 1 });
    hub.update('s1', update(0));
    expect(published).toEqual(['c1/s1', 'c1/s1']);
    const sub = new Sub();
    hub.subscribe(sub, { clinic: 'c1' });
    sub.received = [];
    const remoteUpdate = { ...update(7), sessionId: 'remote-1' };
    deliver!({ clinic: 'c1', sessionId: 'remote-1', data: encodeServerMessage(remoteUpdate) });
    expect(sub.received.map((m) => m.seq)).toEqual([7]);
    sub.buffered = 5000; // slow: remote updates are skipped too
    deliver!({ clinic: 'c1', sessionId: 'remote-1', data: encodeServerMessage(remoteUpdate) });
    expect(sub.received).toHaveLength(1);
    hub.unsubscribe(sub, { clinic: 'c1' });
    expect(stopped).toBe(1);
  });
});

describe('LiveHub presence', () => {
  it('repeats each live session’s session.started to other nodes and clinic subscribers, and stops when none is live', () => {
    const clock = new FakeClock();
    const toNodes: string[] = [];
    const fanout = {
      publish: (clinic: string, sessionId: string, data: Uint8Array) => {
        const m = decodeServerMessage(data, 'live');
        toNodes.push(`${clinic}/${sessionId}/${m.ok ? m.message.type : 'invalid'}`);
      },
      subscribe: () => ({ stop: () => undefined }),
    };
    const hub = new LiveHub(
      { updateHz: 10, snapshotSeconds: 1, slowThresholdBytes: 1000, maxSubscriptions: 4, presenceIntervalMs: 2000 },
      { fanout, clock, encode: encodeServerMessage, publish: () => undefined, onDropped: () => undefined, onSend: () => undefined },
    );
    const sub = new Sub();
    const slow = new Sub();
    hub.subscribe(sub, { clinic: 'c1' });
    hub.subscribe(slow, { clinic: 'c1' });
    slow.buffered = 5000; // over the slow threshold: skipped, the next beat catches up
    hub.sessionStarted({ sessionId: 's1', clinic: 'c1', patientId: 'p1', assessment: 'gait', startedAt: 1 });
    expect(toNodes).toEqual(['c1/s1/session.started']);
    clock.advance(1999);
    expect(toNodes).toHaveLength(1);
    clock.advance(1);
    expect(toNodes).toEqual(['c1/s1/session.started', 'c1/s1/session.started']);
    expect(sub.received.map((m) => m.type)).toEqual(['session.started']);
    expect(slow.received).toEqual([]);
    clock.advance(2000);
    expect(toNodes).toHaveLength(3);
    hub.sessionEnded('s1', { frames: 0 });
    const afterEnd = toNodes.length;
    clock.advance(10_000);
    expect(toNodes).toHaveLength(afterEnd); // nothing live: no beat
    expect(clock.pending).toBe(0);
    hub.sessionStarted({ sessionId: 's2', clinic: 'c1', patientId: 'p2', assessment: 'gait', startedAt: 2 });
    clock.advance(2000);
    expect(toNodes.slice(afterEnd)).toEqual(['c1/s2/session.started', 'c1/s2/session.started']);
    hub.close();
    expect(clock.pending).toBe(0);
  });
});
