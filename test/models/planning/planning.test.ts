// Stages 7 and 8 on real recordings with the shipped model: the physics filter, goal-conditioned
// planning judged on held-back frames, and corrections that make failed variants pass.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judge } from '../../../models/planning/criteria.js';
import { MEMO_GOALS, planGoal } from '../../../models/planning/goal.js';
import { keyframes, KEYFRAMES_FALLBACK, rootSpeedPhases } from '../../../models/planning/keyframes.js';
import type { PlanningModel } from '../../../models/planning/latent-model.js';
import { physicsFilter } from '../../../models/planning/physics-filter.js';
import { PlanningError } from '../../../models/planning/planning-error.js';
import type { LatentContext } from '../../../models/planning/rollout.js';
import { executeVariants } from '../../../models/planning/sim-execution.js';
import { planVariants, variantTrack, type VariantPlan } from '../../../models/planning/variants.js';
import { createRng, dropoutMask } from '../../../models/rng.js';
import { predictorForward, scaleHorizon, type WorldModel } from '../../../models/world-model.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';
import { pretrainedPlanningModel, sessionContext } from './fixture.js';

describe('root-speed phases and keyframes', () => {
  it('a body that never changes speed has no phase change: 5 evenly spaced keyframes', () => {
    const T = 101;
    const t = Float64Array.from({ length: T }, (_, i) => i / 60);
    const joints = new Float32Array(T * 60);
    for (let i = 0; i < T; i++) joints[i * 60 + 2] = i * 0.02; // root at constant 1.2 m/s
    const ph = rootSpeedPhases(t, joints);
    expect(ph.segments).toHaveLength(1);
    expect(keyframes(ph)).toEqual([0, 25, 50, 75, 100]);
    expect(keyframes(ph)).toHaveLength(KEYFRAMES_FALLBACK);
  });

  it('walk, slow down, walk, speed up: keyframes at first, last and every phase change', () => {
    // 1.2 m/s, 0.3 m/s, 1.2 m/s, 2.4 m/s: mean 1.25, std 0.61 → static < 0.64, dynamic > 1.86.
    const T = 180;
    const t = Float64Array.from({ length: T }, (_, i) => i / 60);
    const joints = new Float32Array(T * 60);
    let z = 0;
    for (let i = 0; i < T; i++) {
      z += (i >= 60 && i < 90 ? 0.3 : i >= 150 ? 2.4 : 1.2) / 60;
      joints[i * 60 + 2] = z;
    }
    const ph = rootSpeedPhases(t, joints);
    const keys = keyframes(ph);
    expect(keys[0]).toBe(0);
    expect(keys[keys.length - 1]).toBe(T - 1);
    expect(ph.phase[30]).toBe('transition');
    expect(ph.phase[75]).toBe('static');
    expect(ph.phase[165]).toBe('dynamic');
    expect(ph.segments.map((s) => s.phase)).toEqual(['transition', 'static', 'transition', 'dynamic']);
    expect(keys.slice(1, -1)).toEqual(ph.segments.slice(1).map((s) => s.start));
  });
});

describe.skipIf(!hasMotionData)('planning on real recordings (shipped model)', () => {
  let pm: { model: PlanningModel; world: WorldModel; dispose(): void };
  let gait: LatentContext;
  let plan: VariantPlan;
  beforeAll(async () => {
    pm = await pretrainedPlanningModel();
    gait = await sessionContext(pm.model, motion('shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d'), 'gait');
    plan = planVariants(gait);
  }, 120_000);
  afterAll(() => pm?.dispose());

  it('variants: small perturbations are mostly accepted, large ones mostly rejected, each rejection with its reason', () => {
    const rate = (m: number): number => {
      const v = plan.variants.filter((x) => x.magnitude === m);
      return v.filter((x) => x.accepted).length / v.length;
    };
    expect(rate(0.1)).toBeGreaterThan(0.6);
    expect(rate(1)).toBeLessThan(rate(0.1));
    for (const v of plan.variants.filter((x) => !x.accepted)) {
      expect(v.reasons.length).toBeGreaterThan(0);
      for (const r of v.reasons) expect(r.detail.length).toBeGreaterThan(0);
    }
  });

  it('the physics filter rejects an accepted variant pushed 5 cm into the floor, naming the foot and depth', () => {
    const v = plan.variants.find((x) => x.accepted)!;
    const s = gait.session;
    expect(physicsFilter({ t: s.t, observed: s.joints, variant: v.joints, start: v.start, end: v.end, reference: plan.reference })).toEqual([]);
    const sunk = v.joints.slice();
    for (let i = v.start; i <= v.end; i++) for (let j = 0; j < 20; j++) sunk[i * 60 + 3 * j + 1]! -= 0.05;
    const reasons = physicsFilter({ t: s.t, observed: s.joints, variant: sunk, start: v.start, end: v.end, reference: plan.reference });
    const pen = reasons.find((r) => r.check === 'ground_penetration');
    expect(pen).toBeDefined();
    expect(pen!.value).toBeGreaterThan(0.03);
    expect(pen!.detail).toMatch(/(left|right) foot \d+\.\d cm below the floor/);
  });

  it('goal: +5° right knee flexion in mid-stance moves it by ≈ +5° on held-back steps, with uncertainty', () => {
    const up = planGoal(gait, { quantity: 'knee_flexion_r', phase: 'mid_stance', delta: 5 });
    expect(up.reached).toBe(true);
    expect(up.held_back).not.toBeNull();
    expect(up.held_back!.frames).toBeGreaterThan(20);
    expect(up.held_back!.change!).toBeGreaterThan(2.5);
    expect(up.held_back!.change!).toBeLessThan(7.5);
    expect(up.held_back!.uncertainty_sd).not.toBeNull();
    const knee = up.metrics.find((m) => m.quantity === 'knee_flexion_r')!;
    expect(knee.unit).toBe('deg');
    expect(knee.change!).toBeGreaterThan(2.5);
    expect(up.metrics.map((m) => m.quantity)).toContain('step_time_asymmetry');
    const down = planGoal(gait, { quantity: 'knee_flexion_r', phase: 'mid_stance', delta: -5 });
    expect(down.held_back!.change!).toBeLessThan(-2.5);
  });

  it('predictOffsets: the same latents as predict on each row moved by each offset (first layer split by linearity)', () => {
    const L = pm.model.latentDim;
    const n = 7;
    const z = gait.z.slice(0, n * L);
    const dh = Float32Array.from({ length: n }, (_, i) => 1 + 4 * i);
    const deltas = Float32Array.from({ length: 3 * L }, (_, i) => Math.sin(i) * 0.3);
    const got = pm.model.predictOffsets(z, dh, deltas);
    expect(got.length).toBe(3 * n * L);
    for (let k = 0; k < 3; k++) {
      const moved = Float32Array.from(z, (v, j) => v + deltas[k * L + (j % L)]!);
      const want = pm.model.predict(moved, dh);
      for (let j = 0; j < n * L; j++) expect(got[k * n * L + j]!).toBeCloseTo(want[j]!, 4);
    }
  });

  it('decodeOffsets: the decoded predictOffsets (last layer and probe folded), and at dh = 0 the decoded moved latent', () => {
    const L = pm.model.latentDim;
    const n = 6;
    const z = gait.z.slice(0, n * L);
    const dh = Float32Array.from([0, 1, 2, 7, 0, 30]);
    const deltas = Float32Array.from({ length: 2 * L }, (_, i) => Math.cos(i) * 0.3);
    const got = pm.model.decodeOffsets(z, dh, deltas);
    expect(got.length).toBe(2 * n * 60);
    for (let k = 0; k < 2; k++) {
      const moved = Float32Array.from(z, (v, j) => v + deltas[k * L + (j % L)]!);
      const pred = pm.model.predict(
        moved,
        Float32Array.from(dh, (h) => Math.max(1, h)),
      );
      for (let i = 0; i < n; i++) if (dh[i] === 0) pred.set(moved.subarray(i * L, (i + 1) * L), i * L);
      const want = pm.model.decode(pred);
      for (let j = 0; j < n * 60; j++) expect(got[k * n * 60 + j]!).toBeCloseTo(want[j]!, 4);
    }
  });

  it('predictPasses: the MC-dropout passes of predictorForward under the same masks (first layer computed once for all passes)', () => {
    const L = pm.model.latentDim;
    const cfg = pm.world.config;
    const n = 5;
    const passes = 3;
    const z = gait.z.slice(0, n * L);
    const dh = Float32Array.from([1, 3, 5, 8, 13]);
    const got = pm.model.predictPasses(z, dh, passes, 7);
    const mask = dropoutMask(createRng(7), passes * n * cfg.hiddenDim, cfg.dropout);
    const want = tf.tidy(() =>
      predictorForward(
        pm.world.predictor,
        tf.tile(tf.tensor2d(z, [n, L]), [passes, 1]) as tf.Tensor2D,
        tf.tile(
          tf.tensor2d(
            Float32Array.from(dh, (h) => scaleHorizon(h, cfg.horizonScaling)),
            [n, 1],
          ),
          [passes, 1],
        ) as tf.Tensor2D,
        tf.tensor2d(mask, [passes * n, cfg.hiddenDim]),
        undefined,
        cfg.residual,
      ).dataSync(),
    );
    for (let p = 0; p < passes; p++) for (let j = 0; j < n * L; j++) expect(got[p]![j]!).toBeCloseTo(want[p * n * L + j]!, 4);
  });

  it('decodePasses: each pass of predictPasses decoded (same masks; last layer and probe folded), at dh = 0 the decoded latent', () => {
    const L = pm.model.latentDim;
    const n = 5;
    const z = gait.z.slice(0, n * L);
    const dh = Float32Array.from([0, 2, 9, 0, 25]);
    const got = pm.model.decodePasses(z, dh, 4, 11);
    const preds = pm.model.predictPasses(
      z,
      Float32Array.from(dh, (h) => Math.max(1, h)),
      4,
      11,
    );
    expect(got.length).toBe(4);
    preds.forEach((pred, q) => {
      for (let i = 0; i < n; i++) if (dh[i] === 0) pred.set(z.subarray(i * L, (i + 1) * L), i * L);
      const want = pm.model.decode(pred);
      for (let j = 0; j < n * 60; j++) expect(got[q]![j]!).toBeCloseTo(want[j]!, 4);
    });
  });

  it('decodePasses with row keys: a row gets the same passes in any subset of rows; another key, other masks', () => {
    const L = pm.model.latentDim;
    const n = 9;
    const z = gait.z.slice(0, n * L);
    const dh = Float32Array.from([0, 1, 4, 9, 0, 17, 30, 2, 6]);
    const keys = Uint32Array.from([40, 41, 42, 43, 44, 45, 46, 47, 48]);
    const all = pm.model.decodePasses(z, dh, 5, 3, keys);
    const rows = [1, 5, 6];
    const some = pm.model.decodePasses(
      Float32Array.from(rows.flatMap((i) => Array.from(z.subarray(i * L, (i + 1) * L)))),
      Float32Array.from(rows, (i) => dh[i]!),
      5,
      3,
      Uint32Array.from(rows, (i) => keys[i]!),
    );
    for (let p = 0; p < 5; p++)
      rows.forEach((i, r) => {
        for (let c = 0; c < 60; c++) expect(some[p]![r * 60 + c]!).toBeCloseTo(all[p]![i * 60 + c]!, 5);
      });
    // The passes do differ from each other (dropout is on), and a row under another key gets other masks.
    expect(Array.from(all[0]!.subarray(60, 120))).not.toEqual(Array.from(all[1]!.subarray(60, 120)));
    const moved = pm.model.decodePasses(z.subarray(L, 2 * L), dh.subarray(1, 2), 5, 3, Uint32Array.from([999]));
    expect(Array.from(moved[0]!)).not.toEqual(Array.from(all[0]!.subarray(60, 120)));
  });

  it('goal: the fast path (MC only on the frames the answer reads) answers as the full path on a real gait', () => {
    for (const g of [
      { quantity: 'knee_flexion_r', phase: 'mid_stance', delta: 5 },
      { quantity: 'hip_flexion_l', phase: 'stance', delta: -3 },
      { quantity: 'step_time_asymmetry', delta: -5 },
    ] as const) {
      const full = planGoal({ ...gait, memo: new Map<string, unknown>() }, g);
      const fast = planGoal({ ...gait, memo: new Map<string, unknown>() }, g, { frameUncertainty: false });
      expect(fast.frame_uncertainty_m).toBeNull();
      expect(full.frame_uncertainty_m).toHaveLength(gait.session.t.length);
      if (full.latent_norm > 0) expect(full.frame_uncertainty_m!.some((u) => u > 0)).toBe(true);
      expect(fast.w).toEqual(full.w);
      expect(fast.reached).toBe(full.reached);
      expect(fast.iterations).toBe(full.iterations);
      expect(fast.physics).toEqual(full.physics);
      expect(fast.planning).toEqual(full.planning);
      expect(Array.from(fast.trajectory)).toEqual(Array.from(full.trajectory));
      expect(fast.metrics.map((m) => m.quantity)).toEqual(full.metrics.map((m) => m.quantity));
      fast.metrics.forEach((m, i) => {
        const f = full.metrics[i]!;
        expect(m.change).toBe(f.change);
        expect(f.uncertainty_sd).not.toBeNull();
        // The same passes on the same frames, decoded in other batches: equal to float rounding.
        expect(m.uncertainty_sd!).toBeCloseTo(f.uncertainty_sd!, 4);
      });
      if (full.held_back) {
        expect(fast.held_back!.change).toBe(full.held_back.change);
        expect(fast.held_back!.uncertainty_sd!).toBeCloseTo(full.held_back.uncertainty_sd!, 4);
      } else expect(fast.held_back).toBeNull();
    }
  }, 120_000);

  it('goal: a question on a context that kept earlier questions’ work plans exactly as on a fresh one; the kept work is bounded', () => {
    const warm = { ...gait, memo: new Map<string, unknown>() };
    const goals = [
      { quantity: 'knee_flexion_r', phase: 'mid_stance', delta: 3 },
      { quantity: 'knee_flexion_l', phase: 'mid_stance', delta: 3 },
      { quantity: 'hip_flexion_r', phase: 'stance', delta: -2 },
      { quantity: 'knee_flexion_l', phase: 'swing', delta: 2 },
      { quantity: 'hip_flexion_l', phase: 'swing', delta: 2 },
    ] as const;
    for (const g of goals) planGoal(warm, g);
    expect(warm.memo.size).toBe(MEMO_GOALS);
    for (const g of goals.slice(1)) {
      const kept = planGoal(warm, g);
      const fresh = planGoal({ ...gait, memo: new Map<string, unknown>() }, g);
      expect(kept.w).toEqual(fresh.w);
      expect(kept.held_back).toEqual(fresh.held_back);
      expect(kept.metrics).toEqual(fresh.metrics);
      expect(Array.from(kept.frame_uncertainty_m!)).toEqual(Array.from(fresh.frame_uncertainty_m!));
    }
  });

  it('goal: a phase the session does not have is a coded PlanningError', () => {
    expect(() => planGoal(gait, { quantity: 'squat_depth', delta: 0.05 })).toThrow(PlanningError);
  });

  it('sim execution: every corrected failed variant passes the gait criteria when re-executed', () => {
    const ex = executeVariants(gait, plan);
    expect(ex.failure_analysis.labelled).toBe(plan.variants.filter((v) => v.accepted).length);
    expect(ex.corrections.length).toBeGreaterThan(0);
    for (const c of ex.corrections) {
      const v = plan.variants.find((x) => x.id === c.variant)!;
      expect(judge(gait.session, v.joints, range(v.start, v.end)).every((x) => x.passed)).toBe(false);
      const fixed = variantTrack(
        gait,
        v.start,
        v.end,
        v.w.map((x, d) => x + c.c[d]!),
      );
      expect(judge(gait.session, fixed, range(v.start, v.end)).every((x) => x.passed)).toBe(true);
      expect(c.verified).toBe(true);
    }
    expect(ex.failure_analysis.ranking.length).toBeGreaterThan(0);
    const strengths = ex.failure_analysis.ranking.map((f) => f.strength);
    expect(strengths).toEqual([...strengths].sort((a, b) => b - a));
  });
});

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);
