// The inference engine as a service: a real `jepa-motion infer` process on a private nats-server answers
// two serve nodes' clients (each its own NATS connection); a patient model registered in NATS and
// swapped by one node reaches the shared process; a request flood beyond the in-flight bound gets a
// coded OVERLOADED reply (answered `shed` queue_full); and once the infer process is killed, frames are
// answered `shed` (no_workers) — the client never rejects or throws for it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { WebSocketConstructor } from '../../../clients/sdk/index.js';
import { loadRecordings, simulate } from '../../../clients/simulator/simulate.js';
import { startServe } from '../../../src/cli/serve.js';
import { loadConfig } from '../../../src/config.js';
import { loadFeatureSequence } from '../../../models/feature-sequences.js';
import type { FeatureSequence } from '../../../models/types.js';
import { buildBenchCheckpoints, type BenchCheckpoints } from '../../../src/inference/bench-checkpoints.js';
import { InferenceErrorCode } from '../../../src/inference/errors.js';
import { createRemoteInference } from '../../../src/inference/remote-client.js';
import { RemoteCode, packr, subjects } from '../../../src/inference/remote-protocol.js';
import { serveInferenceOverNats } from '../../../src/inference/remote-server.js';
import type { InferenceResult, InferenceService, Shed } from '../../../src/inference/types.js';
import { publishCheckpoint } from '../../../src/jobs/workers/patient-checkpoints.js';
import { silentLogger } from '../../../src/logger.js';
import { NatsArtifactStore } from '../../../src/storage/nats-artifact-store.js';
import { NatsModelRegistry } from '../../../src/storage/nats-model-registry.js';
import { startNatsServer, type NatsServerHandle } from '../jobs/nats-server.js';
import { hasMotionData, motion, repoRoot } from '../../helpers/motion-data.js';
import { captureIo } from '../cli/cli-helpers.js';

let nats: NatsServerHandle;
let dir = '';
let ck: BenchCheckpoints;
let seq: FeatureSequence;
let infer: ChildProcess | undefined;
const conns: NatsConnection[] = [];

function startInfer(url: string, dataDir: string, modelDir: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'bin', 'jepa-motion.mjs'), 'infer', '--infer-url', url, '--nats', url, '--model', modelDir, '--data', dataDir, '--backend', 'wasm'],
    // JEPA_JWT_SECRET: NATS_URL means distributed mode, whose config insists on a shared token key.
    { env: { ...process.env, JEPA_JWT_SECRET: 'x'.repeat(40), LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`infer did not start in 60 s:\n${err}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('jepa-motion infer: answering')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`infer exited with ${code}:\n${err}`));
    });
  });
}

/** Feature row i of the recording (cycling). */
const row = (i: number): Float32Array => {
  const F = seq.names.length;
  const k = i % (seq.x.length / F);
  return seq.x.slice(k * F, (k + 1) * F);
};
const isResult = (r: InferenceResult | Shed): r is InferenceResult => !r.shed;

describe.skipIf(!hasMotionData)('jepa-motion infer over NATS', () => {
  beforeAll(async () => {
    nats = await startNatsServer();
    dir = await mkdtemp(join(tmpdir(), 'jm-infer-'));
    seq = await loadFeatureSequence({ path: motion('opensim-gait', 'subject01_walk1.trc'), assessment: 'gait', subject: 'subject01' });
    ck = await buildBenchCheckpoints(join(dir, 'ck'), [seq], ['p1']);
    infer = await startInfer(nats.url, join(dir, 'infer-data'), ck.base.dir);
  }, 180_000);

  afterAll(async () => {
    infer?.kill('SIGKILL');
    for (const nc of conns) await nc.close().catch(() => undefined);
    await nats?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function node(): Promise<{ nc: NatsConnection; inference: InferenceService }> {
    const nc = await connect({ servers: nats.url });
    conns.push(nc);
    return { nc, inference: await createRemoteInference(nc, { timeoutMs: 30_000, maxInflight: 256 }, silentLogger) };
  }

  it('answers two nodes from one process, takes a model swap from one of them, refuses bad rows with a code', async () => {
    const [a, b] = [await node(), await node()];
    expect(a.inference.featureDim).toBe(seq.names.length);
    expect(a.inference.featureNames).toEqual(seq.names);
    expect(a.inference.backend).toBe('remote:wasm');
    const run = (n: typeof a, sessionId: string, patientId: string, count: number) =>
      Promise.all(Array.from({ length: count }, (_, i) => n.inference.submit({ sessionId, patientId, seq: i, x: row(i) })));
    const [ra, rb] = await Promise.all([run(a, 'sa', 'p1', 40), run(b, 'sb', 'p2', 40)]);
    const served = [...ra, ...rb].filter(isResult);
    // Every frame is answered; the ones not shed were inferred by the one infer process for both nodes.
    expect(served.filter((r) => r.sessionId === 'sa').length).toBeGreaterThan(0);
    expect(served.filter((r) => r.sessionId === 'sb').length).toBeGreaterThan(0);
    for (const r of served) {
      expect(r.latent).toBeInstanceOf(Float32Array);
      expect(r.predictions.map((p) => p.horizon)).toEqual([...a.inference.horizons]);
      expect(r.model).toBe('base'); // p1 has no registered model yet
    }
    const info = packr.unpack((await a.nc.request(subjects().info, packr.pack({}), { timeout: 10_000 })).data) as { ok: true; info: { rows: number } };
    expect(info.info.rows).toBe(served.length);

    // A model update: registered in NATS, swapped through node a, served to node b's p1 session too.
    const registryNc = await connect({ servers: nats.url });
    conns.push(registryNc);
    const ref = await publishCheckpoint(await NatsArtifactStore.open(registryNc), ck.patients.get('p1')!, 'c1', 'p1', 1);
    await (await NatsModelRegistry.open(registryNc)).register('p1', ref);
    await a.inference.swapModel('p1', ref.id);
    let after: InferenceResult | undefined;
    for (let i = 0; i < 20 && !after; i++) {
      const r = await b.inference.submit({ sessionId: 'sb-p1', patientId: 'p1', seq: i, x: row(i) });
      if (isResult(r)) after = r;
    }
    expect(after?.model).toBe(ref.id);

    // A malformed row is refused with BAD_INPUT as in-process; a malformed request gets a coded reply.
    await expect(a.inference.submit({ sessionId: 's', patientId: 'p', seq: 0, x: new Float32Array(3) })).rejects.toMatchObject({
      code: InferenceErrorCode.BAD_INPUT,
    });
    const bad = packr.unpack((await a.nc.request(subjects().submit, packr.pack({ sessionId: 's' }), { timeout: 10_000 })).data) as { ok: false; code: string };
    expect(bad).toMatchObject({ ok: false, code: RemoteCode.BAD_REQUEST });
  }, 120_000);

  it('serve with INFER_URL runs no engine and answers a replayed recording through the infer process', async () => {
    const io = captureIo();
    const config = loadConfig(['--port', '0', '--host', '127.0.0.1', '--data', join(dir, 'serve'), '--model', ck.base.dir, '--infer-url', nats.url], {});
    const handle = await startServe(config, silentLogger, io);
    try {
      expect(handle.inference.backend).toBe('remote:wasm');
      const device = (io.stderr().match(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/gm) ?? [])[1]!;
      const report = await simulate({
        recordings: await loadRecordings([motion('opensim-gait', 'subject01_walk1.trc')]),
        WebSocket: WebSocket as unknown as WebSocketConstructor,
        rampMs: 0,
        url: handle.url.replace('http', 'ws'),
        token: device,
        patientId: 'dev-patient',
        sessions: 1,
        speed: 4,
      });
      expect(report).toMatchObject({ frames_sent: 151, feedback_received: 151, acked: 151, errors: 0, missing_feedback: 0, missing_ack: 0 });
      expect(handle.inference.stats().rows + Object.values(handle.inference.stats().shed).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    } finally {
      await handle.close();
    }
  }, 120_000);

  it('once the infer process is gone, frames are answered shed (no_workers), never rejected', async () => {
    const a = await node();
    infer!.kill('SIGKILL');
    await new Promise<void>((resolve) => (infer!.exitCode !== null || infer!.signalCode !== null ? resolve() : infer!.once('exit', () => resolve())));
    const r = await a.inference.submit({ sessionId: 'gone', patientId: 'p1', seq: 0, x: row(0) });
    expect(r).toEqual({ shed: true, reason: 'no_workers', sessionId: 'gone', seq: 0 });
    expect(a.inference.stats().shed.no_workers).toBe(1);
    a.inference.endSession('gone'); // a publish with nobody listening: no error
  }, 60_000);
});

describe('in-flight bound of the infer side', () => {
  it('answers OVERLOADED beyond maxInflight, which the node turns into shed queue_full', async () => {
    const server = await startNatsServer();
    const ncServer = await connect({ servers: server.url });
    const ncClient = await connect({ servers: server.url });
    try {
      // A service whose rows stay in flight until released: the second concurrent row is over the bound.
      let release: () => void = () => undefined;
      const held = new Promise<void>((r) => (release = r));
      const service: InferenceService = {
        backend: 'test',
        featureDim: 2,
        featureNames: null,
        latentDim: 1,
        horizons: [1],
        decodesPoses: false,
        submit: async (req) => {
          await held;
          return { shed: true, reason: 'stale', sessionId: req.sessionId, seq: req.seq };
        },
        ensureModel: async () => 'base',
        swapModel: async () => undefined,
        endSession: () => undefined,
        stats: () => ({ rows: 0, batches: 0 }) as never, // only the info subject reads it
        close: async () => undefined,
      };
      const remote = serveInferenceOverNats(ncServer, service, { maxInflight: 1 }, silentLogger);
      // The client is another connection: it finds responders only once the NATS server has the subscriptions.
      await ncServer.flush();
      const client = await createRemoteInference(ncClient, { timeoutMs: 10_000, maxInflight: 8 }, silentLogger);
      const first = client.submit({ sessionId: 's', patientId: 'p', seq: 0, x: new Float32Array(2) });
      // Wait until the first row is in flight on the infer side (the second must then be refused).
      let second: InferenceResult | Shed | undefined;
      for (let i = 0; i < 50 && second?.shed !== true; i++) {
        second = await client.submit({ sessionId: 's', patientId: 'p', seq: i + 1, x: new Float32Array(2) });
        if (second.shed && second.reason === 'queue_full') break;
      }
      expect(second).toMatchObject({ shed: true, reason: 'queue_full' });
      expect(remote.overloaded).toBeGreaterThanOrEqual(1);
      release();
      expect(await first).toMatchObject({ shed: true, reason: 'stale' });
      await remote.close();
    } finally {
      await ncServer.close();
      await ncClient.close();
      await server.dispose();
    }
  }, 60_000);
});
