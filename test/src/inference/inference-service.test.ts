import { afterEach, describe, expect, it, vi } from 'vitest';
import { InferenceError, InferenceErrorCode } from '../../../src/inference/errors.js';
import { createInferenceService } from '../../../src/inference/inference-service.js';
import type { InferenceResult, InferenceService, Shed } from '../../../src/inference/types.js';
import { tinyLatent } from './fixtures/tiny-engine.js';
import { D, F, gate, HORIZONS, row, tinyService, within } from './helpers.js';
import { ManualScheduler } from './manual-scheduler.js';

let services: InferenceService[] = [];
afterEach(async () => {
  await Promise.all(services.map((s) => s.close()));
  services = [];
});
const track = async (p: Promise<InferenceService>) => {
  const s = await p;
  services.push(s);
  return s;
};
const ok = (r: InferenceResult | Shed): InferenceResult => {
  if (r.shed) throw new Error(`row ${r.sessionId}/${r.seq} was shed: ${r.reason}`);
  return r;
};
const close = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).forEach((v, i) => expect(v).toBeCloseTo(b[i] ?? NaN, 5));

describe('InferenceService with worker threads (tiny engine)', () => {
  it('starts a .ts worker through tsx, reports the engine and answers every row with latent, predictions, uncertainty, surprise', async () => {
    const s = await track(tinyService({ workers: 2, maxBatch: 4, maxWaitMs: 2 }));
    expect(s.backend).toBe('js');
    expect([s.featureDim, s.latentDim, [...s.horizons]]).toEqual([F, D, [...HORIZONS]]);
    expect(s.featureNames).toBeNull();
    const xs = [row(1, 0, 0), row(0, 1, 0), row(0, 0, 1)];
    const out = await within(Promise.all(xs.map((x, seq) => s.submit({ sessionId: 'a', patientId: 'p', seq, x }))));
    out.forEach((r, i) => {
      const res = ok(r);
      expect(res.seq).toBe(i);
      close(res.latent, tinyLatent(xs[i]!, D));
      expect(res.predictions.map((p) => p.horizon)).toEqual([...HORIZONS]);
      close(
        res.predictions[1]!.latent,
        tinyLatent(xs[i]!, D).map((v) => v + 2),
      );
      expect(res.uncertainty).toBeCloseTo(0.02 + 1 / 3, 5);
      expect(res.model).toBe('base');
    });
    // frame 1 is compared with frame 0's h=1 prediction, frame 2 with frame 1's
    const dist = (a: number[], b: number[]) => Math.hypot(...a.map((v, i) => v - (b[i] ?? 0))) / Math.sqrt(a.length);
    expect(ok(out[0]!).surprise).toBeNull();
    expect(ok(out[1]!).surprise).toBeCloseTo(
      dist(
        tinyLatent(xs[1]!, D),
        tinyLatent(xs[0]!, D).map((v) => v + 1),
      ),
      4,
    );
    expect(ok(out[2]!).surpriseHorizon).toBe(1);
    const st = s.stats();
    expect(st.rows).toBe(3);
    expect(st.workers).toMatchObject({ count: 2, alive: 2, restarts: 0 });
    expect(st.latencyMs.count).toBe(3);
  });

  it('flushes a full batch at once and a partial one exactly maxWaitMs after its first row', async () => {
    const sched = new ManualScheduler();
    const s = await track(tinyService({ maxBatch: 3, maxWaitMs: 10 }, { scheduler: sched }));
    const full = [0, 1, 2].map((seq) => s.submit({ sessionId: `s${seq}`, patientId: 'p', seq, x: row(seq, 0, 0) }));
    expect(s.stats().batches).toBe(1);
    await within(Promise.all(full));
    const lone = s.submit({ sessionId: 'x', patientId: 'p', seq: 0, x: row(1, 1, 1) });
    sched.advance(9);
    expect(s.stats()).toMatchObject({ batches: 1, queueDepth: 1 });
    sched.advance(1);
    expect(s.stats()).toMatchObject({ batches: 2, queueDepth: 0 });
    expect(ok(await within(lone)).batchSize).toBe(1);
    expect(s.stats().batchSize.counts[0]).toBe(1); // one batch of 1 …
    expect(s.stats().batchSize.counts[2]).toBe(1); // … and one of 3 (bucket ≤ 4)
    // Where the latency went: the three rows of the full batch were dispatched at once, the lone row after
    // its 10 ms wait (the scheduler's clock); each batch's dispatch-to-results is counted once.
    const { waitMs, batchMs } = s.stats();
    expect(waitMs.count).toBe(4);
    expect(waitMs.sum).toBe(10);
    expect(batchMs.count).toBe(2);
  });

  it('serves rows of different patients in one batch, each with its own adapter', async () => {
    const bias = (v: number) => ({ ref: `ref-${v}`, adapter: { bias: Float32Array.from({ length: D }, () => v) } });
    const s = await track(
      tinyService(
        { maxBatch: 3 },
        { loadModel: (pid) => Promise.resolve(pid === 'plain' ? { ref: 'pretrained', adapter: null } : bias(pid === 'p' ? 1 : 10)) },
      ),
    );
    expect(await s.ensureModel('p')).toBe('ref-1');
    await s.ensureModel('q');
    await s.ensureModel('plain');
    const x = row(1, 2, 3);
    const out = (await within(Promise.all(['p', 'q', 'plain'].map((pid, i) => s.submit({ sessionId: `s${i}`, patientId: pid, seq: 0, x }))))).map(ok);
    expect(out.map((r) => r.batchSize)).toEqual([3, 3, 3]);
    expect(out.map((r) => r.model)).toEqual(['ref-1', 'ref-10', 'pretrained']);
    close(out[0]!.latent, tinyLatent(x, D, [1, 1, 1, 1]));
    close(out[1]!.latent, tinyLatent(x, D, [10, 10, 10, 10]));
    close(out[2]!.latent, tinyLatent(x, D));
  });

  it('swaps a model at the next batch boundary: the batch in flight finishes with the old weights', async () => {
    const g = gate(false);
    const biasFor = new Map([
      ['p@1', 1],
      ['p@2', 100],
    ]);
    const s = await track(
      tinyService(
        { maxBatch: 1, gate: g.buf },
        { loadModel: (_pid, ref) => Promise.resolve({ ref: ref ?? 'p@1', adapter: { bias: new Float32Array(D).fill(biasFor.get(ref ?? 'p@1')!) } }) },
      ),
    );
    await s.ensureModel('p');
    const x = row(0, 0, 0);
    const first = s.submit({ sessionId: 'a', patientId: 'p', seq: 0, x });
    expect(s.stats().inflightBatches).toBe(1);
    await s.swapModel('p', 'p@2');
    const second = s.submit({ sessionId: 'a', patientId: 'p', seq: 1, x });
    g.open();
    const [r1, r2] = (await within(Promise.all([first, second]))).map(ok);
    expect(r1!.model).toBe('p@1');
    close(r1!.latent, [1, 1, 1, 1]);
    expect(r2!.model).toBe('p@2');
    close(r2!.latent, [100, 100, 100, 100]);
    expect(s.stats().models).toMatchObject({ swaps: 1, loads: 2 });
  });

  it('sheds the oldest frame of the session with most queued frames when the queue is full, and stale frames', async () => {
    const g = gate(false);
    const sched = new ManualScheduler();
    const s = await track(tinyService({ maxBatch: 2, maxWaitMs: 1, queueLimit: 4, maxQueueAgeMs: 50, gate: g.buf }, { scheduler: sched }));
    const x = row(1, 1, 1);
    const busy = [0, 1].map((seq) => s.submit({ sessionId: 'busy', patientId: 'p', seq, x })); // in flight, blocked
    const behind = [0, 1].map((seq) => s.submit({ sessionId: 'behind', patientId: 'p', seq, x })); // a whole batch: queued behind it
    expect(s.stats()).toMatchObject({ inflightBatches: 2, queueDepth: 0 });
    const flood = [0, 1, 2].map((seq) => s.submit({ sessionId: 'flood', patientId: 'p', seq, x }));
    const quiet = [0, 1].map((seq) => s.submit({ sessionId: 'quiet', patientId: 'p', seq, x }));
    // 5 rows offered to a queue of 4: flood's oldest (seq 0) goes
    expect(await within(flood[0]!)).toEqual({ shed: true, reason: 'queue_full', sessionId: 'flood', seq: 0 });
    expect(s.stats().queueDepth).toBe(4);
    sched.advance(60); // everything queued is now older than maxQueueAgeMs
    // the queue is still full: the tie (2 rows each, same age) goes to the first session queued, flood
    const fresh = s.submit({ sessionId: 'quiet', patientId: 'p', seq: 2, x });
    g.open();
    await within(Promise.all([...busy, ...behind])).then((rs) => rs.forEach(ok));
    const late = await within(Promise.all([flood[1]!, flood[2]!, ...quiet]));
    expect(late.map((r) => (r.shed ? r.reason : 'ok'))).toEqual(['queue_full', 'stale', 'stale', 'stale']);
    ok(await within(fresh));
    expect(s.stats().shed).toMatchObject({ queue_full: 2, stale: 3 });
  });

  it('queues a whole batch behind the running one, never a partial one, and at most one', async () => {
    const g = gate(false);
    const sched = new ManualScheduler();
    const s = await track(tinyService({ maxBatch: 2, maxWaitMs: 5, gate: g.buf }, { scheduler: sched }));
    const submit = (sessionId: string, seq: number) => s.submit({ sessionId, patientId: 'p', seq, x: row(seq, 1, 2) });
    const rows = [submit('a', 0), submit('b', 0)]; // a whole batch: runs at once (blocked in the engine)
    expect(s.stats()).toMatchObject({ inflightBatches: 1, queueDepth: 0 });
    rows.push(submit('a', 1));
    sched.advance(10); // due, but partial: it waits for the worker (and for company)
    expect(s.stats()).toMatchObject({ inflightBatches: 1, queueDepth: 1 });
    rows.push(submit('b', 1)); // now whole: queued behind the running batch
    expect(s.stats()).toMatchObject({ inflightBatches: 2, queueDepth: 0 });
    rows.push(submit('a', 2), submit('b', 2)); // whole again, but the worker has a batch behind already
    expect(s.stats()).toMatchObject({ inflightBatches: 2, queueDepth: 2 });
    g.open();
    const out = (await within(Promise.all(rows))).map(ok);
    expect(out.map((r) => `${r.sessionId}${r.seq}`)).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
    expect(s.stats()).toMatchObject({ batches: 3, rows: 6 });
  });

  it('does not run a batch queued behind a failed one on the adapters that failure may have skipped', async () => {
    const g = gate(false);
    const models: Record<string, { ref: string; adapter: object | null }> = {
      p: { ref: 'p-broken', adapter: { broken: true } },
      q: { ref: 'q@1', adapter: { bias: new Float32Array(D).fill(5) } },
      plain: { ref: 'base', adapter: null },
    };
    const s = await track(tinyService({ maxBatch: 2, gate: g.buf, gateOnly777: true }, { loadModel: (pid) => Promise.resolve(models[pid]!) }));
    await s.ensureModel('p');
    await s.ensureModel('q');
    await s.ensureModel('plain');
    const x = row(0, 0, 0);
    const submit = (sessionId: string, patientId: string, xr = x) => s.submit({ sessionId, patientId, seq: 0, x: xr });
    const running = [submit('a0', 'plain', row(777, 0, 0)), submit('a1', 'plain', row(777, 0, 0))];
    // Installs p (throws in the worker) then q (never reached), queued behind the running batch.
    const failing = [submit('b0', 'p'), submit('b1', 'q')];
    // Sent behind the failing batch before its failure is known: built as if q were installed.
    const behind = [submit('c0', 'q'), submit('c1', 'q')];
    g.open();
    (await within(Promise.all(running))).forEach(ok);
    const shed = await within(Promise.all([...failing, ...behind]));
    expect(shed.map((r) => (r.shed ? r.reason : `answered by ${r.model}`))).toEqual(['engine_error', 'engine_error', 'engine_error', 'engine_error']);
    const after = ok(await within(submit('d0', 'q')));
    expect(after.model).toBe('q@1');
    close(after.latent, [5, 5, 5, 5]);
  });

  it('commits results in dispatch order across workers, so surprise sees the earlier frame', async () => {
    const g = gate(false);
    const s = await track(tinyService({ workers: 2, maxBatch: 1, gate: g.buf, gateOnly777: true }));
    const order: number[] = [];
    const first = s.submit({ sessionId: 'a', patientId: 'p', seq: 0, x: row(777, 0, 0) }).then((r) => (order.push(0), r));
    const second = s.submit({ sessionId: 'a', patientId: 'p', seq: 1, x: row(1, 0, 0) }).then((r) => (order.push(1), r));
    // the second batch finished on the other worker and waits for the first
    await vi.waitFor(() => expect(s.stats().heldForOrder).toBe(1), { timeout: 10_000 });
    expect(order).toEqual([]);
    g.open();
    const [r0, r1] = (await within(Promise.all([first, second]))).map(ok);
    expect(order).toEqual([0, 1]);
    expect(r0!.surprise).toBeNull();
    expect(r1!.surprise).not.toBeNull();
  });

  it('sheds everything as no_workers once the last worker is gone for good', async () => {
    const s = await track(tinyService({ maxBatch: 1, maxWorkerRestarts: 0 }));
    expect(await within(s.submit({ sessionId: 'a', patientId: 'p', seq: 0, x: row(-999, 0, 0) }))).toMatchObject({ shed: true, reason: 'engine_error' });
    expect(await within(s.submit({ sessionId: 'a', patientId: 'p', seq: 1, x: row(1, 0, 0) }))).toMatchObject({ shed: true, reason: 'no_workers' });
    expect(s.stats().workers).toMatchObject({ alive: 0, restarts: 0 });
  });

  it('sheds the rows of a failing batch, replaces a dead worker, and goes on answering', async () => {
    // a generous age limit: the row after the crash waits in the queue while the worker restarts
    const s = await track(tinyService({ maxBatch: 1, maxWorkerRestarts: 2, maxQueueAgeMs: 30_000 }));
    expect(await within(s.submit({ sessionId: 'a', patientId: 'p', seq: 0, x: row(999, 0, 0) }))).toMatchObject({ shed: true, reason: 'engine_error' });
    expect(await within(s.submit({ sessionId: 'a', patientId: 'p', seq: 1, x: row(-999, 0, 0) }))).toMatchObject({ shed: true, reason: 'engine_error' });
    ok(await within(s.submit({ sessionId: 'a', patientId: 'p', seq: 2, x: row(1, 0, 0) }), 20_000));
    expect(s.stats().workers.restarts).toBe(1);
    expect(s.stats().shed.engine_error).toBe(2);
  });

  it('after a failed batch the worker gets every adapter again (a failed install does not leave it half-updated)', async () => {
    const models: Record<string, { ref: string; adapter: object }> = {
      p: { ref: 'p-broken', adapter: { broken: true } },
      q: { ref: 'q@1', adapter: { bias: new Float32Array(D).fill(5) } },
    };
    const s = await track(
      tinyService({ maxBatch: 2 }, { loadModel: (pid, ref) => Promise.resolve(ref ? { ref, adapter: { bias: new Float32Array(D).fill(1) } } : models[pid]!) }),
    );
    await s.ensureModel('p');
    await s.ensureModel('q');
    const x = row(0, 0, 0);
    // p's install throws in the worker before q's install is reached
    const failed = await within(
      Promise.all([s.submit({ sessionId: 'a', patientId: 'p', seq: 0, x }), s.submit({ sessionId: 'b', patientId: 'q', seq: 0, x })]),
    );
    expect(failed.map((r) => (r.shed ? r.reason : 'ok'))).toEqual(['engine_error', 'engine_error']);
    await s.swapModel('p', 'p@2');
    const [rp, rq] = (
      await within(Promise.all([s.submit({ sessionId: 'a', patientId: 'p', seq: 1, x }), s.submit({ sessionId: 'b', patientId: 'q', seq: 1, x })]))
    ).map(ok);
    close(rp!.latent, [1, 1, 1, 1]);
    expect(rq!.model).toBe('q@1');
    close(rq!.latent, [5, 5, 5, 5]);
  });

  it('after a failed batch the worker holds no adapter the service no longer tracks', async () => {
    const count = new SharedArrayBuffer(4);
    const held = () => Atomics.load(new Int32Array(count), 0);
    const models: Record<string, { ref: string; adapter: object }> = {
      p: { ref: 'p@1', adapter: { bias: new Float32Array(D).fill(1) } },
      q: { ref: 'q@1', adapter: { bias: new Float32Array(D).fill(5) } },
    };
    const s = await track(tinyService({ maxBatch: 2, adapterCount: count }, { loadModel: (pid) => Promise.resolve(models[pid]!) }));
    await s.ensureModel('p');
    await s.ensureModel('q');
    const x = row(0, 0, 0);
    (await within(Promise.all([s.submit({ sessionId: 'a', patientId: 'p', seq: 0, x }), s.submit({ sessionId: 'b', patientId: 'q', seq: 0, x })]))).forEach(ok);
    expect(held()).toBe(2);
    // The engine throws inside run: the service forgets what the worker holds, so the worker drops it all.
    const failed = await within(s.submit({ sessionId: 'a', patientId: 'p', seq: 1, x: row(999, 0, 0) }));
    expect(failed).toMatchObject({ shed: true, reason: 'engine_error' });
    expect(held()).toBe(0);
    const again = ok(await within(s.submit({ sessionId: 'b', patientId: 'q', seq: 1, x })));
    expect(again.model).toBe('q@1');
    close(again.latent, [5, 5, 5, 5]);
    expect(held()).toBe(1);
  });

  it('rejects malformed rows with BAD_INPUT and sheds everything once closed', async () => {
    const sched = new ManualScheduler();
    const s = await track(tinyService({ maxBatch: 8, maxWaitMs: 100 }, { scheduler: sched }));
    const bad = [
      { sessionId: 'a', patientId: 'p', seq: 0, x: row(1, 2) },
      { sessionId: 'a', patientId: 'p', seq: 0, x: row(1, NaN, 2) },
      { sessionId: 'a', patientId: 'p', seq: -1, x: row(1, 2, 3) },
      { sessionId: '', patientId: 'p', seq: 0, x: row(1, 2, 3) },
    ];
    for (const req of bad) {
      const err = await s.submit(req).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InferenceError);
      expect((err as InferenceError).code).toBe(InferenceErrorCode.BAD_INPUT);
    }
    const queued = s.submit({ sessionId: 'a', patientId: 'p', seq: 0, x: row(1, 2, 3) });
    await s.close();
    expect(await queued).toMatchObject({ shed: true, reason: 'shutdown' });
    expect(await s.submit({ sessionId: 'a', patientId: 'p', seq: 1, x: row(1, 2, 3) })).toMatchObject({ shed: true, reason: 'shutdown' });
    await expect(s.swapModel('p', 'p@2')).rejects.toMatchObject({ code: InferenceErrorCode.CLOSED });
    await expect(s.ensureModel('p')).rejects.toMatchObject({ code: InferenceErrorCode.CLOSED });
  });

  it('serves a patient from the base model until its model loads, and evicts past the cache size', async () => {
    const loads: string[] = [];
    const s = await track(
      tinyService(
        { maxBatch: 1, modelCacheSize: 1 },
        { loadModel: (pid) => (loads.push(pid), Promise.resolve({ ref: `${pid}@1`, adapter: { bias: new Float32Array(D).fill(5) } })) },
      ),
    );
    const first = ok(await within(s.submit({ sessionId: 'a', patientId: 'p', seq: 0, x: row(0, 0, 0) })));
    expect(first.model).toBe('base'); // its load started with this row
    expect(ok(await within(s.submit({ sessionId: 'a', patientId: 'p', seq: 1, x: row(0, 0, 0) }))).model).toBe('p@1');
    await s.ensureModel('q'); // capacity 1: p goes at the next boundary
    ok(await within(s.submit({ sessionId: 'b', patientId: 'q', seq: 0, x: row(0, 0, 0) })));
    expect(s.stats().models).toMatchObject({ resident: 1, evictions: 1 });
    expect(ok(await within(s.submit({ sessionId: 'a', patientId: 'p', seq: 2, x: row(0, 0, 0) }))).model).toBe('base');
    expect(loads).toEqual(['p', 'q', 'p']);
  });

  it('reports bad options and a bad engine module with coded errors', async () => {
    await expect(tinyService({ maxBatch: 8, queueLimit: 4 })).rejects.toMatchObject({ code: InferenceErrorCode.INVALID_OPTIONS });
    await expect(tinyService({ workers: 0 })).rejects.toMatchObject({ code: InferenceErrorCode.INVALID_OPTIONS });
    await expect(createInferenceService({ engine: { module: new URL('./helpers.ts', import.meta.url), options: {} } })).rejects.toMatchObject({
      name: 'InferenceError',
      code: InferenceErrorCode.WORKER_START_FAILED,
    });
  });
});
