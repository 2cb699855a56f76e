// bench:retrain-isolation — does training move live feedback? (issues 9 and 11 item 3)
// Starts the real `jepa-motion serve` (bin/jepa-motion.mjs; embedded defaults: in-process bus, one
// retrain thread) as a child process and, in the same run, measures the send → feedback latency of N new live sessions
//   1. baseline: nothing else running
//   2. with retrains: right after R short sessions of R different patients end together, so R
//      retrains (no coalescing possible) are queued and train while the live sessions run
//   3. baseline again, once every retrain has finished (the box is shared: a drift between 1 and 3
//      is other load, not ours)
// Before phase 1 an unmeasured settle phase (--settle seconds) runs the same live load and its retrain
// drains: the server's start-up work (JIT, the counterfactual thread's tfjs, the first retrain
// process) would otherwise land in the baseline and flatter the ratio.
// The live sessions of a phase are of one new patient, so the retrains their own ends cause coalesce
// into a couple of batches; before phases 1 and 3 every queued retrain has finished. Retrains done are read from the
// result records the retrain job writes, one per job (<data>/artifacts/retrain/results/*.json).
// Goal: p99 with retrains within 20 % of the baseline p99.
//   npx tsx loadtest/bench-retrain-isolation.ts [--sessions 20] [--duration 20] [--retrains 10] [--retrain-session 10] [--warmup 2] [--settle 5] [--json]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import type { WebSocketConstructor } from '../clients/sdk/index.js';
import type { SimulationReport } from '../clients/simulator/simulate.js';
import { hmacKeyConfig, mintToken } from '../src/auth/index.js';
import { readRecording } from '../streams/adapters/read-recording.js';
import type { Recording } from '../streams/types.js';
import { DEFAULT_RECORDING } from './harness.js';
import { runScenario } from './scenario.js';
import { createInterface } from 'node:readline';
import { sampleUsage } from './server-process.js';

const BIN = new URL('../bin/jepa-motion.mjs', import.meta.url).pathname;
const GOAL = 1.2;
/** Longest wait for queued retrains to finish between phases. */
const DRAIN_TIMEOUT_MS = 10 * 60_000;

interface Phase {
  readonly name: string;
  readonly report: SimulationReport;
  /** Retrains finished when the phase started / ended (of `retrains`). */
  readonly retrainsDone: readonly [number, number];
  readonly cpuPct: number;
  readonly loadAvg: number;
}

const loadAvg1 = (): number => Math.round((loadavg()[0] ?? NaN) * 100) / 100;

/** `jepa-motion serve` as users run it; resolves with its port once it logs `serving`. */
async function startServe(args: readonly string[], env: Readonly<Record<string, string>>): Promise<{ pid: number; port: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-4096)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start within 120 s: ${stderr}`)), 120_000);
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`serve exited with ${code}: ${stderr}`))));
    // Log lines are JSON on stdout; every line is read so the pipe never fills.
    createInterface({ input: child.stdout }).on('line', (line) => {
      let l: { msg?: string; url?: string } = {};
      try {
        l = JSON.parse(line) as typeof l;
      } catch {
        return;
      }
      if (l.msg === 'serving' && l.url) {
        clearTimeout(timer);
        resolve(Number(new URL(l.url).port));
      }
    });
  });
  return {
    pid: child.pid ?? -1,
    port,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      sessions: { type: 'string', default: '20' },
      duration: { type: 'string', default: '20' },
      ramp: { type: 'string', default: '2' },
      warmup: { type: 'string', default: '2' },
      settle: { type: 'string', default: '5' },
      retrains: { type: 'string', default: '10' },
      'retrain-session': { type: 'string', default: '10' },
      recording: { type: 'string', default: DEFAULT_RECORDING },
      json: { type: 'boolean', default: false },
    },
  });
  const num = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new RangeError(`--${name} must be a number ≥ ${min}, got ${v}`);
    return n;
  };
  const sessions = Math.round(num('sessions', values.sessions, 1));
  const durationS = num('duration', values.duration, 5);
  const rampS = num('ramp', values.ramp, 0);
  const warmupS = num('warmup', values.warmup, 0);
  const settleS = num('settle', values.settle, 0);
  const retrains = Math.round(num('retrains', values.retrains, 1));
  // Seconds of each session whose end queues a retrain (≥ 2 s: the retrain's 120-frame minimum).
  const retrainSessionS = num('retrain-session', values['retrain-session'], 2);
  const recording: Recording = await readRecording(values.recording ?? DEFAULT_RECORDING);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  const dataDir = await mkdtemp(join(tmpdir(), 'bench-retrain-'));
  const secret = randomBytes(32).toString('base64url');
  const server = await startServe(['--port', '0', '--host', '127.0.0.1', '--data', dataDir, '--backend', 'wasm'], {
    JEPA_JWT_SECRET: secret,
    LOG_LEVEL: 'info',
  });
  const resultsDir = join(dataDir, 'artifacts', 'retrain', 'results');
  const retrainsDone = async (): Promise<number> => (await readdir(resultsDir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).length;
  const token = mintToken({ clinic: 'bench', role: 'admin', ttlSeconds: 3600 }, hmacKeyConfig(secret), Date.now());
  const url = `ws://127.0.0.1:${server.port}`;
  const ws = WebSocket as unknown as WebSocketConstructor;
  const phases: Phase[] = [];
  let retrainSeconds = NaN;
  /** Retrain jobs not yet finished when the with-retrains phase ended. */
  let pendingAtEnd = 0;
  try {
    const live = async (name: string, phaseS = durationS): Promise<Phase> => {
      const before = await retrainsDone();
      const sampler = sampleUsage(server.pid);
      const report = await runScenario({
        url,
        token,
        sessions,
        durationS: phaseS,
        rampS,
        fps: 60,
        recording,
        // One new patient per phase: its sessions' retrains coalesce, and no phase meets a model the
        // previous one's retrain registered.
        patients: [`live-${name}`],
        WebSocket: ws,
        warmupS,
      });
      const usage = sampler.stop();
      const p: Phase = { name, report, retrainsDone: [before, await retrainsDone()], cpuPct: usage.cpuPct, loadAvg: loadAvg1() };
      const l = report.latency_ms;
      log(
        `${name.padEnd(14)} p50 ${l.p50} p95 ${l.p95} p99 ${l.p99} max ${l.max} ms  frames ${report.frames_sent} missing ${report.missing_feedback} shed ${report.shed}  retrain jobs done ${p.retrainsDone[0]}→${p.retrainsDone[1]}  server cpu ${usage.cpuPct}%  load ${p.loadAvg}`,
      );
      return p;
    };

    // Every session that ends queues a retrain job (one result record each): wait for them to finish.
    let ended = 0;
    const drained = async (what: string): Promise<boolean> => {
      const deadline = performance.now() + DRAIN_TIMEOUT_MS;
      while ((await retrainsDone()) < ended && performance.now() < deadline) await new Promise((r) => setTimeout(r, 500));
      const done = await retrainsDone();
      if (done < ended) log(`${what}: ${done}/${ended} retrain jobs done after ${DRAIN_TIMEOUT_MS / 1000} s`);
      return done >= ended;
    };
    if (settleS > 0) {
      await live('settle', settleS); // not in the results
      ended += sessions;
      if (!(await drained('after settling'))) throw new Error("the settle phase's retrains did not finish");
    }
    phases.push(await live('baseline'));
    ended += sessions;
    if (!(await drained('after the baseline'))) throw new Error("the baseline sessions' retrains did not finish");
    // R sessions of R patients end together: R retrains queue behind each other on the retrain thread.
    const queued = performance.now();
    const ending = await runScenario({
      url,
      token,
      sessions: retrains,
      durationS: retrainSessionS,
      rampS: 0,
      fps: 60,
      recording,
      patients: Array.from({ length: retrains }, (_, i) => `retrain-${i}`),
      WebSocket: ws,
    });
    if (ending.failed_sessions > 0) throw new Error(`retrain sessions failed: ${ending.failures.join('; ')}`);
    ended += retrains;
    phases.push(await live('with-retrains'));
    pendingAtEnd = ended - (phases[1]?.retrainsDone[1] ?? 0);
    ended += sessions;
    if (await drained('after the retrains')) {
      retrainSeconds = Math.round((performance.now() - queued) / 100) / 10;
      log(`retrains       all ${ended} jobs done ${retrainSeconds} s after the ${retrains} retrain sessions started`);
      phases.push(await live('baseline-after'));
    }
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }

  const p99 = (name: string): number => phases.find((p) => p.name === name)?.report.latency_ms.p99 ?? NaN;
  const base = Math.max(p99('baseline'), Number.isFinite(p99('baseline-after')) ? p99('baseline-after') : -Infinity);
  const ratio = Math.round((p99('with-retrains') / p99('baseline')) * 100) / 100;
  const ratioWorstBaseline = Math.round((p99('with-retrains') / base) * 100) / 100;
  const better = Math.min(p99('baseline'), Number.isFinite(p99('baseline-after')) ? p99('baseline-after') : Infinity);
  const ratioBetterBaseline = Math.round((p99('with-retrains') / better) * 100) / 100;
  const during = phases[1]!;
  // The retrain jobs were still training when the live phase ended: they ran throughout it.
  const overlapped = pendingAtEnd > 0;
  const summary = {
    bench: 'retrain-isolation',
    machine: { cpus: cpus().length, loadAvg1: loadAvg1() },
    sessions,
    durationS,
    retrains,
    retrainSessionS,
    settleS,
    retrainsRunningThroughout: overlapped,
    retrainJobsPendingAtEnd: pendingAtEnd,
    retrainSecondsTotal: retrainSeconds,
    p99Ms: { baseline: p99('baseline'), withRetrains: p99('with-retrains'), baselineAfter: p99('baseline-after') },
    ratio,
    ratioVsWorseBaseline: ratioWorstBaseline,
    ratioVsBetterBaseline: ratioBetterBaseline,
    goal: GOAL,
    pass: overlapped && ratio <= GOAL,
    phases: phases.map((p) => ({
      name: p.name,
      latencyMs: p.report.latency_ms,
      frames: p.report.frames_sent,
      missingFeedback: p.report.missing_feedback,
      shed: p.report.shed,
      failedSessions: p.report.failed_sessions,
      retrainsDone: p.retrainsDone,
      serverCpuPct: p.cpuPct,
      loadAvg1: p.loadAvg,
    })),
  };
  if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    process.stdout.write(
      [
        `retrain isolation: ${sessions} live sessions × ${durationS} s, ${retrains} retrains queued (${cpus().length} cores, load ${summary.machine.loadAvg1})`,
        `  p99 baseline        ${summary.p99Ms.baseline} ms`,
        `  p99 with retrains   ${summary.p99Ms.withRetrains} ms  (retrain jobs done ${during.retrainsDone[0]}→${during.retrainsDone[1]}; ${pendingAtEnd} still queued or training at its end)`,
        `  p99 baseline after  ${summary.p99Ms.baselineAfter} ms`,
        `  ratio ${ratio} (vs the worse baseline ${ratioWorstBaseline}, the better ${ratioBetterBaseline}); goal ≤ ${GOAL}: ${summary.pass ? 'PASS' : 'FAIL'}`,
        '',
      ].join('\n'),
    );
  }
  return summary.pass ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`bench:retrain-isolation: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
