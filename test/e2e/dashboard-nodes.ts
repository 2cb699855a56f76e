// Two real jepa-motion server nodes (createServer on loopback, real recordings, real stream pipeline)
// behind one private nats-server, serving a freshly built dashboard, and a headless Debian Chromium.
// Inference is a double that answers every frame with predicted poses (the measured pose moved
// forward by the distance 1.2 m/s covers in Δh frames) and a surprise spike at known frames, so the
// ghost and the flagged moments have known positions; everything else is the real server.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { chromium, type BrowserContext } from 'playwright-core';
import { buildDashboard } from '../../clients/dashboard/build.js';
import { createNatsLiveFanout } from '../../src/jobs/live-fanout.js';
import type { ServerInference } from '../../src/server.js';
import { livePipeline } from '../../src/sessions/live-pipeline.js';
import type { PipelineFactory } from '../../src/sessions/types.js';
import { startTestServer, type TestServer } from '../clients/fixture.js';
import { repoRoot } from '../helpers/motion-data.js';
import { startNatsServer, type NatsServerHandle } from '../src/jobs/nats-server.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const ARTIFACTS = join(repoRoot, 'test-artifacts');
export const HORIZONS = [10, 30] as const;
/** Frames whose surprise is 10× the rest (0.5 s, so throttled updates carry some): the dashboard must flag them. */
export const SURPRISE_SPIKE = { from: 300, to: 330 } as const;
const WALK_MPS = 1.2;

/** The real live pipeline, remembering each state's joints by its feature row (the double's input). */
function pipelineWithJoints(jointsOf: WeakMap<Float32Array, Float32Array>): PipelineFactory {
  const real = livePipeline();
  return (o) => {
    const p = real(o);
    return {
      step: (f) => {
        const s = p.step(f);
        if (s) jointsOf.set(s.features, s.joints);
        return s;
      },
      close: () => p.close(),
    };
  };
}

function inferenceWithPoses(jointsOf: WeakMap<Float32Array, Float32Array>): ServerInference {
  return {
    backend: 'double',
    submit: async (req) => {
      const j = jointsOf.get(req.x);
      return {
        latent: new Float32Array(64),
        predictions: HORIZONS.map((h) => {
          if (!j) return { horizon: h };
          const pose = Float32Array.from(j);
          for (let k = 2; k < pose.length; k += 3) pose[k] = (pose[k] ?? 0) + (WALK_MPS * h) / 60; // forward = +z
          return { horizon: h, pose };
        }),
        uncertainty: 0.01 + (req.seq % 10) / 1000,
        surprise: req.seq === 0 ? null : req.seq >= SURPRISE_SPIKE.from && req.seq < SURPRISE_SPIKE.to ? 2 : 0.2,
      };
    },
  };
}

export interface DashboardNodes {
  /** Task packs node A lists for clinic c1 (a test adds one for a finished session). */
  readonly taskpacks: { id: string; sessionId: string; patientId: string }[];
  readonly a: TestServer;
  readonly b: TestServer;
  readonly browser: BrowserContext;
  close(): Promise<void>;
}

export async function startDashboardNodes(): Promise<DashboardNodes> {
  const dist = await mkdtemp(join(tmpdir(), 'jepa-dash-'));
  const profile = await mkdtemp(join(tmpdir(), 'jepa-chromium-'));
  await mkdir(ARTIFACTS, { recursive: true });
  await buildDashboard(dist);
  const nats: NatsServerHandle = await startNatsServer();
  const conns: NatsConnection[] = [];
  const taskpacks: { id: string; sessionId: string; patientId: string }[] = [];
  const node = async (id: string): Promise<TestServer> => {
    const nc = await connect({ servers: nats.url });
    conns.push(nc);
    const jointsOf = new WeakMap<Float32Array, Float32Array>();
    return startTestServer({
      env: { HORIZONS: HORIZONS.join(',') },
      deps: {
        pipeline: pipelineWithJoints(jointsOf),
        inference: inferenceWithPoses(jointsOf),
        liveFanout: createNatsLiveFanout(nc, { nodeId: id }),
        dashboardDir: dist,
        // Listed the way the task-pack service lists them (id, patient); the pack itself names its session.
        taskpacks: {
          list: async (clinic) => (clinic === 'c1' ? taskpacks.map((t) => ({ id: t.id, patientId: t.patientId })) : []),
          get: async (clinic, tpId) => (clinic === 'c1' ? taskpacks.find((t) => t.id === tpId) : undefined),
        },
      },
    });
  };
  const a = await node('node-a');
  const b = await node('node-b');
  for (const nc of conns) await nc.flush();
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    // an iPad in landscape
    viewport: { width: 1180, height: 820 },
  });
  return {
    taskpacks,
    a,
    b,
    browser,
    close: async () => {
      await browser.close();
      await a.close();
      await b.close();
      for (const nc of conns) await nc.close();
      await nats.dispose();
      await rm(dist, { recursive: true, force: true });
      await rm(profile, { recursive: true, force: true });
    },
  };
}
