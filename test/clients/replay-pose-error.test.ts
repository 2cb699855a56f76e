// `jepa-motion replay --json` against the real server serving the shipped model with live predicted
// poses: the report's predicted-vs-actual pose error per horizon (clients/simulator/pose-error.ts) on
// public gait recordings, against the zero-velocity baseline on the same frames.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PoseErrorStats, PoseErrorTracker, type PoseErrorReport } from '../../clients/simulator/pose-error.js';
import { POSE_DIM } from '../../models/probe-pose.js';
import { replayCommand } from '../../src/cli/replay.js';
import type { CliIo } from '../../src/cli/io.js';
import { SHIPPED_MODEL_DIR } from '../../src/config.js';
import { createInferenceService } from '../../src/inference/inference-service.js';
import type { InferenceService } from '../../src/inference/types.js';
import type { Feedback } from '../../src/protocol/index.js';
import { livePipeline } from '../../src/sessions/live-pipeline.js';
import { JOINT_INDEX } from '../../streams/skeleton.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';
import { startTestServer, token, type TestServer } from './fixture.js';

const HORIZONS = [1, 5, 10, 30];

/** A body (root at x, facing +z: right hip at −x) with one knee lifted by `lift` metres. */
function body(x: number, lift: number): Float32Array {
  const p = new Float32Array(POSE_DIM);
  for (let j = 0; j < 20; j++) p.set([x, 1 - 0.04 * j, 0], 3 * j);
  p.set([x, 1, 0], 3 * JOINT_INDEX.root);
  p.set([x + 0.1, 1, 0], 3 * JOINT_INDEX.left_hip);
  p.set([x - 0.1, 1, 0], 3 * JOINT_INDEX.right_hip);
  p.set([x + 0.1, 0.5 + lift, 0], 3 * JOINT_INDEX.left_knee);
  return p;
}
const fb = (seq: number, joints: Float32Array, predictions: Feedback['predictions']): Feedback => ({
  type: 'feedback',
  seq,
  t: seq / 60,
  phase: 'stance',
  contacts: { left: true, right: true },
  metrics: {},
  joints,
  uncertainty: 0.1,
  surprise: null,
  predictions,
});

describe('pose error tracker', () => {
  it('scores the prediction made at t for t+h against the pose at t+h, root-relative, beside zero velocity', () => {
    const stats = new PoseErrorStats();
    const tr = new PoseErrorTracker(stats);
    // t = 0: knee down; predicts the knee 10 cm up at h = 2 (but the body walks 1 m: root-relative, no penalty).
    tr.observe(fb(0, body(0, 0), [{ h: 2, pose: body(0, 0.1) }]));
    tr.observe(fb(1, body(0.5, 0.05), []));
    // t = 2: the knee is 6 cm up → model error 4 cm on 1 of 19 joints, zero velocity 6 cm.
    tr.observe(fb(2, body(1, 0.06), []));
    const r = stats.report();
    expect(r.unit).toBe('mm');
    expect(r.horizons['2']?.pairs).toBe(1);
    expect(r.horizons['2']?.model).toBeCloseTo(40 / 19, 1);
    expect(r.horizons['2']?.zero_velocity).toBeCloseTo(60 / 19, 1);
    expect(Object.keys(r.horizons)).toEqual(['2']);
  });

  it('keeps only the frames a future frame can still score', () => {
    const stats = new PoseErrorStats();
    const tr = new PoseErrorTracker(stats);
    for (let s = 0; s < 1000; s++) tr.observe(fb(s, body(0, 0), [{ h: 3, pose: body(0, 0) }]));
    expect((tr as unknown as { seen: Map<number, unknown> }).seen.size).toBeLessThanOrEqual(4);
    expect(stats.report().horizons['3']).toEqual({ model: 0, zero_velocity: 0, pairs: 997 });
  });
});

describe.skipIf(!hasMotionData)('replay --json on the real server with the shipped model: predicted pose error per horizon', () => {
  let inference: InferenceService;
  let srv: TestServer;
  beforeAll(async () => {
    inference = await createInferenceService({
      workers: 1,
      maxBatch: 64,
      maxWaitMs: 2,
      maxQueueAgeMs: 60_000, // accuracy here, not latency: nothing may be shed on a loaded box
      backend: 'wasm',
      engine: {
        module: new URL('../../src/inference/tfjs-engine.ts', import.meta.url),
        options: { checkpointDir: SHIPPED_MODEL_DIR, horizons: HORIZONS, passes: 10, poses: true },
      },
    });
    srv = await startTestServer({ env: { HORIZONS: HORIZONS.join(',') }, deps: { pipeline: livePipeline(), inference } });
  }, 120_000);
  afterAll(async () => {
    await srv?.close();
    await inference?.close();
  });

  async function replay(
    file: string,
  ): Promise<{ code: number; report: { feedback_received: number; shed: number; pose_error: PoseErrorReport }; text: string }> {
    let out = '';
    const io: CliIo = { out: (t) => (out += t), err: () => undefined, env: {}, isTty: false };
    const args = [file, '--url', srv.ws, '--speed', '3', '--patient', 'p-acc', '--token', token({ clinic: 'c1', role: 'device', patient: 'p-acc' })];
    const code = await replayCommand([...args, '--json'], io);
    const report = JSON.parse(out) as { feedback_received: number; shed: number; pose_error: PoseErrorReport };
    return { code, report, text: out };
  }

  // In-sample for the shipped model (it was trained on every public subject); the held-out figures are
  // `npm run build:pretrained`'s leave-subject-out table in the README.
  it.each([
    ['OpenSim subject01 walk', motion('opensim-gait', 'subject01_walk1.trc')],
    ['Shida SUB05 walk', motion('shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d')],
  ])(
    '%s: every frame answered with poses; below zero velocity at Δh 10 and 30',
    async (_name, file) => {
      const { code, report, text } = await replay(file);
      expect(code).toBe(0);
      expect(report.shed).toBe(0);
      expect(report.pose_error.unit).toBe('mm');
      expect(report.pose_error.definition).toMatch(/MPJPE.*jepa-motion eval pose_mm/);
      const e = report.pose_error.horizons;
      expect(Object.keys(e)).toEqual(HORIZONS.map(String));
      for (const h of HORIZONS) expect(e[String(h)]?.pairs).toBe(report.feedback_received - h);
      expect(e['10']!.model).toBeLessThan(e['10']!.zero_velocity);
      expect(e['30']!.model).toBeLessThan(e['30']!.zero_velocity);
      // Sanity of scale: a walk moves the limbs centimetres in 10 frames, not metres.
      expect(e['10']!.zero_velocity).toBeGreaterThan(10);
      expect(e['10']!.zero_velocity).toBeLessThan(300);
      expect(text.endsWith('\n')).toBe(true);
    },
    120_000,
  );

  it('the human-readable report names the error per horizon, its unit and definition', async () => {
    let out = '';
    const io: CliIo = { out: (t) => (out += t), err: () => undefined, env: {}, isTty: false };
    const file = motion('opensim-gait', 'subject01_walk1.trc');
    const code = await replayCommand(
      [file, '--url', srv.ws, '--speed', '3', '--patient', 'p-acc', '--token', token({ clinic: 'c1', role: 'device', patient: 'p-acc' })],
      io,
    );
    expect(code).toBe(0);
    for (const h of HORIZONS) expect(out).toMatch(new RegExp(`predicted pose error Δh ${h}: model [0-9.]+ mm, zero-velocity [0-9.]+ mm \\(\\d+ frames\\)`));
    expect(out).toContain('jepa-motion eval pose_mm');
  }, 120_000);
});
