// The coalescing line on the real in-process bus: a patient's jobs queued behind each other run as one
// batch, two batches of one patient never overlap, other patients share the slots, the hold limit
// bounds what the line takes from the bus, and a job timing out in the line leaves it (retried).
import { describe, expect, it } from 'vitest';
import { coalesce, type HeldJob } from '../../../src/jobs/coalesce.js';
import type { AssessmentCompleted } from '../../../src/jobs/contracts.js';
import { JobErrorCode } from '../../../src/jobs/errors.js';
import { createInProcessBus } from '../../../src/jobs/in-process-bus.js';
import { JobSubject, type SettledInfo } from '../../../src/jobs/job-bus.js';
import { countdown, deferred, within, type Deferred } from './deferred.js';
import { completed } from './payloads.js';

const S = JobSubject.ASSESSMENT_COMPLETED;
const T = 5_000;

interface Run {
  readonly key: string;
  readonly ids: string[];
  readonly gate: Deferred<void>;
}

/** A line whose runs block until the test releases them, recording what ran together. */
function line(slots: number, maxBatch = 100) {
  const runs: Run[] = [];
  const started = new Set<(r: Run) => void>();
  let running = 0;
  let peak = 0;
  let auto = false;
  const c = coalesce<AssessmentCompleted>({
    keyOf: (e) => e.patientId,
    slots,
    maxBatch,
    run: async (batch: readonly HeldJob<AssessmentCompleted>[]) => {
      const r: Run = { key: batch[0]!.event.patientId, ids: batch.map((j) => j.ctx.id), gate: deferred() };
      runs.push(r);
      running += 1;
      peak = Math.max(peak, running);
      for (const f of started) f(r);
      if (auto) r.gate.resolve();
      await r.gate.promise;
      running -= 1;
      // A job can fail alone: its id in the map.
      return new Map(batch.filter((j) => j.event.sessionId.startsWith('bad')).map((j) => [j.ctx.id, new Error(`bad recording ${j.ctx.id}`)]));
    },
  });
  const nextRun = (): Promise<Run> => {
    const d = deferred<Run>();
    const f = (r: Run): void => {
      started.delete(f);
      d.resolve(r);
    };
    started.add(f);
    return within(d.promise, T, 'a batch starts');
  };
  /** Ends every run, now and from now on (before stopping the consumer). */
  const releaseAll = (): void => {
    auto = true;
    for (const r of runs) r.gate.resolve();
  };
  return { c, runs, nextRun, releaseAll, peak: () => peak };
}

describe('coalesce', () => {
  it('runs the jobs a patient queued behind each other as one batch, and never two batches of one patient at once', async () => {
    const bus = createInProcessBus();
    const l = line(2);
    const settled: SettledInfo[] = [];
    const all = countdown(7);
    // Ten sessions ending together: three of patient a queued before the consumer starts…
    for (const s of ['a1', 'a2', 'a3']) await bus.publish(S, completed(s, { patientId: 'a' }), { id: s });
    const first = l.nextRun();
    const c = await bus.consume(S, l.c.handler, { concurrency: 16, backoffMs: [5], onSettled: (i) => (settled.push(i), all.hit()) });
    const r1 = await first;
    expect(r1).toMatchObject({ key: 'a', ids: ['a1', 'a2', 'a3'] });
    // …then more of a arrive while a trains: they wait (same patient), b starts in the free slot.
    const second = l.nextRun();
    await bus.publish(S, completed('a4', { patientId: 'a' }), { id: 'a4' });
    await bus.publish(S, completed('bad-a5', { patientId: 'a' }), { id: 'a5' });
    await bus.publish(S, completed('b1', { patientId: 'b' }), { id: 'b1' });
    expect(await second).toMatchObject({ key: 'b', ids: ['b1'] });
    await bus.publish(S, completed('b2', { patientId: 'b' }), { id: 'b2' });
    expect(l.c.waiting).toBe(3);
    expect(l.c.running).toBe(2);
    // a's first batch ends: its waiting jobs run as the next batch (b2 waits behind b1).
    const third = l.nextRun();
    r1.gate.resolve();
    expect(await third).toMatchObject({ key: 'a', ids: ['a4', 'a5'] });
    const fourth = l.nextRun();
    l.runs[1]!.gate.resolve();
    expect(await fourth).toMatchObject({ key: 'b', ids: ['b2'] });
    l.runs[2]!.gate.resolve();
    l.runs[3]!.gate.resolve();
    await within(all.done, T, 'all settled');
    await c.stop();
    // 7 jobs, 4 runs; every job settled once; the bad recording failed alone and is retried.
    expect(l.runs.map((r) => r.ids)).toEqual([['a1', 'a2', 'a3'], ['b1'], ['a4', 'a5'], ['b2']]);
    expect(l.peak()).toBe(2);
    expect(
      settled
        .filter((s) => s.outcome === 'ack')
        .map((s) => s.id)
        .sort(),
    ).toEqual(['a1', 'a2', 'a3', 'a4', 'b1', 'b2']);
    expect(settled.find((s) => s.id === 'a5')).toMatchObject({ outcome: 'nak', attempt: 1 });
    await bus.close();
  });

  it('takes at most the hold limit from the bus; the rest wait there and the bus stays bounded', async () => {
    const bus = createInProcessBus({ maxQueued: 6 });
    const l = line(1);
    for (let i = 0; i < 6; i++) await bus.publish(S, completed(`p${i}`, { patientId: `p${i}` }), { id: `j${i}` });
    // The bus is full: a seventh job is refused (BUS_FULL), never dropped silently.
    await expect(bus.publish(S, completed('p6', { patientId: 'p6' }), { id: 'j6' })).rejects.toMatchObject({ code: JobErrorCode.BUS_FULL });
    const first = l.nextRun();
    const c = await bus.consume(S, l.c.handler, { concurrency: 3 });
    expect((await first).ids).toEqual(['j0']);
    // Hold limit 3: one running, two waiting in the line, three still in the bus.
    expect(l.c.running + l.c.waiting).toBe(3);
    expect(await bus.depth(S)).toBe(6);
    const next = l.nextRun();
    l.runs[0]!.gate.resolve();
    expect((await next).ids).toEqual(['j1']);
    expect(l.c.running + l.c.waiting).toBe(3);
    expect(await bus.depth(S)).toBe(5);
    for (let i = 1; i < 6; i++) {
      const n = i < 5 ? l.nextRun() : undefined;
      l.runs[i]!.gate.resolve();
      if (n) await n;
    }
    await c.stop();
    expect(l.runs.map((r) => r.ids)).toEqual([['j0'], ['j1'], ['j2'], ['j3'], ['j4'], ['j5']]);
    expect(await bus.depth(S)).toBe(0);
    await bus.close();
  });

  it('cuts batches at maxBatch, oldest jobs first', async () => {
    const bus = createInProcessBus();
    const l = line(1, 2);
    for (let i = 0; i < 5; i++) await bus.publish(S, completed(`s${i}`), { id: `j${i}` });
    const first = l.nextRun();
    const c = await bus.consume(S, l.c.handler, { concurrency: 16 });
    expect((await first).ids).toEqual(['j0', 'j1']);
    for (const expected of [['j2', 'j3'], ['j4']]) {
      const n = l.nextRun();
      l.runs[l.runs.length - 1]!.gate.resolve();
      expect((await n).ids).toEqual(expected);
    }
    l.releaseAll();
    await c.stop();
    await bus.close();
  });

  it('a job whose attempt times out while waiting leaves the line and is retried, not run twice', async () => {
    const bus = createInProcessBus();
    const l = line(1);
    const settled: SettledInfo[] = [];
    const retried = deferred<SettledInfo>();
    await bus.publish(S, completed('a1', { patientId: 'a' }), { id: 'a1' });
    const first = l.nextRun();
    const c = await bus.consume(S, l.c.handler, {
      concurrency: 4,
      ackWaitMs: 300,
      backoffMs: [5],
      onSettled: (i) => (settled.push(i), i.id === 'b1' && i.outcome === 'nak' && retried.resolve(i)),
    });
    await first;
    // b1 waits behind a1 (one slot); its 300 ms attempt deadline passes in the line.
    await bus.publish(S, completed('b1', { patientId: 'b' }), { id: 'b1' });
    const nak = await within(retried.promise, T, 'b1 timed out in the line');
    expect((nak.error as { code?: string }).code).toBe(JobErrorCode.TIMEOUT);
    expect(l.runs.map((r) => r.ids)).toEqual([['a1']]);
    l.releaseAll();
    await c.stop();
    await bus.close();
  });
});
