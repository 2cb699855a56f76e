// `npm run bench:taskpack [-- --json]`: a fresh embedded server (child process, its own ./data), a gait,
// a squat and a sit-to-stand recording replayed through it as an iPad would (`jepa-motion replay`), and
// for each the time from `end` (the replay finished, `ended` received) until its task pack is listed
// under /v1/taskpacks — retrain, planning, sim execution, report and storage included. Prints p50 and
// max over the three (and each), as a table or with --json one object. Not a test: a measurement.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { hmacKeyConfig, mintToken } from '../src/auth/index.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const MOTION = resolve(ROOT, '..', 'shared', 'data', 'motion');
const BIN = join(ROOT, 'bin', 'jepa-motion.mjs');
const SECRET = 'bench-taskpack-secret-long-enough-for-hs256!!';
/** Give up on one pack after this long (the issue asks for 30 s; a slow machine gets room to report it). */
const PACK_TIMEOUT_MS = 180_000;

const RUNS = [
  { name: 'gait', assessment: 'gait', file: join(MOTION, 'shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d') },
  { name: 'squat', assessment: 'squat', file: join(MOTION, 'ui-prmd', 'vicon', 'm01_s01_e01_positions.txt') },
  { name: 'sit-to-stand', assessment: 'sit_to_stand', file: join(MOTION, 'ui-prmd', 'vicon', 'm05_s01_e01_positions.txt') },
] as const;

const tokenFor = (claims: { role: 'device' | 'therapist'; patient?: string }): string =>
  mintToken({ clinic: 'bench-clinic', ttlSeconds: 3600, ...claims }, hmacKeyConfig(SECRET), Date.now());

function run(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    p.on('exit', (code) => done({ code: code ?? 1, stdout, stderr }));
  });
}

async function main(): Promise<number> {
  const json = process.argv.includes('--json');
  const data = await mkdtemp(join(tmpdir(), 'jm-bench-taskpack-'));
  const env = { JEPA_JWT_SECRET: SECRET, LOG_LEVEL: 'warn' };
  const server = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--data', data], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  try {
    const url = await new Promise<string>((ok, fail) => {
      const t = setTimeout(() => fail(new Error(`server not up in 120 s:\n${log}`)), 120_000);
      createInterface({ input: server.stderr }).on('line', (l) => {
        log = (log + l + '\n').slice(-4000);
        const m = /serving on (http:\/\/[\d.]+:\d+)/.exec(l);
        if (m) {
          clearTimeout(t);
          ok(m[1]!);
        }
      });
      server.once('exit', (c) => fail(new Error(`server exited (${c}):\n${log}`)));
    });
    const therapist = tokenFor({ role: 'therapist' });
    const results: { name: string; end_to_pack_s: number; frames: number }[] = [];
    for (const r of RUNS) {
      const patient = `bench-${r.name.replace(/\W/g, '')}`;
      const replay = await run(
        [
          'replay',
          r.file,
          '--url',
          url.replace('http', 'ws'),
          '--token',
          tokenFor({ role: 'device', patient }),
          '--patient',
          patient,
          '--assessment',
          r.assessment,
          '--speed',
          '4',
          '--json',
        ],
        env,
      );
      const ended = performance.now();
      if (replay.code !== 0) throw new Error(`replay of ${r.file} failed (${replay.code}): ${replay.stderr}`);
      const frames = Number((JSON.parse(replay.stdout.trim().split('\n').pop() ?? '{}') as { frames_sent?: number }).frames_sent ?? 0);
      for (;;) {
        const res = await fetch(`${url}/v1/taskpacks?patient=${patient}`, { headers: { authorization: `Bearer ${therapist}` } });
        const list = (await res.json()) as { taskpacks: unknown[] };
        if (list.taskpacks.length > 0) break;
        if (performance.now() - ended > PACK_TIMEOUT_MS) throw new Error(`no task pack for ${r.name} within ${PACK_TIMEOUT_MS / 1000} s`);
        await new Promise((w) => setTimeout(w, 100));
      }
      results.push({ name: r.name, end_to_pack_s: (performance.now() - ended) / 1000, frames });
    }
    const s = results.map((x) => x.end_to_pack_s).sort((a, b) => a - b);
    const summary = { runs: results, p50_s: s[Math.floor(s.length / 2)]!, max_s: s[s.length - 1]!, target_s: 30 };
    if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      process.stdout.write('recording      frames  end → task pack stored (s)\n');
      for (const x of results) process.stdout.write(`${x.name.padEnd(14)} ${String(x.frames).padStart(6)}  ${x.end_to_pack_s.toFixed(1).padStart(8)}\n`);
      process.stdout.write(`p50 ${summary.p50_s.toFixed(1)} s, max ${summary.max_s.toFixed(1)} s (target ≤ 30 s, retrain included)\n`);
    }
    return 0;
  } finally {
    server.kill('SIGTERM');
    await new Promise((w) => server.once('exit', w));
    await rm(data, { recursive: true, force: true });
  }
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`bench:taskpack: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
