// Starts a real server (uWS on 127.0.0.1:0, real recording log in a temp dir, in-process job bus) and
// gives tests WebSocket/HTTP helpers. Inference and the stream pipeline are injectable: transport tests
// use small doubles; test/integration uses the real ones.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { hmacKeyConfig, mintToken, bearerProtocols } from '../../../src/auth/index.js';
import { loadConfig, type Config } from '../../../src/config.js';
import { createInProcessBus } from '../../../src/jobs/in-process-bus.js';
import type { JobBus } from '../../../src/jobs/job-bus.js';
import { silentLogger } from '../../../src/logger.js';
import {
  decodeServerMessage,
  encodeClientMessage,
  type Frame,
  type Hello,
  type IngestClientMessage,
  type IngestServerMessage,
  type LiveClientMessage,
  type LiveServerMessage,
} from '../../../src/protocol/index.js';
import { createServer, type RunningServer, type ServerDeps, type ServerInference } from '../../../src/server.js';
import type { PipelineFactory } from '../../../src/sessions/types.js';

export const SECRET = 'test-secret-that-is-long-enough-for-hs256!';
export const KEY = hmacKeyConfig(SECRET);

export function token(claims: { clinic: string; role: 'device' | 'therapist' | 'admin'; patient?: string; ttlSeconds?: number }, nowMs = Date.now()): string {
  return mintToken({ ttlSeconds: 3600, ...claims }, KEY, nowMs);
}

export const doubleInference: ServerInference = {
  submit: async (req) => ({ latent: new Float32Array(64), predictions: [{ horizon: 1 }], uncertainty: 0.05, surprise: req.seq > 0 ? 0.1 : null }),
  backend: 'js',
};

export const doublePipeline: PipelineFactory = () => ({
  step: (f) => ({
    t: f.t,
    joints: new Float32Array(60),
    phase: 'stance',
    contacts: { left: true, right: false },
    metrics: { steps: f.seq },
    features: new Float32Array(8),
  }),
  close: () => undefined,
});

export interface Harness {
  readonly server: RunningServer;
  readonly config: Config;
  readonly bus: JobBus;
  readonly dataDir: string;
  readonly http: string;
  readonly ws: string;
  close(): Promise<void>;
}

export async function startServer(opts: { env?: Record<string, string>; deps?: Partial<ServerDeps>; dataDir?: string } = {}): Promise<Harness> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'jepa-server-')));
  const config = loadConfig(['--port', '0', '--host', '127.0.0.1', '--data', dataDir], {
    JEPA_JWT_SECRET: SECRET,
    FSYNC: 'batch',
    FSYNC_INTERVAL_MS: '2',
    ...opts.env,
  });
  const bus = opts.deps?.bus ?? createInProcessBus();
  const server = await createServer(config, {
    logger: silentLogger,
    bus,
    inference: doubleInference,
    pipeline: doublePipeline,
    models: { modelFor: async () => ({ id: 'pretrained', kind: 'pretrained', version: '1' }), list: async () => [{ id: 'pretrained' }] },
    taskpacks: { list: async () => [], get: async () => undefined },
    ...opts.deps,
  });
  return {
    server,
    config,
    bus,
    dataDir,
    http: `http://127.0.0.1:${server.port}`,
    ws: `ws://127.0.0.1:${server.port}`,
    close: async () => {
      await server.close();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A deferred with a timeout: tests wait on events, never on sleeps. */
export function waitFor<T>(what: string, register: (resolve: (v: T) => void, reject: (e: unknown) => void) => void, ms = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    register(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

type ServerMsg = IngestServerMessage | LiveServerMessage;

/** A test client: collects decoded server messages and lets tests wait for conditions on them. */
export class Client {
  readonly messages: ServerMsg[] = [];
  closeCode: number | undefined;
  closeReason = '';
  private waiters: { check: () => boolean; resolve: () => void }[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(
    readonly socket: WebSocket,
    readonly channel: 'ingest' | 'live',
  ) {
    this.opened = waitFor('open', (res, rej) => {
      socket.once('open', () => res());
      socket.once('error', rej);
      socket.once('unexpected-response', (_req, r) => rej(new Error(`HTTP ${r.statusCode}`)));
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((res) =>
      socket.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        res(code);
        this.poke();
      }),
    );
    socket.on('error', () => undefined);
    socket.on('message', (data: Buffer) => {
      const r = decodeServerMessage(new Uint8Array(data), channel);
      if (!r.ok) throw new Error(`server sent an invalid ${channel} message: ${r.error.message}`);
      this.messages.push(r.message);
      this.poke();
    });
  }

  static async connect(url: string, channel: 'ingest' | 'live', tok: string): Promise<Client> {
    const c = new Client(new WebSocket(`${url}/v1/${channel}`, bearerProtocols(tok)), channel);
    await c.opened;
    return c;
  }

  of<T extends ServerMsg['type']>(type: T): Extract<ServerMsg, { type: T }>[] {
    return this.messages.filter((m) => m.type === type) as Extract<ServerMsg, { type: T }>[];
  }

  send(msg: IngestClientMessage | LiveClientMessage): void {
    this.socket.send(encodeClientMessage(msg));
  }

  sendRaw(bytes: Uint8Array): void {
    this.socket.send(bytes);
  }

  until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return waitFor(what, (resolve) => this.waiters.push({ check, resolve }), ms);
  }

  private poke(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }

  close(): Promise<number> {
    this.socket.close();
    return this.closed;
  }
}

export const HELLO: Hello = {
  type: 'hello',
  protocol: 1,
  patientId: 'p1',
  assessment: 'gait',
  fps: 60,
  skeleton: 'arkit91',
  device: { model: 'iPad Pro', os: 'iPadOS 17.4' },
};
const IDENTITY = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
export function syntheticFrame(seq: number, t = 1 + seq / 60): Frame {
  return { type: 'frame', seq, t, anchor: IDENTITY, joints: new Float32Array(273).fill(0.1) };
}
