// `jepa-motion serve` in distributed mode (NATS_URL set) against a real nats-server: JetStream job bus,
// KV model registry, object store; a finished session's assessment.completed lands in JetStream and the
// retrain worker consumes it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { WebSocketConstructor } from '../../clients/sdk/index.js';
import { loadRecordings, simulate } from '../../clients/simulator/simulate.js';
import { hmacKeyConfig, mintToken } from '../../src/auth/index.js';
import { startServe, type ServeHandle } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { NatsArtifactStore } from '../../src/storage/nats-artifact-store.js';
import { captureIo } from '../src/cli/cli-helpers.js';
import { startNatsServer, type NatsServerHandle } from '../src/jobs/nats-server.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';

const SECRET = 'distributed-test-secret-long-enough-0123456789';

describe.runIf(hasMotionData)('serve with NATS_URL (distributed mode)', () => {
  let dir: string;
  let nats: NatsServerHandle;
  let handle: ServeHandle;
  let nc: NatsConnection;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-dist-'));
    nats = await startNatsServer();
    const config = loadConfig(['--port', '0', '--host', '127.0.0.1', '--data', join(dir, 'data'), '--nats', nats.url], { JEPA_JWT_SECRET: SECRET });
    handle = await startServe(config, silentLogger, captureIo());
    nc = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await nc?.close();
    await handle?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves a session, publishes its completion through JetStream and the worker takes it', async () => {
    expect((await fetch(`${handle.url}/readyz`)).status).toBe(200);
    const jsm = await jetstreamManager(nc);
    const streams = (await jsm.streams.list().next()).map((s) => s.config.name);
    expect(streams).toContain('JEPA_JOBS');
    const token = mintToken({ clinic: 'north', role: 'device', patient: 'p-9', ttlSeconds: 600 }, hmacKeyConfig(SECRET), Date.now());
    const report = await simulate({
      recordings: await loadRecordings([motion('opensim-gait', 'subject01_walk1.trc')]),
      url: handle.url.replace('http', 'ws'),
      token,
      patientId: 'p-9',
      sessions: 1,
      speed: 4,
      rampMs: 0,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
    });
    expect(report).toMatchObject({ frames_sent: 151, feedback_received: 151, acked: 151, errors: 0 });
    // The finalised recording is in the object store (any node's worker reads it from there).
    const stored = await (await NatsArtifactStore.open(nc)).list('recordings/north/');
    expect(stored).toHaveLength(1);
    // assessment.completed went through JetStream; the retrain worker registered the patient's model
    // in the KV registry, which every node watches (visible to the clinic's therapists).
    const info = await jsm.streams.info('JEPA_JOBS');
    expect(info.state.last_seq).toBeGreaterThanOrEqual(1);
    const therapist = mintToken({ clinic: 'north', role: 'therapist', ttlSeconds: 600 }, hmacKeyConfig(SECRET), Date.now());
    const listed = async (): Promise<string[]> => {
      const res = await fetch(`${handle.url}/v1/models`, { headers: { authorization: `Bearer ${therapist}` } });
      return ((await res.json()) as { models: { id: string }[] }).models.map((m) => m.id);
    };
    const deadline = Date.now() + 40_000;
    while (!(await listed()).includes('models/north/p-9/v1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(await listed()).toContain('models/north/p-9/v1');
  }, 60_000);
});
