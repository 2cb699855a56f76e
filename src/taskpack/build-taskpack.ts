// Stages 0–9 for one session, written as a task pack directory with a chained manifest (stage 10).
// The CLI (`jepa-motion taskpack`) and the taskpack job run exactly this function.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { selectBackend } from '../../models/backend.js';
import { exportMerged, loadCheckpoint, type BaseCheckpoint } from '../../models/checkpoint.js';
import { normalizeRows } from '../../models/dataset.js';
import { buildTransitionDataset, datasetFiles } from '../../models/dataset-file.js';
import { evaluableWorldModel } from '../../models/evaluate-world-model.js';
import { encodeNpz } from '../../models/npz.js';
import { planGoal, type Goal, type GoalPlan } from '../../models/planning/goal.js';
import { planningModel, type PlanningModel } from '../../models/planning/latent-model.js';
import { latentContext } from '../../models/planning/rollout.js';
import { planningSession } from '../../models/planning/session.js';
import { executeVariants } from '../../models/planning/sim-execution.js';
import { planVariants } from '../../models/planning/variants.js';
import { PlanningError } from '../../models/planning/planning-error.js';
import { probeFromNpz, type ProbeDecoder } from '../../models/probe-decoder.js';
import { WorldModel } from '../../models/world-model.js';
import { featureNames } from '../../streams/features.js';
import type { MetricsFrame } from '../../streams/metrics.js';
import { simReplayLog } from '../../streams/sim-replay.js';
import { JOINT_COUNT } from '../../streams/skeleton.js';
import { summarize } from '../../streams/summary.js';
import type { Assessment } from '../../streams/types.js';
import { ArtifactWriter, sha256, type ChainLink, type Manifest } from '../pipeline/manifest.js';
import { assessmentFor, processRecording } from '../pipeline/run-pipeline.js';
import { readAnyRecording } from '../pipeline/session-recording.js';
import { fileSha256 } from '../storage/file-hash.js';
import { gaitCycleCurves, timeCurves } from './angle-curves.js';
import { angleChart, phaseChart, uncertaintyChart } from './charts.js';
import { metricRows } from './normative.js';
import { renderReport } from './report.js';
import { TaskPackError, TaskPackErrorCode } from './taskpack-error.js';

export const TASKPACK_TOOL = 'jepa-motion taskpack';
/** MC-dropout horizon of the uncertainty timeline (frames): the live service's middle horizon. */
export const UNCERTAINTY_HORIZON = 10;
/**
 * Transitions stored in a pack's dataset (stage 5). A sample, drawn with the stored seed from every
 * (t, Δh) pair of the session: 2000 pairs × 2 × 160 features ≈ 2.5 MB, where all pairs would be tens of
 * MB per session; the full set is reproducible from states.npz and the seed.
 */
export const DATASET_MAX_PAIRS = 2000;

export interface ModelSource {
  /** Checkpoint directory (base, or a patient adapter with `baseDir`). */
  readonly dir: string;
  /** Base checkpoint a patient adapter was trained on (its probe decodes the patient model too: adapter training keeps the base's target encoder). */
  readonly baseDir?: string;
  /** Registry version or another stable name of the model. */
  readonly version: string;
}

export interface TaskPackInput {
  readonly recordingPath: string;
  readonly out: string;
  readonly model: ModelSource;
  readonly patient: string;
  readonly session: string;
  readonly clinic?: string;
  readonly assessment?: Assessment;
  readonly now?: () => Date;
  /** Called after each stage (the job's heartbeat to the bus). */
  readonly onProgress?: (stage: string) => void;
  /** Awaited after each stage: a background build paces itself here (src/jobs/pacer.ts); not in `seconds`. */
  readonly pace?: () => Promise<void>;
}

export interface TaskPackResult {
  readonly id: string;
  readonly dir: string;
  readonly patient: string;
  readonly session: string;
  readonly clinic: string | null;
  readonly assessment: Assessment;
  readonly recordingSha256: string;
  readonly modelVersion: string;
  readonly manifest: Manifest;
  readonly seconds: Readonly<Record<string, number>>;
}

/** A pack's identity: one per recording content and model (the job's idempotency key). */
export const taskPackId = (recordingSha256: string, modelVersion: string): string => `tp-${sha256(`${recordingSha256}\n${modelVersion}`).slice(0, 24)}`;

export interface LoadedPlanningModel {
  readonly model: PlanningModel;
  readonly checkpoint: BaseCheckpoint;
  readonly weightsSha256: string;
  readonly probeSha256: string;
  readonly world: WorldModel;
  dispose(): void;
}

/** Loads a base or patient checkpoint (merged onto its base) and its probe as a PlanningModel. */
export async function loadPlanningModel(src: ModelSource): Promise<LoadedPlanningModel> {
  // A no-op when a backend is active; a process that only serves HTTP (inference runs in its worker
  // threads) has none on this thread yet.
  await selectBackend();
  const ckpt = await loadCheckpoint(src.dir, { featureNames: featureNames() });
  let merged: BaseCheckpoint;
  if (ckpt.kind === 'base') merged = ckpt;
  else {
    if (!src.baseDir) throw new TaskPackError(TaskPackErrorCode.MODEL, `${src.dir}: a patient adapter needs its base model directory`);
    merged = exportMerged(await loadCheckpoint(src.baseDir), ckpt);
  }
  let probeBytes: Buffer | null = null;
  for (const dir of [src.dir, src.baseDir]) {
    if (!dir || probeBytes) continue;
    probeBytes = await readFile(join(dir, 'probe.npz')).catch(() => null);
  }
  if (!probeBytes) throw new TaskPackError(TaskPackErrorCode.MODEL, `${src.dir}: no probe.npz beside the model or its base (written by jepa-motion train)`);
  const probe: ProbeDecoder = probeFromNpz(probeBytes);
  const world = new WorldModel(merged.modelConfig, merged.weights);
  return {
    model: planningModel(world, merged.normalization, probe),
    checkpoint: merged,
    weightsSha256: ckpt.weightsSha256,
    probeSha256: sha256(probeBytes),
    world,
    dispose: () => world.dispose(),
  };
}

/** The questions every report answers, per assessment. */
export function defaultGoals(a: Assessment): Goal[] {
  switch (a) {
    case 'gait':
      return [
        { quantity: 'knee_flexion_r', phase: 'mid_stance', delta: 5 },
        { quantity: 'knee_flexion_l', phase: 'mid_stance', delta: 5 },
      ];
    case 'squat':
      return [{ quantity: 'squat_depth', phase: 'bottom', delta: 0.05 }];
    case 'sit_to_stand':
      return [{ quantity: 'hip_flexion_r', phase: 'rising', delta: 5 }];
    case 'balance':
      return [{ quantity: 'sway', phase: 'all', delta: -0.01 }];
  }
}

const json = (v: unknown): string =>
  `${JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? null : x instanceof Float32Array ? Array.from(x) : x), 2)}\n`;

/** Strips the per-frame arrays of a plan (kept in the pack's NPZ where needed, not in JSON). */
export const planSummary = (p: GoalPlan): Omit<GoalPlan, 'trajectory' | 'frame_uncertainty_m'> => {
  const { trajectory: _t, frame_uncertainty_m: _u, ...rest } = p;
  return rest;
};

function quartiles(v: readonly number[]): [number, number] {
  const s = v.filter(Number.isFinite).sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))] ?? NaN;
  return [q(0.25), q(0.75)];
}

export async function buildTaskPack(inp: TaskPackInput): Promise<TaskPackResult> {
  const seconds: Record<string, number> = {};
  let mark = performance.now();
  const lap = async (name: string): Promise<void> => {
    seconds[name] = (performance.now() - mark) / 1000;
    inp.onProgress?.(name);
    await inp.pace?.();
    mark = performance.now();
  };
  const now = inp.now ?? (() => new Date());
  const recordingSha256 = await fileSha256(inp.recordingPath).catch((cause: unknown) => {
    throw new TaskPackError(TaskPackErrorCode.RECORDING, `${inp.recordingPath}: cannot read the recording`, { cause });
  });
  const recording = await readAnyRecording(inp.recordingPath);
  const assessment = assessmentFor(recording, inp.assessment);
  const states: MetricsFrame[] = await processRecording(recording, assessment);
  if (states.length < 2) throw new TaskPackError(TaskPackErrorCode.RECORDING, `${inp.recordingPath}: ${states.length} frame(s) — too short for a task pack`);
  const summary = summarize(states, recording.meta);
  await lap('stages_0_3');
  const id = taskPackId(recordingSha256, inp.model.version);
  const who = { patient: inp.patient, session: inp.session };
  const w = new ArtifactWriter(inp.out, TASKPACK_TOOL, now);
  const T = states.length;
  const stack = (pick: (s: MetricsFrame) => ArrayLike<number>, width: number): Float32Array => {
    const out = new Float32Array(T * width);
    states.forEach((s, i) => out.set(pick(s), i * width));
    return out;
  };
  const F = states[0]!.features.length;

  const P = {
    recording: '0-adapter/recording.json',
    states: '2-physical-state/states.npz',
    labels: '3-physics-labels/labels.json',
    simLog: '4-sim-replay/validation-log.json',
    datasetNpz: '5-dataset/dataset.npz',
    datasetJson: '5-dataset/dataset.json',
    model: '6-model/model-ref.json',
    phases: '7-planning/phases.json',
    variants: '7-planning/variants.json',
    variantsNpz: '7-planning/variants.npz',
    counterfactuals: '7-planning/counterfactuals.json',
    outcomes: '8-sim-execution/outcomes.json',
    corrections: '8-sim-execution/corrections.json',
    failure: '8-sim-execution/failure-analysis.json',
    metrics: '9-task-pack/metrics.json',
    uncertainty: '9-task-pack/uncertainty.json',
    report: '9-task-pack/report.html',
  } as const;

  await w.write(
    '0-adapter',
    P.recording,
    json({
      id,
      patient: inp.patient,
      session: inp.session,
      clinic: inp.clinic ?? null,
      file: inp.recordingPath,
      sha256: recordingSha256,
      frames: recording.frames.length,
      meta: recording.meta,
    }),
  );
  await w.write(
    '2-physical-state',
    P.states,
    encodeNpz({
      t: { dtype: '<f8', shape: [T], data: Float64Array.from(states, (s) => s.t) },
      joints: { dtype: '<f4', shape: [T, JOINT_COUNT, 3], data: stack((s) => s.joints, JOINT_COUNT * 3) },
      velocities: { dtype: '<f4', shape: [T, JOINT_COUNT, 3], data: stack((s) => s.velocities, JOINT_COUNT * 3) },
      com: { dtype: '<f4', shape: [T, 3], data: stack((s) => s.com ?? [NaN, NaN, NaN], 3) },
      contacts: { dtype: '|u1', shape: [T, 2], data: Uint8Array.from(states.flatMap((s) => [Number(s.contacts.left), Number(s.contacts.right)])) },
      stance: {
        dtype: '|u1',
        shape: [T, 2],
        data: Uint8Array.from(states.flatMap((s) => [Number(s.gait.left === 'stance'), Number(s.gait.right === 'stance')])),
      },
      features: { dtype: '<f4', shape: [T, F], data: stack((s) => s.features, F) },
    }),
  );
  await w.write(
    '3-physics-labels',
    P.labels,
    json({
      assessment,
      phases: summary.phases,
      events: summary.events,
      metrics: summary.metrics,
      frame_phase: states.map((s) => s.phase),
      quality: summary.quality,
    }),
  );
  const simLog = simReplayLog(
    { t: states.map((s) => s.t), joints: stack((s) => s.joints, JOINT_COUNT * 3), contacts: states.map((s) => s.contacts) },
    { assessment },
  );
  await w.write('4-sim-replay', P.simLog, json(simLog));
  await lap('stage_4');

  const seq = {
    names: featureNames(),
    x: stack((s) => s.features, F),
    t: Float64Array.from(states, (s) => s.t),
    poses: stack((s) => s.joints, 60),
    source: { file: inp.recordingPath, sha256: recordingSha256, subject: inp.patient },
  };
  const ds = datasetFiles(buildTransitionDataset([seq], { seed: 0, maxPairs: DATASET_MAX_PAIRS }));
  await w.write('5-dataset', P.datasetNpz, ds.npz);
  await w.write('5-dataset', P.datasetJson, ds.json);
  await lap('stage_5');

  const loaded = await loadPlanningModel(inp.model);
  const weightsSha256 = loaded.weightsSha256;
  try {
    await w.write(
      '6-model',
      P.model,
      json({
        version: inp.model.version,
        dir: inp.model.dir,
        base_dir: inp.model.baseDir ?? null,
        weights_sha256: loaded.weightsSha256,
        probe_sha256: loaded.probeSha256,
        model_config: loaded.checkpoint.modelConfig,
        backend: loaded.checkpoint.backend,
      }),
    );
    const session = planningSession(states, assessment);
    const ctx = latentContext(loaded.model, session);
    const plan = planVariants(ctx);
    await w.write(
      '7-planning',
      P.phases,
      json({
        rule: 'static < mean − std ≤ transition ≤ mean + std < dynamic (root speed, m/s)',
        mean: plan.phases.mean,
        std: plan.phases.std,
        segments: plan.phases.segments,
        keyframes: plan.keyframes,
      }),
    );
    const variantJson = plan.variants.map((v) => ({
      id: v.id,
      keyframe: v.keyframe,
      t_s: v.t_s,
      magnitude: v.magnitude,
      start: v.start,
      end: v.end,
      accepted: v.accepted,
      reasons: v.reasons,
      w: Array.from(v.w),
    }));
    await w.write('7-planning', P.variants, json({ latent_dim: ctx.model.latentDim, variants: variantJson }));
    const win = plan.variants.map((v) => v.joints.slice(v.start * 60, (v.end + 1) * 60));
    const offsets = Int32Array.from([0, ...win.map((a) => a.length / 60)].map((_, i, a) => a.slice(0, i + 1).reduce((x, y) => x + y, 0)));
    const allWin = new Float32Array(win.reduce((a, b) => a + b.length, 0));
    win.reduce((o, a) => (allWin.set(a, o), o + a.length), 0);
    await w.write(
      '7-planning',
      P.variantsNpz,
      encodeNpz({
        joints: { dtype: '<f4', shape: [allWin.length / 60, JOINT_COUNT, 3], data: allWin },
        offsets: { dtype: '<i4', shape: [offsets.length], data: offsets },
      }),
    );
    const goals: GoalPlan[] = [];
    const goalErrors: { goal: Goal; error: string }[] = [];
    for (const g of defaultGoals(assessment)) {
      try {
        goals.push(planGoal(ctx, g));
      } catch (e) {
        if (!(e instanceof PlanningError)) throw e;
        goalErrors.push({ goal: g, error: `${e.code}: ${e.message}` });
      }
    }
    await w.write('7-planning', P.counterfactuals, json({ plans: goals.map(planSummary), not_planned: goalErrors }));
    await lap('stage_7');
    const ex = executeVariants(ctx, plan);
    await w.write('8-sim-execution', P.outcomes, json(ex.outcomes));
    await w.write('8-sim-execution', P.corrections, json(ex.corrections));
    await w.write('8-sim-execution', P.failure, json(ex.failure_analysis));
    await lap('stage_8');

    // Stage 9: metrics, uncertainty timeline, report.
    const rows = metricRows(assessment, summary.metrics);
    await w.write('9-task-pack', P.metrics, json({ patient: inp.patient, session: inp.session, assessment, metrics: rows }));
    const mc = evaluableWorldModel(loaded.world, { backend: loaded.checkpoint.backend }).mcPredict(
      normalizeRows(seq.x, loaded.checkpoint.normalization),
      UNCERTAINTY_HORIZON,
    );
    const u = Array.from(mc.uncertainty);
    const [q1, q3] = quartiles(u);
    const threshold = q3 + 1.5 * (q3 - q1); // Tukey's fences (Tukey 1977)
    const flagged = u.flatMap((v, i) => (v > threshold ? [{ frame: i, t: states[i]!.t, u: v }] : []));
    await w.write(
      '9-task-pack',
      P.uncertainty,
      json({
        horizon_frames: UNCERTAINTY_HORIZON,
        passes: 10,
        threshold,
        rule: 'Q3 + 1.5·IQR of this session (Tukey 1977)',
        t: states.map((s) => s.t),
        uncertainty: u,
        flagged,
      }),
    );
    const gait = assessment === 'gait' ? gaitCycleCurves(states) : null;
    const cyc = gait !== null && gait.cycles.left + gait.cycles.right > 0;
    const curves = cyc ? gait.curves : timeCurves(states);
    const step = Math.max(1, Math.ceil(T / 600));
    const rejectedBy: Record<string, number> = {};
    for (const v of plan.variants) for (const r of v.reasons) rejectedBy[r.check] = (rejectedBy[r.check] ?? 0) + 1;
    const html = renderReport({
      id,
      patient: inp.patient,
      session: inp.session,
      clinic: inp.clinic ?? null,
      assessment,
      created: now().toISOString(),
      recording: { file: inp.recordingPath, sha256: recordingSha256, frames: T, duration_s: summary.duration_s },
      model: { version: inp.model.version, weights_sha256: loaded.weightsSha256 },
      metrics: rows,
      charts: {
        angles: await angleChart(curves, who, cyc),
        phases: await phaseChart(
          [
            ...summary.phases.map((p) => ({ track: 'movement phase', phase: p.name, start: p.start_s, end: Math.max(p.end_s, p.start_s + 1 / 60) })),
            ...plan.phases.segments.map((s) => ({ track: 'root speed', phase: s.phase, start: s.start_s, end: Math.max(s.end_s, s.start_s + 1 / 60) })),
          ],
          who,
        ),
        uncertainty: await uncertaintyChart(
          u.flatMap((v, i) => (i % step === 0 || v > threshold ? [{ t: states[i]!.t, u: v, flagged: v > threshold }] : [])),
          threshold,
          who,
        ),
      },
      anglesNote: cyc
        ? `Normalised to the gait cycle: ${gait.cycles.left} left and ${gait.cycles.right} right cycles (heel strike to heel strike of the same foot). Knee: 180° − hip–knee–ankle angle; hip: thigh against the trunk axis.`
        : 'Over time (no full gait cycle to normalise to). Knee: 180° − hip–knee–ankle angle; hip: thigh against the trunk axis.',
      flagged: flagged.map((f) => ({ t: f.t, u: f.u })),
      uncertaintyThreshold: threshold,
      simReplay: simLog.summary,
      variants: { total: plan.variants.length, accepted: plan.variants.filter((v) => v.accepted).length, rejectedBy },
      execution: ex,
      counterfactuals: goals,
    });
    await w.write('9-task-pack', P.report, html);
    await lap('stage_9');
  } finally {
    loaded.dispose();
  }

  const e = (p: string): { name: string; path: string; sha256: string } => ({ name: p.split('/').pop()!, path: p, sha256: w.entry(p).sha256 });
  const chain: ChainLink[] = [
    { stage: '0-adapter', inputs: [{ name: 'recording', sha256: recordingSha256, declared_in: P.recording }], outputs: [P.recording] },
    { stage: '2-physical-state', inputs: [e(P.recording)], outputs: [P.states] },
    { stage: '3-physics-labels', inputs: [e(P.states)], outputs: [P.labels] },
    { stage: '4-sim-replay', inputs: [e(P.states)], outputs: [P.simLog] },
    { stage: '5-dataset', inputs: [e(P.states)], outputs: [P.datasetNpz, P.datasetJson] },
    { stage: '6-model', inputs: [{ name: 'model weights', sha256: weightsSha256, declared_in: P.model }], outputs: [P.model] },
    { stage: '7-planning', inputs: [e(P.states), e(P.labels), e(P.simLog), e(P.model)], outputs: [P.phases, P.variants, P.variantsNpz, P.counterfactuals] },
    { stage: '8-sim-execution', inputs: [e(P.variants), e(P.variantsNpz), e(P.labels)], outputs: [P.outcomes, P.corrections, P.failure] },
    {
      stage: '9-task-pack',
      inputs: [e(P.labels), e(P.simLog), e(P.datasetNpz), e(P.model), e(P.variants), e(P.counterfactuals), e(P.outcomes), e(P.corrections), e(P.failure)],
      outputs: [P.metrics, P.uncertainty, P.report],
    },
  ];
  const manifest = await w.finish({
    chain,
    subject: {
      id,
      patient: inp.patient,
      session: inp.session,
      ...(inp.clinic ? { clinic: inp.clinic } : {}),
      assessment,
      recording_sha256: recordingSha256,
      model_version: inp.model.version,
    },
  });
  return {
    id,
    dir: inp.out,
    patient: inp.patient,
    session: inp.session,
    clinic: inp.clinic ?? null,
    assessment,
    recordingSha256,
    modelVersion: inp.model.version,
    manifest,
    seconds,
  };
}
