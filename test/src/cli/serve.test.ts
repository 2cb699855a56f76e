// `npm start` = `jepa-motion serve` on embedded defaults: the shipped model loads, the server answers
// health checks, prints usable dev tokens, serves a replayed recording end to end and shuts down cleanly.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadRecordings, simulate } from '../../../clients/simulator/simulate.js';
import type { WebSocketConstructor } from '../../../clients/sdk/index.js';
import { startServe, type ServeHandle } from '../../../src/cli/serve.js';
import { loadConfig } from '../../../src/config.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';
import { captureLogger } from '../jobs/log-capture.js';
import { captureIo } from './cli-helpers.js';

describe('jepa-motion serve (embedded defaults, shipped model)', () => {
  let dir: string;
  let handle: ServeHandle;
  const io = captureIo();
  const logger = captureLogger();
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-serve-'));
    // Only the port, address and data directory differ from `npm start`.
    const config = loadConfig(['--port', '0', '--host', '127.0.0.1', '--data', join(dir, 'data')], {});
    handle = await startServe(config, logger, io);
  });
  afterAll(async () => {
    await handle?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is healthy and ready on the shipped model, and prints a therapist and a device token', async () => {
    expect((await fetch(`${handle.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${handle.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(io.stderr()).toMatch(/serving on http:\/\/127\.0\.0\.1:\d+ \(embedded mode, (wasm|cpu|tensorflow) backend/);
    const tokens = io.stderr().match(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/gm) ?? [];
    expect(tokens).toHaveLength(2);
    const models = await fetch(`${handle.url}/v1/models`, { headers: { authorization: `Bearer ${tokens[0]}` } });
    expect(models.status).toBe(200);
    expect(((await models.json()) as { models: { id: string }[] }).models[0]?.id).toBe('pretrained');
    expect((await fetch(`${handle.url}/v1/models`)).status).toBe(401);
  });

  it.runIf(hasMotionData)(
    'answers a replayed recording with one feedback and one ack per frame',
    async () => {
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
      expect(report).toMatchObject({ sessions: 1, frames_sent: 151, feedback_received: 151, acked: 151, errors: 0, missing_feedback: 0, missing_ack: 0 });
      // The session's retrain ran on a retrain thread (its log lines come through the thread's port), never
      // on the thread that answers frames; a registration reaches the server's registry (hot swap).
      const done = await logger.waitFor((l) => /^patient model (registered|rejected)/.test(l.msg), 60_000, 'the retrain of the session');
      expect(done.msg).toBe('patient model registered');
      expect(done.fields).toMatchObject({ retrainThread: 0, patientId: 'dev-patient', jobs: 1 });
      expect(logger.lines.find((l) => l.msg === 'job consumers started')?.fields).toMatchObject({ kinds: ['retrain', 'taskpack'], threads: 1 });
      const therapist = (io.stderr().match(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/gm) ?? [])[0]!;
      const models = await fetch(`${handle.url}/v1/models`, { headers: { authorization: `Bearer ${therapist}` } });
      expect(((await models.json()) as { models: { id: string }[] }).models.map((m) => m.id)).toContain(done.fields['ref']);
    },
    90_000,
  );
});
