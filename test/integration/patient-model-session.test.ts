// A patient's second session, after the retrain job registered the patient's own model: the real
// server (uWS, recording log, live pipeline, tfjs inference in a worker), the real retrain worker on
// the in-process bus, the real catalog and model registry, and the client SDK as the device. The
// second `ready` names the patient model (`models/c1/<patient>/v1`, a slash-separated registry key)
// and every frame of the second session is answered by it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { arkitFrames, floorPlane } from '../../clients/simulator/arkit-frames.js';
import { connectIngest, type WebSocketConstructor } from '../../clients/sdk/index.js';
import type { Feedback, Ready } from '../../src/protocol/index.js';
import { selectBackend } from '../../models/backend.js';
import { checkpointFromTraining, loadCheckpoint, saveCheckpoint } from '../../models/checkpoint.js';
import { computeNormalization, createTransitionSampler } from '../../models/dataset.js';
import { loadFeatureSequence } from '../../models/feature-sequences.js';
import { trainWorldModel } from '../../models/train.js';
import type { Recording } from '../../streams/types.js';
import { createCheckpointLoader } from '../../src/inference/checkpoint-loader.js';
import { createInferenceService } from '../../src/inference/inference-service.js';
import type { InferenceService } from '../../src/inference/types.js';
import { createInProcessBus } from '../../src/jobs/in-process-bus.js';
import { createLocalNoticeBus } from '../../src/jobs/notices.js';
import { createPatientCheckpointResolver } from '../../src/jobs/workers/patient-checkpoints.js';
import { startRetrainWorker } from '../../src/jobs/workers/retrain-worker.js';
import { catalogDeps, createCatalog } from '../../src/sessions/catalog.js';
import { livePipeline } from '../../src/sessions/live-pipeline.js';
import { DiskArtifactStore } from '../../src/storage/disk-artifact-store.js';
import { LocalModelRegistry } from '../../src/storage/model-registry.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';
import { loadMocap } from '../src/jobs/workers/session-recording.js';
import { startServer, token } from '../src/transport/harness.js';

const PATIENT = 'patient-two-sessions';
const HORIZONS = '1,5,10';
let dir = '';
let baseDir = '';
let walk: Recording;

beforeAll(async () => {
  if (!hasMotionData) return;
  await selectBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'jm-patient-model-'));
  baseDir = join(dir, 'base');
  // A short, non-residual base on another subject's walking (as in retrain-worker.test.ts): the
  // patient adapter fine-tuned on one session can pass the gate, which is what this test needs.
  const seq = await loadFeatureSequence({ path: motion('cmu-bvh', '131_02.bvh'), assessment: 'gait', subject: 'cmu131' });
  const norm = computeNormalization([seq]);
  const r = await trainWorldModel({ sampler: createTransitionSampler([seq], norm, { seed: 1 }), model: { residual: false } }, { epochs: 4, seed: 1 });
  try {
    await saveCheckpoint(
      baseDir,
      checkpointFromTraining(r, {
        featureNames: seq.names,
        normalization: norm,
        backend: 'wasm',
        provenance: { inputs: [{ file: seq.source.file, sha256: seq.source.sha256 }] },
      }),
    );
  } finally {
    r.model.dispose();
  }
  walk = await loadMocap(motion('opensim-gait', 'subject01_walk1.trc'));
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** One device session through the SDK: hello → ready, every frame of the walk, end → ended. */
async function deviceSession(url: string, tok: string): Promise<{ ready: Ready; feedback: Feedback[]; frames: number }> {
  const client = await connectIngest({
    url,
    token: tok,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    hello: { patientId: PATIENT, assessment: 'gait', fps: 60, device: { model: 'iPad13,8', os: 'iPadOS 17.4' } },
  });
  const feedback: Feedback[] = [];
  client.on('feedback', (f) => feedback.push(f));
  const plane = floorPlane(walk);
  if (plane) client.sendEnv([plane]);
  let frames = 0;
  for (const f of arkitFrames(walk)) {
    client.sendFrame(f);
    frames += 1;
  }
  const ended = await client.end();
  expect(ended.frames).toBe(frames);
  return { ready: client.ready!, feedback, frames };
}

describe.skipIf(!hasMotionData)("a patient's second session after a retrain (real server, retrain worker and SDK)", () => {
  it("is served by the patient's own model, and every frame gets its feedback", async () => {
    const artifacts = await DiskArtifactStore.open(join(dir, 'artifacts'));
    const registry = await LocalModelRegistry.open({ file: join(dir, 'registry.json') });
    const modelsDir = join(dir, 'models');
    const base = await loadCheckpoint(baseDir);
    const bus = createInProcessBus();
    let inference: InferenceService | undefined;
    const retrain = await startRetrainWorker({
      bus,
      registry,
      artifacts,
      baseCheckpointDir: baseDir,
      modelsDir,
      notices: createLocalNoticeBus(),
      horizons: [1, 5, 10, 30],
      trainArgs: { epochs: 6, seed: 2 },
      evalPasses: 2,
    });
    try {
      inference = await createInferenceService(
        {
          workers: 1,
          maxBatch: 64,
          maxWaitMs: 4,
          maxQueueAgeMs: 60_000, // correctness, not latency: nothing may go stale on a loaded 2-core box
          backend: 'wasm',
          engine: {
            module: new URL('../../src/inference/tfjs-engine.ts', import.meta.url),
            options: { checkpointDir: baseDir, horizons: [1, 5, 10], passes: 4 },
          },
        },
        { loadModel: createCheckpointLoader({ base, resolve: createPatientCheckpointResolver({ registry, artifacts, modelsDir }) }) },
      );
      const catalog = createCatalog({ registry, artifacts, pretrained: { id: 'pretrained', kind: 'pretrained', version: base.weightsSha256.slice(0, 12) } });
      const h = await startServer({
        env: { HORIZONS },
        deps: { bus, inference, pipeline: livePipeline(), ...catalogDeps(catalog), modelUpdates: registry.watch() },
      });
      try {
        const tok = token({ clinic: 'c1', role: 'device', patient: PATIENT });
        const registered = firstValueFrom(
          registry.watch().pipe(
            filter((u) => u.patientId === PATIENT),
            timeout(120_000),
          ),
        );

        const first = await deviceSession(h.ws, tok);
        expect(first.ready.model).toMatchObject({ id: 'pretrained', kind: 'pretrained' });
        expect(first.feedback).toHaveLength(first.frames);

        const update = await registered;
        expect(update.ref.id).toBe(`models/c1/${PATIENT}/v1`);

        const second = await deviceSession(h.ws, tok);
        expect(second.ready.model).toEqual({ id: `models/c1/${PATIENT}/v1`, kind: 'patient', version: '1' });
        expect(second.feedback.map((f) => f.seq)).toEqual([...Array(second.frames).keys()]);
        expect(second.feedback.filter((f) => f.shed)).toEqual([]);
        expect(second.feedback.every((f) => f.predictions.length === 3 && f.uncertainty !== null)).toBe(true);
      } finally {
        await h.close();
      }
    } finally {
      await retrain.stop();
      await inference?.close();
      await bus.close();
    }
  }, 240_000);
});
