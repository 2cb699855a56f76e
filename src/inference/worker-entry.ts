/**
 * Worker-thread entry: imports the engine module named in workerData, initialises it (the engine
 * calls selectBackend in this thread), then runs one batch per message, strictly in arrival order, so
 * adapter installs carried by a message always happen between batches. A batch that was sent before
 * the service knew of this worker's last failure is answered `stale`, not run (BatchMessage.failuresSeen).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { engineOutputProblem, HeldAdapters, type BatchEngine, type EngineModule } from './engine.js';
import type { BatchMessage, WorkerInit, WorkerReply } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('worker-entry.ts must run in a worker thread');

const post = (msg: WorkerReply, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer);
const describe = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

async function start(init: WorkerInit): Promise<BatchEngine | null> {
  try {
    const mod = (await import(init.engineModule)) as Partial<EngineModule>;
    if (typeof mod.createEngine !== 'function') throw new Error(`${init.engineModule} does not export createEngine`);
    const engine = await mod.createEngine({ backend: init.backend, options: init.engineOptions });
    post({
      type: 'ready',
      backend: engine.backend,
      featureDim: engine.featureDim,
      featureNames: engine.featureNames ? [...engine.featureNames] : null,
      latentDim: engine.latentDim,
      horizons: [...engine.horizons],
      decodesPoses: engine.decodesPoses === true,
    });
    return engine;
  } catch (err) {
    post({ type: 'init-error', message: describe(err) });
    return null;
  }
}

let failures = 0;

async function runBatch(engine: BatchEngine, held: HeldAdapters, msg: BatchMessage): Promise<void> {
  if (msg.failuresSeen < failures) {
    post({ type: 'batch-error', id: msg.id, message: 'not run: it was queued behind a batch that failed (its adapter installs may be missing)', stale: true });
    return;
  }
  try {
    held.apply(msg);
    const t0 = performance.now();
    const out = await engine.run({ n: msg.n, x: msg.x, patients: msg.patients, ...(msg.poses ? { poses: msg.poses } : {}) });
    const ms = performance.now() - t0;
    const problem = engineOutputProblem(engine, msg.n, out, msg.poses !== undefined);
    if (problem) throw new Error(`engine output: ${problem}`);
    // Copy only when the engine handed back views into a larger buffer (transfer moves whole buffers).
    const own = (a: Float32Array): Float32Array => (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice());
    const latent = own(out.latent);
    const predictions = own(out.predictions);
    const uncertainty = own(out.uncertainty);
    const horizonUncertainty = own(out.horizonUncertainty);
    const poses = out.poses && own(out.poses);
    const transfer = [
      ...new Set([latent.buffer, predictions.buffer, uncertainty.buffer, horizonUncertainty.buffer, ...(poses ? [poses.buffer] : [])]),
    ] as ArrayBuffer[];
    post({ type: 'result', id: msg.id, latent, predictions, uncertainty, horizonUncertainty, ...(poses ? { poses } : {}), ms }, transfer);
  } catch (err) {
    failures++;
    held.dropAll(); // the service resends every adapter after a failure (HeldAdapters)
    post({ type: 'batch-error', id: msg.id, message: describe(err) });
  }
}

const engine = await start((workerData as { init: WorkerInit }).init);
if (engine) {
  // Messages are handled strictly one after another: a batch queued behind another waits for it.
  let chain = Promise.resolve();
  const held = new HeldAdapters(engine);
  port.on('message', (msg: BatchMessage) => {
    chain = chain.then(() => runBatch(engine, held, msg));
  });
}
