// What the HTTP API serves of stored task packs: the clinic's list (optionally one patient's), a pack's
// index entry, its report.html, and counterfactual questions answered on a stored pack. Everything is
// read from the artifact store (any node can answer), scoped by clinic through the key.
//
// Counterfactuals: the pack's own states and labels plus the model it was built with are loaded once and
// kept (at most CONTEXT_CACHE packs, least recently used dropped first, each model disposed when it
// leaves), so a question costs one goal plan (models/planning/goal.ts), not a reload.
import { z } from 'zod';
import { decodeNpz } from '../../models/npz.js';
import { planGoal, type Goal } from '../../models/planning/goal.js';
import { QUANTITIES, QUANTITY_INFO } from '../../models/planning/quantities.js';
import { PlanningError } from '../../models/planning/planning-error.js';
import { latentContext, type LatentContext } from '../../models/planning/rollout.js';
import type { PlanningSession } from '../../models/planning/session.js';
import type { PhaseName } from '../../streams/phases.js';
import type { Assessment } from '../../streams/types.js';
import { keySegment } from '../jobs/workers/feature-history.js';
import { materializeCheckpoint } from '../jobs/workers/patient-checkpoints.js';
import { indexKey, TASKPACKS_PREFIX, type TaskpackIndex } from '../jobs/workers/taskpack-worker.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import { ModelRef } from '../storage/model-registry.js';
import { loadPlanningModel, planSummary, type LoadedPlanningModel } from './build-taskpack.js';

export const CONTEXT_CACHE = 4;
export const MAX_LISTED = 500;
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.=-]{0,200}$/;

/** Body of POST /v1/taskpacks/:id/counterfactual. `delta_deg` / `delta_m` / `delta_pct` name the unit. */
export const CounterfactualRequest = z
  .object({
    quantity: z.enum(QUANTITIES),
    phase: z.string().min(1).max(64).optional(),
    delta: z.number().finite().optional(),
    delta_deg: z.number().finite().optional(),
    delta_m: z.number().finite().optional(),
    delta_pct: z.number().finite().optional(),
  })
  .strict();
export type CounterfactualRequest = z.infer<typeof CounterfactualRequest>;

export interface ApiReply {
  readonly status: number;
  readonly body: unknown;
}

export interface TaskpackService {
  list(clinic: string, patient?: string): Promise<{ id: string; key: string; patientId: string }[]>;
  get(clinic: string, id: string): Promise<TaskpackIndex | undefined>;
  report(clinic: string, id: string): Promise<string | undefined>;
  counterfactual(clinic: string, id: string, body: unknown): Promise<ApiReply>;
  close(): void;
}

export interface TaskpackServiceOptions {
  readonly artifacts: ArtifactStore;
  readonly baseCheckpointDir: string;
  readonly modelsDir: string;
}

const UNIT_FIELD = { deg: 'delta_deg', m: 'delta_m', '%': 'delta_pct' } as const;

export function createTaskpackService(o: TaskpackServiceOptions): TaskpackService {
  const decoder = new TextDecoder();
  const cache = new Map<string, Promise<{ ctx: LatentContext; model: LoadedPlanningModel }>>();
  const get = async (clinic: string, id: string): Promise<TaskpackIndex | undefined> => {
    if (!SAFE_ID.test(id)) return undefined;
    const key = indexKey(clinic, id);
    if (!(await o.artifacts.has(key))) return undefined;
    return JSON.parse(decoder.decode(await o.artifacts.get(key))) as TaskpackIndex;
  };

  const load = async (tp: TaskpackIndex): Promise<{ ctx: LatentContext; model: LoadedPlanningModel }> => {
    const file = async (rel: string): Promise<Uint8Array> => o.artifacts.get(tp.files[rel]!);
    const npz = decodeNpz(await file('2-physical-state/states.npz'));
    const labels = JSON.parse(decoder.decode(await file('3-physics-labels/labels.json'))) as { assessment: Assessment; frame_phase: PhaseName[] };
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
    const ref = ModelRef.safeParse((tp.model as { ref?: unknown }).ref);
    const dir = ref.success ? await materializeCheckpoint(o.artifacts, o.modelsDir, ref.data) : o.baseCheckpointDir;
    const model = await loadPlanningModel({ dir, baseDir: o.baseCheckpointDir, version: tp.model.version });
    return { ctx: latentContext(model.model, session), model };
  };

  const context = (tp: TaskpackIndex): Promise<{ ctx: LatentContext; model: LoadedPlanningModel }> => {
    const hit = cache.get(tp.id);
    if (hit) {
      cache.delete(tp.id);
      cache.set(tp.id, hit);
      return hit;
    }
    const p = load(tp);
    cache.set(tp.id, p);
    p.catch(() => cache.delete(tp.id));
    while (cache.size > CONTEXT_CACHE) {
      const [oldest, entry] = cache.entries().next().value as [string, Promise<{ model: LoadedPlanningModel }>];
      cache.delete(oldest);
      void entry.then(
        (e) => e.model.dispose(),
        () => undefined,
      );
    }
    return p;
  };

  return {
    async list(clinic, patient) {
      const prefix = `${TASKPACKS_PREFIX}/${keySegment(clinic)}/${patient ? `${keySegment(patient)}.` : ''}`;
      const keys = (await o.artifacts.list(prefix)).filter((k) => k.endsWith('.json'));
      const base = `${TASKPACKS_PREFIX}/${keySegment(clinic)}/`;
      return keys.slice(-MAX_LISTED).map((key) => {
        const id = key.slice(base.length, -'.json'.length);
        return { id, key, patientId: id.slice(0, id.lastIndexOf('.')) };
      });
    },
    get,
    async report(clinic, id) {
      const tp = await get(clinic, id);
      return tp ? decoder.decode(await o.artifacts.get(tp.reportKey)) : undefined;
    },
    async counterfactual(clinic, id, body) {
      const parsed = CounterfactualRequest.safeParse(body);
      if (!parsed.success)
        return { status: 400, body: { code: 'BAD_GOAL', message: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') } };
      const r = parsed.data;
      const unit = QUANTITY_INFO[r.quantity].unit as keyof typeof UNIT_FIELD;
      const given = [r.delta, r[UNIT_FIELD[unit]]].filter((v): v is number => v !== undefined);
      const wrong = (Object.values(UNIT_FIELD) as string[]).filter((f) => f !== UNIT_FIELD[unit] && (r as Record<string, unknown>)[f] !== undefined);
      if (given.length !== 1 || wrong.length)
        return { status: 400, body: { code: 'BAD_GOAL', message: `give the change once, as delta or ${UNIT_FIELD[unit]} (${r.quantity} is in ${unit})` } };
      const tp = await get(clinic, id);
      if (!tp) return { status: 404, body: { code: 'TASKPACK_NOT_FOUND', message: `no task pack ${id}` } };
      const { ctx } = await context(tp);
      const goal: Goal = { quantity: r.quantity, delta: given[0]!, ...(r.phase ? { phase: r.phase } : {}) };
      const started = performance.now();
      try {
        const plan = planGoal(ctx, goal);
        return {
          status: 200,
          body: {
            taskpack: tp.id,
            patientId: tp.patientId,
            sessionId: tp.sessionId,
            model: tp.model.version,
            seconds: (performance.now() - started) / 1000,
            ...planSummary(plan),
          },
        };
      } catch (e) {
        if (e instanceof PlanningError) return { status: 422, body: { code: e.code, message: e.message } };
        throw e;
      }
    },
    close() {
      for (const p of cache.values())
        void p.then(
          (e) => e.model.dispose(),
          () => undefined,
        );
      cache.clear();
    },
  };
}
