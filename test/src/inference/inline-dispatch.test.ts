// The adaptive in-process path (inlineMaxRows): small batches run on the calling thread while the event
// loop has room, bigger ones (or a busy loop) go to the worker; either way results commit in dispatch
// order, adapters and swaps apply at batch boundaries, and a failing batch is shed, not thrown.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InferenceErrorCode } from '../../../src/inference/errors.js';
import type { InferenceResult, InferenceService, Shed } from '../../../src/inference/types.js';
import { tinyLatent } from './fixtures/tiny-engine.js';
import { D, gate, row, tinyService, within } from './helpers.js';

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
const idle = () => 0;

describe('InferenceService inline dispatch (tiny engine)', () => {
  it('runs a small batch in-process with the same answers, each patient with its own adapter', async () => {
    const bias = (v: number) => ({ ref: `ref-${v}`, adapter: { bias: new Float32Array(D).fill(v) } });
    const s = await track(
      tinyService(
        // 50 ms here and below: rows submitted in one tick must share a batch even when a loaded machine
        // takes over a millisecond for the first submit (with 1 ms the second row found the first due).
        { maxBatch: 4, maxWaitMs: 50, inlineMaxRows: 4 },
        { utilization: idle, loadModel: (pid) => Promise.resolve(pid === 'plain' ? { ref: 'pretrained', adapter: null } : bias(pid === 'p' ? 1 : 10)) },
      ),
    );
    await Promise.all(['p', 'q', 'plain'].map((p) => s.ensureModel(p)));
    const x = row(1, 2, 3);
    const out = (await within(Promise.all(['p', 'q', 'plain'].map((pid, i) => s.submit({ sessionId: `s${i}`, patientId: pid, seq: 0, x }))))).map(ok);
    expect(out.map((r) => r.model)).toEqual(['ref-1', 'ref-10', 'pretrained']);
    close(out[0]!.latent, tinyLatent(x, D, [1, 1, 1, 1]));
    close(out[1]!.latent, tinyLatent(x, D, [10, 10, 10, 10]));
    close(out[2]!.latent, tinyLatent(x, D));
    close(
      out[2]!.predictions[1]!.latent,
      tinyLatent(x, D).map((v) => v + 2),
    );
    expect(s.stats().inline).toEqual({ enabled: true, batches: 1, rows: 3 });
    expect(s.stats()).toMatchObject({ batches: 1, rows: 3 });
  });

  it('sends batches above inlineMaxRows, and every batch while the event loop is busy, to the worker', async () => {
    let busy = 0;
    const s = await track(tinyService({ maxBatch: 3, maxWaitMs: 50, inlineMaxRows: 2 }, { utilization: () => busy }));
    const x = row(1, 0, 0);
    await within(Promise.all([0, 1, 2].map((seq) => s.submit({ sessionId: `s${seq}`, patientId: 'p', seq: 0, x }))));
    expect(s.stats().inline).toMatchObject({ batches: 0, rows: 0 }); // a full batch of 3 > 2
    busy = 0.9; // ≥ the default inlineMaxUtilization 0.5
    ok(await within(s.submit({ sessionId: 'a', patientId: 'p', seq: 0, x })));
    expect(s.stats().inline).toMatchObject({ batches: 0, rows: 0 });
    busy = 0.1;
    ok(await within(s.submit({ sessionId: 'a', patientId: 'p', seq: 1, x })));
    expect(s.stats().inline).toMatchObject({ batches: 1, rows: 1 });
    expect(s.stats().batches).toBe(3);
  });

  it('commits an in-process batch after an earlier worker batch still in flight (order and surprise hold)', async () => {
    const g = gate(false);
    const s = await track(tinyService({ maxBatch: 2, maxWaitMs: 50, inlineMaxRows: 1, gate: g.buf, gateOnly777: true }, { utilization: idle }));
    const order: number[] = [];
    const x = row(1, 0, 0);
    // Two rows → a full batch of 2 > inlineMaxRows → the worker, blocked on the gate (first row 777).
    const first = [s.submit({ sessionId: 'a', patientId: 'p', seq: 0, x: row(777, 0, 0) }), s.submit({ sessionId: 'b', patientId: 'p', seq: 0, x })].map(
      (p, i) => p.then((r) => (order.push(i), r)),
    );
    const later = s.submit({ sessionId: 'a', patientId: 'p', seq: 1, x }).then((r) => (order.push(2), r));
    await vi.waitFor(() => expect(s.stats().heldForOrder).toBe(1), { timeout: 5000, interval: 5 }); // ran in-process, held
    expect(s.stats().inline.batches).toBe(1);
    expect(order).toEqual([]);
    g.open();
    const [r0, , r2] = (await within(Promise.all([...first, later]))).map(ok);
    expect(order).toEqual([0, 1, 2]);
    expect(r0!.surprise).toBeNull();
    // seq 1 was predicted by seq 0 at horizon 1: surprise compares them, so seq 0 was observed first.
    expect(r2!.surpriseHorizon).toBe(1);
    expect(r2!.surprise).not.toBeNull();
  });

  it('sheds the rows of a failing in-process batch as engine_error and goes on', async () => {
    const s = await track(tinyService({ maxBatch: 1, inlineMaxRows: 1 }, { utilization: idle }));
    expect(await within(s.submit({ sessionId: 'a', patientId: 'p', seq: 0, x: row(999, 0, 0) }))).toMatchObject({ shed: true, reason: 'engine_error' });
    close(ok(await within(s.submit({ sessionId: 'a', patientId: 'p', seq: 1, x: row(1, 2, 3) }))).latent, tinyLatent([1, 2, 3], D));
    expect(s.stats().inline).toMatchObject({ batches: 2, rows: 2 });
    expect(s.stats().shed.engine_error).toBe(1);
  });

  it('swaps a model in-process at the next batch boundary', async () => {
    const biasFor = new Map([
      ['p@1', 1],
      ['p@2', 100],
    ]);
    const s = await track(
      tinyService(
        { maxBatch: 1, inlineMaxRows: 1 },
        {
          utilization: idle,
          loadModel: (_pid, ref) => Promise.resolve({ ref: ref ?? 'p@1', adapter: { bias: new Float32Array(D).fill(biasFor.get(ref ?? 'p@1')!) } }),
        },
      ),
    );
    await s.ensureModel('p');
    const x = row(0, 0, 0);
    const r1 = ok(await within(s.submit({ sessionId: 'a', patientId: 'p', seq: 0, x })));
    await s.swapModel('p', 'p@2');
    const r2 = ok(await within(s.submit({ sessionId: 'a', patientId: 'p', seq: 1, x })));
    expect([r1.model, r2.model]).toEqual(['p@1', 'p@2']);
    close(r1.latent, [1, 1, 1, 1]);
    close(r2.latent, [100, 100, 100, 100]);
    expect(s.stats().inline.batches).toBe(2);
  });

  it('rejects bad inline options with INVALID_OPTIONS', async () => {
    await expect(tinyService({ inlineMaxRows: -1 })).rejects.toMatchObject({ code: InferenceErrorCode.INVALID_OPTIONS });
    await expect(tinyService({ inlineMaxRows: 1.5 })).rejects.toMatchObject({ code: InferenceErrorCode.INVALID_OPTIONS });
    await expect(tinyService({ inlineMaxUtilization: 2 })).rejects.toMatchObject({ code: InferenceErrorCode.INVALID_OPTIONS });
  });
});
