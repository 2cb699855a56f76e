// Live predicted poses: the inference service (tfjs-wasm engine in a worker thread) serving the shipped
// model with its probe decoder, on a real recording. The poses it returns must be the offline probe
// decode of the same frame's prediction (models/evaluate.ts pose_mm definition) in the frame's world pose.
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../models/backend.js';
import { loadCheckpoint } from '../../models/checkpoint.js';
import { loadFeatureSequence } from '../../models/feature-sequences.js';
import { normalizeRows } from '../../models/dataset.js';
import { decodePoses, type ProbeDecoder } from '../../models/probe-decoder.js';
import { canonicalPose, POSE_DIM, poseFrame, worldPose } from '../../models/probe-pose.js';
import type { FeatureSequence } from '../../models/types.js';
import { encode, predict, WorldModel } from '../../models/world-model.js';
import { SHIPPED_MODEL_DIR } from '../../src/config.js';
import { InferenceErrorCode } from '../../src/inference/errors.js';
import { createInferenceService } from '../../src/inference/inference-service.js';
import { createEngine, loadProbe } from '../../src/inference/tfjs-engine.js';
import type { InferenceResult, InferenceService, Shed } from '../../src/inference/types.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';

const HORIZONS = [1, 5, 10, 30];
let seq: FeatureSequence;
let probe: ProbeDecoder;
let service: InferenceService | undefined;
let dir = '';

const ok = (r: InferenceResult | Shed): InferenceResult => {
  if (r.shed) throw new Error(`row ${r.sessionId}/${r.seq} shed: ${r.reason}`);
  return r;
};

describe.skipIf(!hasMotionData)('live predicted poses from the shipped model (Shida SUB05 walk)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-live-poses-'));
    seq = await loadFeatureSequence({ path: motion('shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d'), assessment: 'gait', subject: 'SUB05' });
    probe = await loadProbe(SHIPPED_MODEL_DIR);
    service = await createInferenceService({
      workers: 1,
      maxBatch: 64,
      maxWaitMs: 2,
      maxQueueAgeMs: 60_000, // correctness here, not latency
      backend: 'wasm',
      engine: {
        module: new URL('../../src/inference/tfjs-engine.ts', import.meta.url),
        options: { checkpointDir: SHIPPED_MODEL_DIR, horizons: HORIZONS, passes: 10, poses: true },
      },
    });
  }, 120_000);

  afterAll(async () => {
    await service?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("every prediction carries its uncertainty and a world pose = the offline model + probe on the same frame, in the frame's world frame", async () => {
    const s = service!;
    expect(s.decodesPoses).toBe(true);
    const F = seq.names.length;
    const T = seq.t.length;
    const frames = Array.from({ length: 40 }, (_, i) => Math.floor((i * (T - 1)) / 39));
    const out = (
      await Promise.all(
        frames.map((t) =>
          s.submit({
            sessionId: 's',
            patientId: 'p',
            seq: t,
            x: seq.x.subarray(t * F, (t + 1) * F),
            pose: seq.poses.subarray(t * POSE_DIM, (t + 1) * POSE_DIM),
          }),
        ),
      )
    ).map(ok);
    // Offline, in this process (cpu backend): the shipped model's dropout-off latent and prediction of the
    // same frames (WorldModel encode/predict, as `jepa-motion eval`), decoded by the same probe.
    await selectBackend('cpu');
    const ck = await loadCheckpoint(SHIPPED_MODEL_DIR);
    if (ck.kind !== 'base') throw new Error('the shipped model is a base checkpoint');
    const model = new WorldModel(ck.modelConfig, ck.weights);
    let worst = 0;
    let compared = 0;
    out.forEach((r, i) => {
      const t = frames[i]!;
      const pose = seq.poses.subarray(t * POSE_DIM, (t + 1) * POSE_DIM);
      const frame = poseFrame(pose);
      expect(frame).not.toBeNull();
      const z = encode(model, normalizeRows(seq.x.subarray(t * F, (t + 1) * F), ck.normalization));
      for (let d = 0; d < z.length; d++) expect(Math.abs(z[d]! - r.latent[d]!)).toBeLessThan(1e-3);
      const now = decodePoses(probe, z);
      expect(r.predictions.map((p) => p.horizon)).toEqual(HORIZONS);
      const meanU = r.predictions.reduce((a, p) => a + p.uncertainty, 0) / HORIZONS.length;
      expect(r.uncertainty).toBeCloseTo(meanU, 5);
      for (const p of r.predictions) {
        expect(p.uncertainty).toBeGreaterThan(0);
        expect(p.pose?.length).toBe(POSE_DIM);
        const ahead = decodePoses(probe, predict(model, z, Float32Array.of(p.horizon)));
        const expected = worldPose(
          canonicalPose(pose).map((v, c) => v + ahead[c]! - now[c]!),
          frame!,
        );
        for (let c = 0; c < POSE_DIM; c++) {
          if (!Number.isFinite(expected[c])) continue;
          worst = Math.max(worst, Math.abs(p.pose![c]! - expected[c]!));
          compared++;
        }
      }
    });
    model.dispose();
    expect(compared).toBeGreaterThan(40 * HORIZONS.length * 50);
    expect(worst).toBeLessThan(1e-3); // metres (1 mm): wasm vs cpu float32 through the model, float64 JS decode
  });

  it('rejects a pose of the wrong length; a row without a pose gets predictions without poses', async () => {
    const s = service!;
    const F = seq.names.length;
    const x = seq.x.subarray(0, F);
    await expect(s.submit({ sessionId: 'b', patientId: 'p', seq: 0, x, pose: new Float32Array(3) })).rejects.toMatchObject({
      code: InferenceErrorCode.BAD_INPUT,
    });
    const r = ok(await s.submit({ sessionId: 'b', patientId: 'p', seq: 1, x }));
    expect(r.predictions.every((p) => p.pose === undefined && p.uncertainty > 0)).toBe(true);
  });

  it('an engine asked for poses without a probe.npz beside the model refuses to start, naming the file and LIVE_POSES', async () => {
    await selectBackend('cpu');
    // The shipped model without its probe.
    const bare = join(dir, 'bare');
    await mkdir(bare);
    for (const f of ['checkpoint.json', 'weights.bin']) await copyFile(join(SHIPPED_MODEL_DIR, f), join(bare, f));
    expect((await loadCheckpoint(bare)).kind).toBe('base');
    await expect(createEngine({ backend: 'cpu', options: { checkpointDir: bare, horizons: [1, 5, 10, 30], passes: 10, poses: true } })).rejects.toMatchObject({
      code: InferenceErrorCode.INVALID_OPTIONS,
      message: expect.stringMatching(/bare\/probe\.npz does not exist.*LIVE_POSES=0/),
    });
    const without = await createEngine({ backend: 'cpu', options: { checkpointDir: bare, horizons: [1, 5, 10, 30], passes: 10 } });
    expect(without.decodesPoses).toBe(false);
    without.dispose?.();
  });
});
