// `jepa-motion replay` as a user runs it (its own process, `node bin/jepa-motion.mjs replay …`) ends
// with its exit code on every failure of the simulator and the SDK: a `ready` the SDK must refuse, a
// token the server refuses (HTTP 401, FORBIDDEN), a server that goes away mid-session, a server that
// never answers hello, garbage after ready, nothing listening. A process still alive after a generous
// bound is killed and the test fails: it would have hung (it used to, with a socket left open).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { pack } from 'msgpackr';
import { decodeClientMessage, encodeServerMessage, SUBPROTOCOL } from '../../../src/protocol/index.js';
import { hasMotionData, motion, repoRoot } from '../../helpers/motion-data.js';
import { startServer, token, type Harness } from '../transport/harness.js';

const WALK = motion('opensim-gait', 'subject01_walk1.trc');
/** Far above any legitimate run here (the slowest waits out the SDK's 30 s `ended` timeout). */
const KILL_AFTER_MS = 100_000;
/** vitest's own bound per test: above KILL_AFTER_MS, so a hang reports as one rather than as a vitest timeout. */
const TEST_MS = 150_000;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

async function replay(url: string, tok: string, ...extra: string[]): Promise<Run> {
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'bin', 'jepa-motion.mjs'), 'replay', WALK, '--url', url, '--token', tok, '--speed', '4', '--json', ...extra],
    {
      env: { ...process.env, JEPA_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(killer);
  if (signal === 'SIGKILL') throw new Error(`replay did not exit within ${KILL_AFTER_MS} ms (it hangs); stdout:\n${stdout}\nstderr:\n${stderr}`);
  return { code, stdout, stderr };
}

function report(run: Run): { failed_sessions: number; failures: string[]; error_codes: Record<string, number> } {
  return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as { failed_sessions: number; failures: string[]; error_codes: Record<string, number> };
}

type Behaviour = (ws: WebSocket, wss: WebSocketServer) => void;

/** A WebSocket server that speaks the subprotocol and does `onHello` when the device says hello. */
async function rogue(onHello: Behaviour, after?: (ws: WebSocket) => void): Promise<{ url: string; wss: WebSocketServer }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => SUBPROTOCOL });
  wss.on('connection', (ws) => {
    ws.on('message', (data: Buffer) => {
      const r = decodeClientMessage(new Uint8Array(data), 'ingest');
      if (r.ok && r.message.type === 'hello') onHello(ws, wss);
      else after?.(ws);
    });
  });
  await once(wss, 'listening');
  const addr = wss.address();
  return { url: `ws://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, wss };
}

const rogues: WebSocketServer[] = [];
const ready = (ws: WebSocket) =>
  ws.send(encodeServerMessage({ type: 'ready', sessionId: 's1', model: { id: 'pretrained', kind: 'pretrained', version: '1' }, horizons: [1] }));

describe.runIf(hasMotionData).concurrent('jepa-motion replay exits on every failure', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startServer();
  });
  afterAll(async () => {
    for (const w of rogues) {
      for (const c of w.clients) c.terminate();
      w.close();
    }
    await h?.close();
  }, TEST_MS);

  it(
    'a ready the SDK must refuse (the server keeps the socket open): exit 1, BAD_SERVER_MESSAGE',
    async () => {
      // What a pre-ModelId server sent after a retrain, and any server speaking another dialect.
      const { url, wss } = await rogue((ws) =>
        ws.send(pack({ type: 'ready', sessionId: 's1', model: { id: 'not a model id!', kind: 'patient', version: '1' }, horizons: [1] })),
      );
      rogues.push(wss);
      const run = await replay(url, 'any-token', '--patient', 'p1');
      expect(run.code).toBe(1);
      expect(report(run).failures[0]).toMatch(/^BAD_SERVER_MESSAGE/);
    },
    TEST_MS,
  );

  it(
    'garbage after ready: exit 1, BAD_SERVER_MESSAGE',
    async () => {
      const { url, wss } = await rogue(ready, (ws) => ws.send(new Uint8Array([0xc1])));
      rogues.push(wss);
      const run = await replay(url, 'any-token', '--patient', 'p1');
      expect(run.code).toBe(1);
      expect(report(run).failures[0]).toMatch(/^BAD_SERVER_MESSAGE/);
    },
    TEST_MS,
  );

  it(
    'a token the server refuses at the upgrade (HTTP 401): exit 1, UNAUTHORIZED',
    async () => {
      const run = await replay(h.ws, 'not.a.jwt', '--patient', 'p1');
      expect(run.code).toBe(1);
      expect(report(run).failures[0]).toMatch(/^UNAUTHORIZED/);
    },
    TEST_MS,
  );

  it(
    'a device token for another patient (FORBIDDEN, close 4001): exit 1, UNAUTHORIZED',
    async () => {
      const run = await replay(h.ws, token({ clinic: 'c1', role: 'device', patient: 'p1' }), '--patient', 'someone-else');
      expect(run.code).toBe(1);
      expect(report(run).failures[0]).toMatch(/^UNAUTHORIZED: hello refused: FORBIDDEN/);
    },
    TEST_MS,
  );

  it(
    'the server goes away mid-session and does not come back: exit 1',
    async () => {
      const { url, wss } = await rogue((ws, server) => {
        ready(ws);
        // Gone: every connection dropped, the port refuses from now on.
        setTimeout(() => {
          for (const c of server.clients) c.terminate();
          server.close();
        }, 200);
      });
      const run = await replay(url, 'any-token', '--patient', 'p1');
      wss.close();
      expect(run.code).toBe(1);
      expect(report(run).failed_sessions).toBe(1);
    },
    TEST_MS,
  );

  it(
    'a server that never answers hello: exit 1, TIMEOUT',
    async () => {
      const { url, wss } = await rogue(() => undefined);
      rogues.push(wss);
      const run = await replay(url, 'any-token', '--patient', 'p1');
      expect(run.code).toBe(1);
      expect(report(run).failures[0]).toMatch(/^TIMEOUT/);
    },
    TEST_MS,
  );

  it('nothing listens (connection refused): exit 1, CONNECT_FAILED', async () => {
    const { url, wss } = await rogue(() => undefined);
    await new Promise<void>((r) => wss.close(() => r()));
    const run = await replay(url, 'any-token', '--patient', 'p1');
    expect(run.code).toBe(1);
    expect(report(run).failures[0]).toMatch(/^CONNECT_FAILED/);
  });
});
