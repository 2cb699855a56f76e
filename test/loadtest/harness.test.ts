// The load harness against both benchmarked servers, each a real child process: the jepa-motion server
// (real pipeline, micro-batched tfjs-wasm inference in a worker) and the `ws` baseline. A short run
// (2 sessions × 3 s at 60 Hz of the OpenSim walk) must get every frame answered and acked, and the
// process sampler must see the server's CPU and memory.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocketConstructor } from '../../clients/sdk/index.js';
import { hmacKeyConfig, mintToken } from '../../src/auth/index.js';
import { readRecording } from '../../streams/adapters/read-recording.js';
import { runScenario } from '../../loadtest/scenario.js';
import { sampleUsage, startServerProcess } from '../../loadtest/server-process.js';
import { writeCheckpointSet } from '../../loadtest/servers/checkpoints.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';

const WALK = motion('opensim-gait', 'subject01_walk1.trc');
const PATIENTS = ['lt-p0', 'lt-p1'];

describe.skipIf(!hasMotionData)('load harness against the benchmarked servers', () => {
  let ckDir = '';
  const secret = randomBytes(32).toString('hex');
  beforeAll(async () => {
    ckDir = await mkdtemp(join(tmpdir(), 'lt-ck-'));
    await writeCheckpointSet(ckDir, WALK, PATIENTS);
  }, 120_000);
  afterAll(async () => {
    if (ckDir) await rm(ckDir, { recursive: true, force: true });
  });

  for (const [name, file] of [
    ['jepa-motion', 'loadtest/servers/jepa-server.ts'],
    ['baseline', 'loadtest/baseline/server.ts'],
  ] as const) {
    it(`${name}: every frame answered and acked; CPU and RSS sampled`, async () => {
      const dataDir = await mkdtemp(join(tmpdir(), `lt-${name}-`));
      const server = await startServerProcess(file, [ckDir, dataDir], { JEPA_JWT_SECRET: secret, LOG_LEVEL: 'silent' });
      try {
        const sampler = sampleUsage(server.pid, 100);
        const report = await runScenario({
          url: `ws://127.0.0.1:${server.port}`,
          token: mintToken({ clinic: 'lt', role: 'admin', ttlSeconds: 600 }, hmacKeyConfig(secret), Date.now()),
          sessions: 2,
          durationS: 3,
          rampS: 0.5,
          fps: 60,
          recording: await readRecording(WALK),
          patients: PATIENTS,
          WebSocket: WebSocket as WebSocketConstructor,
        });
        const usage = sampler.stop();
        expect(report).toMatchObject({
          sessions: 2,
          frames_sent: 360,
          feedback_received: 360,
          acked: 360,
          missing_feedback: 0,
          missing_ack: 0,
          failed_sessions: 0,
        });
        expect(report.latency_ms.count).toBe(360);
        expect(report.duration_s).toBeGreaterThanOrEqual(3);
        expect(usage.cpuPct).toBeGreaterThan(0);
        expect(usage.rssPeakMb).toBeGreaterThan(30);
      } finally {
        await server.stop();
        await rm(dataDir, { recursive: true, force: true });
      }
    }, 90_000);
  }
});
