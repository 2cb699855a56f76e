// A finished session from any node: two `jepa-motion serve` nodes on one private nats-server, each with
// its own data directory. A real recording is streamed into node A; node B, whose disk never saw it,
// lists it under /v1/recordings (from the entry published beside the recording) and replays it from a
// temporary copy of the published recording, removed after — the same states node A replays from its
// own file. A therapist of another clinic sees none of it, on either node.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { WebSocketConstructor } from '../../clients/sdk/index.js';
import { loadRecordings, simulate } from '../../clients/simulator/simulate.js';
import { hmacKeyConfig, mintToken } from '../../src/auth/index.js';
import { startServe, type ServeHandle } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { decodeReplay, type Replay } from '../../src/protocol/index.js';
import type { FinishedSession } from '../../src/sessions/session-replay.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';
import { captureIo } from '../src/cli/cli-helpers.js';
import { startNatsServer, type NatsServerHandle } from '../src/jobs/nats-server.js';

const SECRET = 'cross-node-replay-secret-long-enough-0123456789';
const key = hmacKeyConfig(SECRET);
const therapist = (clinic: string) => mintToken({ clinic, role: 'therapist', ttlSeconds: 600 }, key, Date.now());
const get = (base: string, path: string, tok: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${tok}` } });

async function listed(base: string, clinic: string): Promise<FinishedSession[]> {
  const res = await get(base, '/v1/recordings', therapist(clinic));
  expect(res.status).toBe(200);
  return ((await res.json()) as { sessions: FinishedSession[] }).sessions;
}

async function replayed(base: string, sessionId: string): Promise<Replay> {
  const res = await get(base, `/v1/sessions/${sessionId}/replay`, therapist('north'));
  expect(res.status).toBe(200);
  const decoded = decodeReplay(new Uint8Array(await res.arrayBuffer()));
  if (!decoded.ok) throw new Error(decoded.message);
  return decoded.replay;
}

describe.runIf(hasMotionData)('finished sessions listed and replayed from any node', () => {
  let dir: string;
  let nats: NatsServerHandle;
  const nodes: ServeHandle[] = [];
  let a: ServeHandle;
  let b: ServeHandle;
  const dataOf = (name: string) => join(dir, name);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-replay-x-'));
    nats = await startNatsServer();
    for (const name of ['node-a', 'node-b']) {
      // No job consumers: this is about the dashboard's reads, not retraining.
      const config = loadConfig(['--port', '0', '--host', '127.0.0.1', '--data', dataOf(name), '--nats', nats.url, '--workers', '0'], {
        JEPA_JWT_SECRET: SECRET,
      });
      nodes.push(await startServe(config, silentLogger, captureIo()));
    }
    [a, b] = nodes as [ServeHandle, ServeHandle];
  }, 60_000);
  afterAll(async () => {
    for (const n of nodes) await n.close();
    await nats?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('node B lists and replays a session recorded and finished on node A; another clinic gets nothing', async () => {
    const report = await simulate({
      recordings: await loadRecordings([motion('opensim-gait', 'subject01_walk1.trc')]),
      url: a.url.replace('http', 'ws'),
      token: mintToken({ clinic: 'north', role: 'device', patient: 'p-x', ttlSeconds: 600 }, key, Date.now()),
      patientId: 'p-x',
      sessions: 1,
      speed: 4,
      rampMs: 0,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
    });
    expect(report).toMatchObject({ acked: report.frames_sent, errors: 0 });

    // The session is finalised and published before `assessment.completed`; wait until node B lists it.
    let onB: FinishedSession[] = [];
    for (const deadline = Date.now() + 30_000; onB.length === 0 && Date.now() < deadline;) {
      onB = await listed(b.url, 'north');
      if (onB.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(onB).toEqual([expect.objectContaining({ patientId: 'p-x', assessment: 'gait' })]);
    const sessionId = onB[0]!.sessionId;
    expect(Date.parse(onB[0]!.endedAt)).toBeGreaterThanOrEqual(Date.parse(onB[0]!.startedAt));
    // Node A lists it once (its own file and its published entry are the same session).
    expect((await listed(a.url, 'north')).map((s) => s.sessionId)).toEqual([sessionId]);
    // Node B's disk never held the recording.
    expect(await readdir(join(dataOf('node-b'), 'recordings')).catch(() => [])).toEqual([]);

    const fromA = await replayed(a.url, sessionId);
    const fromB = await replayed(b.url, sessionId);
    expect(fromB).toMatchObject({ sessionId, clinic: 'north', patientId: 'p-x', assessment: 'gait', frames: report.frames_sent, truncated: false });
    expect(fromB.updates.length).toBeGreaterThan(report.frames_sent / 2 - 3);
    // The same recording through the same stages: the same states on either node.
    expect(fromB.updates.map((u) => u.seq)).toEqual(fromA.updates.map((u) => u.seq));
    fromB.updates.forEach((u, i) => {
      const v = fromA.updates[i]!;
      expect(Array.from(u.joints)).toEqual(Array.from(v.joints));
      expect(u.phase).toBe(v.phase);
      expect(u.metrics).toEqual(v.metrics);
    });
    // The temporary copy is gone, and node B still keeps no recording of its own.
    expect(await readdir(join(dataOf('node-b'), 'replay-tmp'))).toEqual([]);
    expect(await readdir(join(dataOf('node-b'), 'recordings')).catch(() => [])).toEqual([]);

    // Another clinic: not listed, and its replay is "not found" on both nodes.
    for (const node of [a, b]) {
      expect(await listed(node.url, 'south')).toEqual([]);
      const r = await get(node.url, `/v1/sessions/${sessionId}/replay`, therapist('south'));
      expect(r.status).toBe(404);
      expect(await r.json()).toMatchObject({ code: 'SESSION_NOT_FOUND' });
    }
    const unknown = await get(b.url, '/v1/sessions/no-such-session/replay', therapist('north'));
    expect(unknown.status).toBe(404);
  }, 120_000);
});
