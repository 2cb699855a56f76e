// What the HTTP API serves of stored task packs: the clinic's list (optionally one patient's), a pack's
// index entry, its report.html, and counterfactual questions answered on a stored pack. Everything is
// read from the artifact store (any node can answer), scoped by clinic through the key.
//
// Counterfactuals are planned on the counterfactual thread (counterfactual-host.ts), never on this
// thread, which answers frames: it keeps the last packs asked about loaded, so a question costs one goal
// plan (models/planning/goal.ts), not a reload. Here the request is only validated and, when the thread
// does not hold the pack yet, its files read from the artifact store and handed over. start() starts
// that thread ahead of questions (serve), and prepare() loads a pack there when its report is opened,
// so the question that follows does not pay for the thread's start or the pack's load.
import { z } from 'zod';
import type { Goal } from '../../models/planning/goal.js';
import { QUANTITIES, QUANTITY_INFO } from '../../models/planning/quantities.js';
import { keySegment } from '../jobs/workers/feature-history.js';
import { materializeCheckpoint } from '../jobs/workers/patient-checkpoints.js';
import { indexKey, TASKPACKS_PREFIX, type TaskpackIndex } from '../jobs/workers/taskpack-worker.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import { ModelRef } from '../storage/model-registry.js';
import { createCounterfactualHost, type HostStats, type PrepareOutcome } from './counterfactual-host.js';
import type { ApiReply, PackIdentity, PackSource } from './counterfactual.js';

export type { ApiReply } from './counterfactual.js';
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

export interface TaskpackService {
  list(clinic: string, patient?: string): Promise<{ id: string; key: string; patientId: string }[]>;
  get(clinic: string, id: string): Promise<TaskpackIndex | undefined>;
  report(clinic: string, id: string): Promise<string | undefined>;
  counterfactual(clinic: string, id: string, body: unknown): Promise<ApiReply>;
  /** Starts the counterfactual thread and its tfjs runtime now rather than on the first question. */
  start(): void;
  /**
   * Loads the clinic's pack on the counterfactual thread so the next question about it is warm (see
   * counterfactual-host.ts for the bounds). Never rejects; 'not-found' when the clinic has no such pack.
   */
  prepare(clinic: string, id: string): Promise<PrepareOutcome | 'not-found'>;
  /** What the counterfactual thread holds and what its start and loads cost. */
  counterfactualStats(): Promise<HostStats>;
  close(): Promise<void>;
}

export interface TaskpackServiceOptions {
  readonly artifacts: ArtifactStore;
  readonly baseCheckpointDir: string;
  readonly modelsDir: string;
}

const UNIT_FIELD = { deg: 'delta_deg', m: 'delta_m', '%': 'delta_pct' } as const;

export function createTaskpackService(o: TaskpackServiceOptions): TaskpackService {
  const decoder = new TextDecoder();
  const host = createCounterfactualHost();
  const get = async (clinic: string, id: string): Promise<TaskpackIndex | undefined> => {
    if (!SAFE_ID.test(id)) return undefined;
    const key = indexKey(clinic, id);
    if (!(await o.artifacts.has(key))) return undefined;
    return JSON.parse(decoder.decode(await o.artifacts.get(key))) as TaskpackIndex;
  };

  /** The files the counterfactual thread builds a pack's planning context from. */
  const source = async (tp: TaskpackIndex): Promise<PackSource> => {
    const file = async (rel: string): Promise<Uint8Array> => o.artifacts.get(tp.files[rel]!);
    const ref = ModelRef.safeParse((tp.model as { ref?: unknown }).ref);
    return {
      states: await file('2-physical-state/states.npz'),
      labels: await file('3-physics-labels/labels.json'),
      modelDir: ref.success ? await materializeCheckpoint(o.artifacts, o.modelsDir, ref.data) : o.baseCheckpointDir,
      baseDir: o.baseCheckpointDir,
      modelVersion: tp.model.version,
    };
  };

  const identity = (tp: TaskpackIndex): PackIdentity => ({ id: tp.id, patientId: tp.patientId, sessionId: tp.sessionId, modelVersion: tp.model.version });

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
      const goal: Goal = { quantity: r.quantity, delta: given[0]!, ...(r.phase ? { phase: r.phase } : {}) };
      return host.ask(identity(tp), goal, () => source(tp));
    },
    start: () => host.start(),
    async prepare(clinic, id) {
      try {
        // Looked up through the clinic-scoped key again: only a pack of the caller's clinic is loaded.
        const tp = await get(clinic, id);
        return tp ? await host.prepare(identity(tp), () => source(tp)) : 'not-found';
      } catch {
        return 'failed';
      }
    },
    counterfactualStats: () => host.stats(),
    close: () => host.close(),
  };
}
