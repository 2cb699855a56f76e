// A counterfactual question answered on a stored task pack: the pack's own states and labels plus the
// model it was built with become a planning context (loaded once per pack by whoever keeps it, see
// counterfactual-thread.ts), and each question is one goal plan (models/planning/goal.ts) on it.
import { decodeNpz } from '../../models/npz.js';
import { planGoal, type Goal } from '../../models/planning/goal.js';
import { PlanningError } from '../../models/planning/planning-error.js';
import { latentContext, type LatentContext } from '../../models/planning/rollout.js';
import type { PlanningSession } from '../../models/planning/session.js';
import type { PhaseName } from '../../streams/phases.js';
import type { Assessment } from '../../streams/types.js';
import { defaultGoals, loadPlanningModel, planSummary, type LoadedPlanningModel } from './build-taskpack.js';

/** What a context is built from: the pack's stage-2/3 artifacts and the model's checkpoint directories. */
export interface PackSource {
  /** `2-physical-state/states.npz`. */
  readonly states: Uint8Array;
  /** `3-physics-labels/labels.json`. */
  readonly labels: Uint8Array;
  readonly modelDir: string;
  readonly baseDir: string;
  readonly modelVersion: string;
}

/** Who the answer is about (every answer names its pack, patient, session and model). */
export interface PackIdentity {
  readonly id: string;
  readonly patientId: string;
  readonly sessionId: string;
  readonly modelVersion: string;
}

export interface ApiReply {
  readonly status: number;
  readonly body: unknown;
}

/** Where loading a pack's context went (ms): decoding its files, loading its model, encoding its frames. */
export interface LoadTimings {
  readonly parseMs: number;
  readonly modelMs: number;
  readonly encodeMs: number;
  /** Planning the report's own questions after a preparation's load (warmPackContext); 0 when a question loaded it. */
  readonly warmMs: number;
}

/** What the counterfactual thread holds and what its start and its loads cost (tests, bench). */
export interface ThreadStats {
  /** When the entry was imported (tsx, modules) and the tfjs backend ready (performance.timeOrigin + now(), ms). */
  readonly importedAt: number;
  readonly backendReadyAt: number;
  readonly backend: string;
  /** Pack ids held, least recently used first. */
  readonly packs: readonly string[];
  readonly loads: Readonly<Record<string, LoadTimings>>;
}

/**
 * Messages to and from the counterfactual thread (counterfactual-thread.ts / counterfactual-host.ts).
 * `ask` plans a goal; `hold` only makes sure the pack is loaded (a preparation); either answers
 * `unknown-pack` when the thread does not hold the pack and no source came with it.
 */
export type ToCounterfactualThread =
  | { readonly type: 'ask'; readonly req: number; readonly who: PackIdentity; readonly goal: Goal; readonly source?: PackSource }
  | { readonly type: 'hold'; readonly req: number; readonly who: PackIdentity; readonly source?: PackSource }
  | { readonly type: 'stats'; readonly req: number };
export type FromCounterfactualThread =
  | { readonly type: 'answer'; readonly req: number; readonly reply: ApiReply }
  | { readonly type: 'held'; readonly req: number }
  | { readonly type: 'stats'; readonly req: number; readonly stats: ThreadStats }
  | { readonly type: 'unknown-pack'; readonly req: number }
  | { readonly type: 'failed'; readonly req: number; readonly error: { readonly name: string; readonly message: string } };

export interface PackContext {
  readonly ctx: LatentContext;
  readonly model: LoadedPlanningModel;
  readonly timings: LoadTimings;
}

export async function loadPackContext(src: PackSource): Promise<PackContext> {
  const t0 = performance.now();
  const npz = decodeNpz(src.states);
  const labels = JSON.parse(new TextDecoder().decode(src.labels)) as { assessment: Assessment; frame_phase: PhaseName[] };
  const t = npz.t!.data as Float64Array;
  const T = t.length;
  const contacts = npz.contacts!.data as Uint8Array;
  const stance = npz.stance!.data as Uint8Array;
  const features = npz.features!;
  const session: PlanningSession = {
    assessment: labels.assessment,
    t,
    joints: Float32Array.from(npz.joints!.data as Float32Array),
    x: Float32Array.from(features.data as Float32Array),
    featureDim: features.shape[1]!,
    contacts: Array.from({ length: T }, (_, i) => ({ left: contacts[2 * i] === 1, right: contacts[2 * i + 1] === 1 })),
    gait: Array.from(
      { length: T },
      (_, i) => ({ left: stance[2 * i] === 1 ? 'stance' : 'swing', right: stance[2 * i + 1] === 1 ? 'stance' : 'swing' }) as const,
    ),
    phase: labels.frame_phase,
  };
  const t1 = performance.now();
  const model = await loadPlanningModel({ dir: src.modelDir, baseDir: src.baseDir, version: src.modelVersion });
  const t2 = performance.now();
  let ctx: LatentContext;
  try {
    ctx = latentContext(model.model, session);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { ctx, model, timings: { parseMs: t1 - t0, modelMs: t2 - t1, encodeMs: performance.now() - t2, warmMs: 0 } };
}

/**
 * Plans the questions the pack's report answered (defaultGoals) on a freshly prepared pack, answers
 * discarded: a therapist's next question is most likely one of them with another change, which then
 * finds its goal work kept (ctx.memo is keyed by quantity and phase, not the change), and any other
 * question finds the planning code compiled and the model's kernels run once (a fresh thread's first
 * plan is about twice a warm one). Returns the milliseconds spent planning.
 */
export async function warmPackContext(pc: PackContext, who: PackIdentity, held: () => boolean): Promise<number> {
  let ms = 0;
  for (const goal of defaultGoals(pc.ctx.session.assessment)) {
    // One plan per turn of the event loop: a question that arrived meanwhile is answered first. A pack
    // dropped from the cache meanwhile (its model disposed) is not planned on.
    await new Promise((next) => setImmediate(next));
    if (!held()) break;
    const t0 = performance.now();
    answerCounterfactual(pc, who, goal);
    ms += performance.now() - t0;
  }
  return ms;
}

/** One goal plan on a loaded pack: 200 with the planned change and its uncertainty, 422 when planning refuses. */
export function answerCounterfactual(pc: PackContext, who: PackIdentity, goal: Goal): ApiReply {
  const started = performance.now();
  try {
    // The answer carries no per-frame arrays (planSummary), so MC-dropout runs only on the frames its
    // numbers read: the same numbers as a full plan (goal.ts frameUncertainty), a fraction of the passes.
    const plan = planGoal(pc.ctx, goal, { frameUncertainty: false });
    return {
      status: 200,
      body: {
        taskpack: who.id,
        patientId: who.patientId,
        sessionId: who.sessionId,
        model: who.modelVersion,
        seconds: (performance.now() - started) / 1000,
        ...planSummary(plan),
      },
    };
  } catch (e) {
    if (e instanceof PlanningError) return { status: 422, body: { code: e.code, message: e.message } };
    throw e;
  }
}
