// The server as a user runs it (`jepa-motion serve` in its own process), killed with SIGKILL in the
// middle of a session: after a restart on the same data directory, every frame it acknowledged is in
// the recording exactly once, and the recording is finalised.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { arkitFrames } from '../../clients/simulator/arkit-frames.js';
import { bearerProtocols, hmacKeyConfig, mintToken } from '../../src/auth/index.js';
import { main } from '../../src/cli/main.js';
import { decodeServerMessage, encodeClientMessage } from '../../src/protocol/index.js';
import { readRecording as readLog } from '../../src/storage/recording-reader.js';
import { readRecording } from '../../streams/adapters/read-recording.js';
import { captureIo } from '../src/cli/cli-helpers.js';
import { hasMotionData, motion, repoRoot } from '../helpers/motion-data.js';

const SECRET = 'crash-test-secret-that-is-long-enough-0123456789';

function startServe(dataDir: string, modelDir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'bin', 'jepa-motion.mjs'), 'serve', '--port', '0', '--host', '127.0.0.1', '--data', dataDir, '--model', modelDir, '--fsync', 'always'],
    {
      env: { ...process.env, JEPA_JWT_SECRET: SECRET, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start in 90 s:\n${err}`)), 90_000); // a bound for a loaded CI box, not a timing claim
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${err}`));
    });
  });
}

describe.runIf(hasMotionData)('kill -9 mid-session', () => {
  let dir: string;
  let modelDir: string;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-crash-'));
    modelDir = join(dir, 'model');
    const io = captureIo({ JEPA_BACKEND: 'wasm' });
    expect(await main(['train', motion('opensim-gait', 'subject01_walk1.trc'), '--out', modelDir, '--epochs', '1'], io)).toBe(0);
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('loses no acknowledged frame, and a restart finalises the recording', async () => {
    const data = join(dir, 'data');
    const first = await startServe(data, modelDir);
    children.push(first.child);
    const token = mintToken({ clinic: 'c1', role: 'device', patient: 'p1', ttlSeconds: 600 }, hmacKeyConfig(SECRET), Date.now());
    const ws = new WebSocket(`ws://127.0.0.1:${first.port}/v1/ingest`, bearerProtocols(token));
    let acked = -1;
    const enoughAcks = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${acked + 1} frames acknowledged`)), 20_000);
      ws.on('message', (data: Buffer) => {
        const r = decodeServerMessage(new Uint8Array(data), 'ingest');
        if (r.ok && r.message.type === 'ack') acked = Math.max(acked, r.message.seq);
        if (acked >= 60) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    ws.send(
      encodeClientMessage({
        type: 'hello',
        protocol: 1,
        patientId: 'p1',
        assessment: 'gait',
        fps: 60,
        skeleton: 'arkit91',
        device: { model: 'test', os: 'node' },
      }),
    );
    for (const f of arkitFrames(await readRecording(motion('opensim-gait', 'subject01_walk1.trc')))) {
      ws.send(encodeClientMessage({ type: 'frame', ...f }));
    }
    await enoughAcks;
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    ws.terminate();
    const ackedAtKill = acked;

    const second = await startServe(data, modelDir);
    children.push(second.child);
    const files = (await readdir(join(data, 'recordings'))).filter((f) => f.endsWith('.jmrl'));
    expect(files).toHaveLength(1);
    const { entries, end } = await readLog(join(data, 'recordings', files[0]!));
    expect(end.status).toBe('complete');
    const seqs = entries
      .map((e) => e.value as { type?: string; seq?: number })
      .filter((v) => v.type === 'frame')
      .map((v) => v.seq!);
    expect(new Set(seqs).size).toBe(seqs.length);
    for (let s = 0; s <= ackedAtKill; s++) expect(seqs).toContain(s);
    second.child.kill('SIGTERM');
    await new Promise((resolve) => second.child.once('exit', resolve));
  }, 240_000);
});
