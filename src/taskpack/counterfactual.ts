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
import { loadPlanningModel, planSummary, type LoadedPlanningModel } from './build-taskpack.js';

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

/** Messages to and from the counterfactual thread (counterfactual-thread.ts / counterfactual-host.ts). */
export type ToCounterfactualThread = { readonly req: number; readonly who: PackIdentity; readonly goal: Goal; readonly source?: PackSource };
export type FromCounterfactualThread =
  | { readonly type: 'answer'; readonly req: number; readonly reply: ApiReply }
  | { readonly type: 'unknown-pack'; readonly req: number }
  | { readonly type: 'failed'; readonly req: number; readonly error: { readonly name: string; readonly message: string } };

export interface PackContext {
  readonly ctx: LatentContext;
  readonly model: LoadedPlanningModel;
}

export async function loadPackContext(src: PackSource): Promise<PackContext> {
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
  const model = await loadPlanningModel({ dir: src.modelDir, baseDir: src.baseDir, version: src.modelVersion });
  return { ctx: latentContext(model.model, session), model };
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
