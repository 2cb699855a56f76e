// The multi-node scenario of issue 9, shorter (one session per clinic and phase), as real processes:
// 3 clustered nats-servers (JetStream replicas 3), two `serve` nodes (no job consumers), one `worker`.
// A nats-server and the ingest node are SIGKILLed mid-session; the ingest node restarts on its data.
// `npm run loadtest:cluster` runs the same scenario longer and prints the figures the README quotes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecording } from '../../streams/adapters/read-recording.js';
import { CLINICS, runClusterScenario } from '../../loadtest/cluster-scenario.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';

describe.runIf(hasMotionData)('cluster scenario: 3 NATS servers, 2 serve nodes, 1 worker, faults', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-cluster-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loses no acknowledged frame, completes every job once, hot-swaps on both nodes, keeps clinics apart', async () => {
    const report = await runClusterScenario({
      dir,
      recording: await readRecording(motion('fukuchi-treadmill', 'fukuchi_WBDS19walkT01.c3d'), { fps: 60 }),
      sessionsPerClinic: 1,
      durationS: 10,
      faultAtS: 4,
      fps: 60,
      jobTimeoutS: 400,
    });
    expect(report.nats).toMatchObject({ servers: 3, replicas: 3 });
    expect(report.processes).toMatchObject({ serveNodes: 2, workers: 1 });
    expect(report.sessions).toMatchObject({ total: 4, ended: 2, interrupted: 2 });
    expect(report.frames.acked).toBeGreaterThan(0);
    expect(report.frames.lostAcked).toBe(0);
    expect(report.jobs.completed).toBe(report.jobs.total);
    expect(report.jobs.duplicated).toBe(0);
    expect(report.modelLive.samples).toBeGreaterThan(0);
    expect(report.dashboards.crossClinic).toBe(0);
    expect(report.dashboards.foreignSubscribe).toBe('FORBIDDEN');
    for (const c of CLINICS) expect(report.dashboards.updates[c]).toBeGreaterThan(0);
    expect(report.ok).toBe(true);
  }, 900_000);
});
