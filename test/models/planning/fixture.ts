// The shipped pretrained model bound for planning, and real recordings as planning sessions.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { selectBackend } from '../../../models/backend.js';
import { loadCheckpoint } from '../../../models/checkpoint.js';
import { planningModel, type PlanningModel } from '../../../models/planning/latent-model.js';
import { latentContext, type LatentContext } from '../../../models/planning/rollout.js';
import { planningSession } from '../../../models/planning/session.js';
import { probeFromNpz } from '../../../models/probe-decoder.js';
import { WorldModel } from '../../../models/world-model.js';
import { readRecording } from '../../../streams/adapters/read-recording.js';
import { sessionPipeline } from '../../../streams/session-pipeline.js';
import type { Assessment } from '../../../streams/types.js';
import { repoRoot } from '../../helpers/motion-data.js';

export async function pretrainedPlanningModel(): Promise<{ model: PlanningModel; world: WorldModel; dispose(): void }> {
  await selectBackend('wasm');
  const dir = join(repoRoot, 'models', 'pretrained');
  const ckpt = await loadCheckpoint(dir);
  if (ckpt.kind !== 'base') throw new Error('the shipped model is a base checkpoint');
  const wm = new WorldModel(ckpt.modelConfig, ckpt.weights);
  const probe = probeFromNpz(await readFile(join(dir, 'probe.npz')));
  return { model: planningModel(wm, ckpt.normalization, probe), world: wm, dispose: () => wm.dispose() };
}

export async function sessionContext(model: PlanningModel, path: string, assessment: Assessment): Promise<LatentContext> {
  const rec = await readRecording(path);
  const states = await lastValueFrom(from(rec.frames).pipe(sessionPipeline({ assessment, fps: rec.meta.fps }), toArray()));
  return latentContext(model, planningSession(states, assessment));
}
