// bench:infer-service — two `jepa-motion serve` nodes sharing one `jepa-motion infer` process over NATS
// against the same two nodes each running its own engine, in the same run, same load:
//   - added p99 feedback latency of the NATS hop (shared − own, same sessions per node);
//   - frames/s per inference CPU: answered frames per CPU-second of the process(es) running the engine
//     (shared: the infer process; own: both serve processes, engine + pipeline — their engine share is
//     estimated as own-serve CPU − shared-serve CPU, since a shared-mode node runs everything but the engine).
//   npx tsx loadtest/bench-infer-service.ts [--sessions 10] [--duration 10] [--json]
// Real processes: a private nats-server (/usr/sbin/nats-server), the CLI as users run it, the shipped
// model; the load generator runs here on the same box, so read the figures as ratios.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import type { WebSocketConstructor } from '../clients/sdk/index.js';
import type { SimulationReport } from '../clients/simulator/simulate.js';
import { hmacKeyConfig, mintToken } from '../src/auth/index.js';
import { readRecording } from '../streams/adapters/read-recording.js';
import { DEFAULT_RECORDING } from './harness.js';
import { runScenario } from './scenario.js';

const NATS_SERVER_BIN = '/usr/sbin/nats-server';
const BIN = new URL('../bin/jepa-motion.mjs', import.meta.url).pathname;
const { values } = parseArgs({
  options: { sessions: { type: 'string', default: '10' }, duration: { type: 'string', default: '10' }, json: { type: 'boolean', default: false } },
});
const sessionsPerNode = Number(values.sessions);
const durationS = Number(values.duration);
const secret = randomBytes(24).toString('hex');

/** CPU seconds (user + system, all threads) of a live process, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

/** Spawns a process and resolves once its stderr matches `ready` (with the match). */
function launch(cmd: string, args: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} not ready in 120 s:\n${err.slice(-2000)}`)), 120_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = ready.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} ${args[1] ?? ''} exited with ${code}:\n${err.slice(-2000)}`));
    });
  });
}

const stop = (c: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
  });

interface ScenarioResult {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly answered: number;
  readonly shed: number;
  readonly missing: number;
  readonly serveCpuS: number;
  readonly inferCpuS: number;
}

async function scenario(mode: 'shared' | 'own', natsUrl: string, work: string): Promise<ScenarioResult> {
  const children: ChildProcess[] = [];
  try {
    let inferPid: number | undefined;
    if (mode === 'shared') {
      const infer = await launch(
        process.execPath,
        [BIN, 'infer', '--infer-url', natsUrl, '--data', join(work, 'infer'), '--backend', 'wasm'],
        { LOG_LEVEL: 'warn' },
        /answering/,
      );
      children.push(infer.child);
      inferPid = infer.child.pid;
    }
    const nodes = [];
    for (const n of [0, 1]) {
      const args = [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--data', join(work, `${mode}-node${n}`), '--backend', 'wasm'];
      if (mode === 'shared') args.push('--infer-url', natsUrl);
      const s = await launch(process.execPath, args, { JEPA_JWT_SECRET: secret, LOG_LEVEL: 'warn' }, /serving on http:\/\/127\.0\.0\.1:(\d+)/);
      children.push(s.child);
      nodes.push({ pid: s.child.pid!, port: Number(s.match[1]) });
    }
    const token = mintToken({ clinic: 'bench', role: 'admin', ttlSeconds: 3600 }, hmacKeyConfig(secret), Date.now());
    const recording = await readRecording(DEFAULT_RECORDING);
    const cpu0 = nodes.map((n) => cpuSeconds(n.pid));
    const infer0 = inferPid ? cpuSeconds(inferPid) : 0;
    const reports: SimulationReport[] = await Promise.all(
      nodes.map((n) =>
        runScenario({
          url: `ws://127.0.0.1:${n.port}`,
          token,
          sessions: sessionsPerNode,
          durationS,
          rampS: 2,
          fps: 60,
          recording,
          patients: ['p0', 'p1', 'p2', 'p3'],
          WebSocket: WebSocket as WebSocketConstructor,
          warmupS: 2,
        }),
      ),
    );
    const serveCpuS = nodes.reduce((a, n, i) => a + cpuSeconds(n.pid) - cpu0[i]!, 0);
    const inferCpuS = inferPid ? cpuSeconds(inferPid) - infer0 : 0;
    const sum = (f: (r: SimulationReport) => number) => reports.reduce((a, r) => a + f(r), 0);
    return {
      // The worse node's percentiles: both carry the same load.
      p50Ms: Math.max(...reports.map((r) => r.latency_ms.p50)),
      p99Ms: Math.max(...reports.map((r) => r.latency_ms.p99)),
      answered: sum((r) => r.feedback_received) - sum((r) => r.shed),
      shed: sum((r) => r.shed),
      missing: sum((r) => r.missing_feedback),
      serveCpuS,
      inferCpuS,
    };
  } finally {
    for (const c of children.reverse()) await stop(c);
  }
}

const work = await mkdtemp(join(tmpdir(), 'jepa-bench-infer-'));
const nats = await launch(NATS_SERVER_BIN, ['-a', '127.0.0.1', '-p', '-1'], {}, /Listening for client connections on [\d.]+:(\d+)/);
try {
  const natsUrl = `nats://127.0.0.1:${nats.match[1]}`;
  const own = await scenario('own', natsUrl, work);
  const shared = await scenario('shared', natsUrl, work);
  const ownEngineCpuS = Math.max(0, own.serveCpuS - shared.serveCpuS);
  const result = {
    sessionsPerNode,
    durationS,
    loadAvg1m: loadavg()[0],
    own,
    shared,
    addedP99Ms: shared.p99Ms - own.p99Ms,
    framesPerInferenceCpuS: {
      shared: shared.inferCpuS > 0 ? shared.answered / shared.inferCpuS : null,
      ownServeTotal: own.answered / own.serveCpuS,
      ownEngineEstimate: ownEngineCpuS > 0 ? own.answered / ownEngineCpuS : null,
    },
  };
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    const f = (v: number | null) => (v === null ? '—' : v.toFixed(1));
    process.stdout.write(`2 serve nodes × ${sessionsPerNode} sessions × ${durationS} s at 60 Hz, load average ${loadavg()[0]?.toFixed(1)}\n`);
    process.stdout.write(
      `${'engine'.padEnd(26)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'answered'.padStart(10)}${'shed'.padStart(6)}${'serve CPU s'.padStart(13)}${'infer CPU s'.padStart(13)}\n`,
    );
    for (const [k, r] of [['own engine per node', own] as const, ['one shared infer process', shared] as const]) {
      process.stdout.write(
        `${k.padEnd(26)}${f(r.p50Ms).padStart(8)}${f(r.p99Ms).padStart(8)}${String(r.answered).padStart(10)}${String(r.shed).padStart(6)}${f(r.serveCpuS).padStart(13)}${f(r.inferCpuS).padStart(13)}\n`,
      );
    }
    process.stdout.write(`added p99 of the NATS hop: ${f(result.addedP99Ms)} ms\n`);
    process.stdout.write(
      `frames/s per inference CPU: shared infer process ${f(result.framesPerInferenceCpuS.shared)}; own engines ${f(result.framesPerInferenceCpuS.ownEngineEstimate)} (estimate), ${f(result.framesPerInferenceCpuS.ownServeTotal)} per whole-serve CPU\n`,
    );
  }
} finally {
  await stop(nats.child);
  await rm(work, { recursive: true, force: true });
}
