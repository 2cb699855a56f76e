// A real jepa-motion server (createServer: uWS on 127.0.0.1:0, real recording log, in-process bus) for
// client tests. Inference and the per-session pipeline are small doubles here (their owners test the
// real ones; the e2e/simulator tests use the real pipeline once streams/adapt.ts exists) — the SDK
// only needs a server that speaks the protocol and answers every frame.
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hmacKeyConfig, mintToken } from '../../src/auth/index.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createInProcessBus } from '../../src/jobs/in-process-bus.js';
import { silentLogger } from '../../src/logger.js';
import { createServer, type RunningServer, type ServerDeps, type ServerInference } from '../../src/server.js';
import type { PipelineFactory } from '../../src/sessions/types.js';

export const SECRET = 'clients-test-secret-long-enough-for-hs256!!';
const KEY = hmacKeyConfig(SECRET);

export function token(claims: { clinic: string; role: 'device' | 'therapist' | 'admin'; patient?: string; ttlSeconds?: number }): string {
  return mintToken({ ttlSeconds: 3600, ...claims }, KEY, Date.now());
}

/** Inference double: deterministic uncertainty from seq, surprise null on the first frame, the frame's pose + 1 cm predicted 1 frame ahead. */
export const inferenceDouble: ServerInference = {
  submit: async (req) => ({
    latent: new Float32Array(64),
    predictions: [{ horizon: 1, uncertainty: 0.02, ...(req.pose ? { pose: req.pose.map((v) => v + 0.01) } : {}) }],
    uncertainty: 0.01 + (req.seq % 10) / 1000,
    surprise: req.seq === 0 ? null : 0.2,
  }),
  backend: 'double',
};

/** Pipeline double: the root joint from the frame's anchor, phase alternating every 30 frames. */
export const pipelineDouble: PipelineFactory = () => ({
  step: (f) => {
    const joints = new Float32Array(60);
    for (let j = 0; j < 20; j++) joints.set([f.anchor[12] ?? 0, 0.05 * j, f.anchor[14] ?? 0], j * 3);
    return {
      t: f.t,
      joints,
      phase: Math.floor(f.seq / 30) % 2 === 0 ? 'stance' : 'swing',
      contacts: { left: f.seq % 2 === 0, right: true },
      metrics: { frames: f.seq + 1 },
      features: new Float32Array(8),
    };
  },
  close: () => undefined,
});

export interface TestServer {
  readonly server: RunningServer;
  readonly config: Config;
  readonly ws: string;
  readonly http: string;
  close(): Promise<void>;
}

export async function startTestServer(opts: { env?: Record<string, string>; deps?: Partial<ServerDeps> } = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'jepa-clients-'));
  const config = loadConfig(['--port', '0', '--host', '127.0.0.1', '--data', dataDir], {
    JEPA_JWT_SECRET: SECRET,
    FSYNC: 'batch',
    FSYNC_INTERVAL_MS: '2',
    ...opts.env,
  });
  const server = await createServer(config, {
    logger: silentLogger,
    bus: createInProcessBus(),
    inference: inferenceDouble,
    pipeline: pipelineDouble,
    models: { modelFor: async () => ({ id: 'pretrained', kind: 'pretrained', version: '1' }), list: async () => [] },
    taskpacks: { list: async () => [], get: async () => undefined },
    ...opts.deps,
  });
  return {
    server,
    config,
    ws: `ws://127.0.0.1:${server.port}`,
    http: `http://127.0.0.1:${server.port}`,
    close: async () => {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A TCP proxy in front of the server whose connections a test can cut (a lost Wi-Fi link). */
export interface CuttableProxy {
  readonly url: string;
  /** Destroys every open connection (both sides see a reset). */
  cut(): void;
  /** While paused, new connections are refused (the server looks unreachable). */
  paused: boolean;
  readonly connections: number;
  close(): Promise<void>;
}

export async function cuttableProxy(targetPort: number): Promise<CuttableProxy> {
  const open = new Set<Socket>();
  let count = 0;
  const state = { paused: false };
  const srv = createTcpServer((client) => {
    if (state.paused) return client.destroy();
    count++;
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    cut: () => {
      for (const s of open) s.destroy();
    },
    get paused() {
      return state.paused;
    },
    set paused(v: boolean) {
      state.paused = v;
    },
    get connections() {
      return count;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        srv.close(() => r());
      }),
  };
}

/** Resolves when `check()` holds (polled on each event via `poke`), or rejects after `ms`. */
export function deferred<T = void>(what: string, ms = 10_000): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    resolve = (v) => {
      clearTimeout(timer);
      res(v);
    };
    reject = (e) => {
      clearTimeout(timer);
      rej(e);
    };
  });
  return { promise, resolve, reject };
}
