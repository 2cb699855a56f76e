// The server as a user runs it (`jepa-motion serve` in its own process), stopped with SIGTERM in the
// middle of a session and started again on the same data directory, behind the address the device
// knows (a TCP forwarder standing in for the clinic's load balancer: the restarted process binds a
// fresh port, since the old one lingers in TIME_WAIT after the shutdown closed its sockets): the device (the client
// SDK) resumes the SAME session on the restarted server, resends what the shutdown did not persist
// (frames answered SESSION_NOT_FOUND while the session was being suspended, frames sent while the
// server was down), and the finished recording holds every frame exactly once, in order.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom, merge } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { arkitFrames } from '../../clients/simulator/arkit-frames.js';
import { connectIngest, type WebSocketConstructor } from '../../clients/sdk/index.js';
import { hmacKeyConfig, mintToken } from '../../src/auth/index.js';
import { readRecording as readLog } from '../../src/storage/recording-reader.js';
import { readRecording } from '../../streams/adapters/read-recording.js';
import { hasMotionData, motion, repoRoot } from '../helpers/motion-data.js';

const SECRET = 'restart-test-secret-that-is-long-enough-0123456789';

function startServe(dataDir: string, port: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'bin', 'jepa-motion.mjs'), 'serve', '--port', String(port), '--host', '127.0.0.1', '--data', dataDir, '--fsync', 'always'],
    {
      // A window far longer than a restart on a loaded machine takes.
      env: { ...process.env, JEPA_JWT_SECRET: SECRET, LOG_LEVEL: 'warn', RESUME_WINDOW_S: '300' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start in 60 s:\n${err}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code ?? signal}:\n${err}\n${out}`));
    });
  });
}

/** Forwards every connection to the current `target` port; with no server there, the device sees its connection fail. */
async function frontDoor(): Promise<{ port: number; target: number; server: Server }> {
  const door = { port: 0, target: 0, server: undefined as unknown as Server };
  door.server = createServer((client: Socket) => {
    const upstream = connect(door.target, '127.0.0.1');
    for (const s of [client, upstream]) s.on('error', () => undefined);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => door.server.listen(0, '127.0.0.1', r));
  door.port = (door.server.address() as { port: number }).port;
  return door;
}

const exited = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', (code) => resolve(code)));

describe.runIf(hasMotionData)('SIGTERM mid-session, restart, resume', () => {
  const children: ChildProcess[] = [];
  const doors: Server[] = [];
  let dir = '';
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const d of doors) d.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('continues the same session on the restarted server; the recording has every frame exactly once', async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-restart-'));
    const data = join(dir, 'data');
    const frames = [...arkitFrames(await readRecording(motion('opensim-gait', 'subject01_walk1.trc')), { clockOffsetS: 100 })];
    const door = await frontDoor();
    doors.push(door.server);
    const first = await startServe(data, 0);
    children.push(first.child);
    door.target = first.port;
    const token = mintToken({ clinic: 'c1', role: 'device', patient: 'p1', ttlSeconds: 600 }, hmacKeyConfig(SECRET), Date.now());
    const client = await connectIngest({
      url: `ws://127.0.0.1:${door.port}`,
      token,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      hello: { patientId: 'p1', assessment: 'gait', fps: 60, device: { model: 'iPad13,8', os: 'iPadOS 17.4' } },
      // Keep trying through the restart (the server is down for seconds on a loaded machine).
      backoff: { initialMs: 100, maxMs: 1000, maxAttempts: 300 },
      timeouts: { endMs: 120_000 },
    });
    const sessionId = client.sessionId;
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.code));
    // Acknowledged by an ack, or by a resume's `ready.resumeFromSeq` (state goes back to ready).
    const acked = (seq: number) =>
      firstValueFrom(merge(client.acks$, client.state$).pipe(filter((m) => (typeof m === 'object' && m.seq >= seq) || client.stats.lastAckedSeq >= seq)));

    for (const f of frames.slice(0, 60)) client.sendFrame(f);
    await acked(59);

    // SIGTERM, and the device keeps streaming: these frames reach the server while it suspends the
    // session (SESSION_NOT_FOUND), or find the socket closed, or wait in the SDK while it reconnects.
    first.child.kill('SIGTERM');
    for (const f of frames.slice(60, 100)) client.sendFrame(f);
    expect(await exited(first.child)).toBe(0);
    const files = (await readdir(join(data, 'recordings'))).filter((f) => f.endsWith('.jmrl'));
    expect(files).toEqual([`${sessionId}.jmrl`]);
    // Suspended, not finalised: no trailer yet, the last record says until when it may be resumed.
    const suspended = await readLog(join(data, 'recordings', files[0]!));
    expect(suspended.end.status).toBe('unfinished');
    expect(suspended.entries.at(-1)?.value).toMatchObject({ type: 'suspended' });

    const second = await startServe(data, 0);
    children.push(second.child);
    door.target = second.port;
    await acked(99);
    expect(client.sessionId).toBe(sessionId);
    expect(client.stats.reconnects).toBeGreaterThanOrEqual(1);
    for (const f of frames.slice(100)) client.sendFrame(f);
    const ended = await client.end();
    expect(ended).toMatchObject({ sessionId, frames: frames.length });
    expect(errors.filter((c) => c !== 'SESSION_NOT_FOUND')).toEqual([]);

    const { entries, end } = await readLog(join(data, 'recordings', `${sessionId}.jmrl`));
    expect(end.status).toBe('complete');
    const seqs = entries.map((e) => e.value as { type?: string; seq?: number }).flatMap((v) => (v.type === 'frame' ? [v.seq!] : []));
    expect(seqs).toEqual(frames.map((f) => f.seq));
    expect(entries.filter((e) => (e.value as { type?: string }).type === 'suspended')).toHaveLength(1);

    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);
  }, 240_000);
});
