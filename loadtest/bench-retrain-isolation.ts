// bench:retrain-isolation — does training move live feedback? (issues 9 and 11 item 3)
// Starts the real `jepa-motion serve` (bin/jepa-motion.mjs; embedded defaults: in-process bus, one
// retrain process) as a child process and, in the same run, measures the send → feedback latency of N
// new live sessions in alternating phases, --rounds times:
//   baseline: nothing else running (every job of earlier phases has finished)
//   with retrains: right after R short sessions of R different patients end together, so R retrains
//     (no coalescing possible) queue behind each other and one trains at every moment of the phase,
//     then their task packs are built
// and one more baseline at the end. The box is shared and a single 20 s phase's p99 moves by tens of
// per cent on its own (two baselines of one run differed by 36 %), so the verdict compares the median
// p99 of the with-retrains phases against the median of the baselines, and prints every phase.
// Before the first phase an unmeasured settle phase (--settle seconds) runs the same live load and its
// jobs drain: the server's start-up work (JIT, the counterfactual thread's tfjs, the first retrain
// process) would otherwise land in a baseline and flatter the ratio.
// The live sessions of a phase are of one new patient, so the retrains their own ends cause coalesce
// into a couple of batches. Every ended session also gets a task pack once its retrain is done (a
// background process of its own, several seconds each): before each baseline every queued retrain AND
// task pack has finished, or the baseline would be measured beside the previous phase's packs.
// Jobs done are read from the records the jobs write, one per job: retrains from
// <data>/artifacts/retrain/results/*.json, task packs from their index entries (taskpacks/<clinic>/)
// or dead-letter records (taskpacks-dead/<clinic>/).
// Retrain time grows with the session's frames (fixed epochs): R and the retrain sessions' length are
// chosen so that retrains still queue when a with-retrains phase ends, on a box where ten retrains of
// 10 s sessions all finish within the first seconds of the phase (a verdict over a phase where nothing
// trained would say nothing); the bench checks it and fails otherwise.
// Goal: median p99 with retrains within 20 % of the median baseline p99.
//   npx tsx loadtest/bench-retrain-isolation.ts [--rounds 3] [--sessions 20] [--duration 20] [--retrains 20] [--retrain-session 30] [--warmup 2] [--settle 5] [--json]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
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
const CLINIC = 'bench';
/** Longest wait for queued retrains to finish between phases. */
const DRAIN_TIMEOUT_MS = 10 * 60_000;

interface Phase {
  readonly name: string;
  readonly report: SimulationReport;
  /** Retrains finished when the phase started / ended (of `retrains`). */
  readonly retrainsDone: readonly [number, number];
  /** Task packs finished (stored or dead-lettered) when the phase started / ended. */
  readonly packsDone: readonly [number, number];
  readonly cpuPct: number;
  readonly loadAvg: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
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
      rounds: { type: 'string', default: '3' },
      retrains: { type: 'string', default: '20' },
      'retrain-session': { type: 'string', default: '30' },
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
  const rounds = Math.round(num('rounds', values.rounds, 1));
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
  const jsonFiles = async (dir: string): Promise<number> => (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).length;
  const retrainsDone = (): Promise<number> => jsonFiles(resultsDir);
  /** Retrain jobs of the given patients that have finished (their result records name the patient). */
  const retrainsDoneOf = async (patientPrefix: string): Promise<number> => {
    let n = 0;
    for (const f of await readdir(resultsDir).catch(() => [] as string[])) {
      if (!f.endsWith('.json')) continue;
      const r = JSON.parse(await readFile(join(resultsDir, f), 'utf8').catch(() => '{}')) as { patientId?: string };
      if (r.patientId?.startsWith(patientPrefix)) n++;
    }
    return n;
  };
  const packsDone = async (): Promise<number> =>
    (await jsonFiles(join(dataDir, 'artifacts', 'taskpacks', CLINIC))) + (await jsonFiles(join(dataDir, 'artifacts', 'taskpacks-dead', CLINIC)));
  const token = mintToken({ clinic: CLINIC, role: 'admin', ttlSeconds: 3600 }, hmacKeyConfig(secret), Date.now());
  const url = `ws://127.0.0.1:${server.port}`;
  const ws = WebSocket as unknown as WebSocketConstructor;
  const phases: Phase[] = [];
  /** Per round: seconds from the retrain sessions' start until every job had finished. */
  const jobSeconds: number[] = [];
  /** Per round: retrain jobs not yet finished when the with-retrains phase ended. */
  const pendingAtEnd: number[] = [];
  try {
    const live = async (name: string, phaseS = durationS): Promise<Phase> => {
      const before = await retrainsDone();
      const packsBefore = await packsDone();
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
      const p: Phase = {
        name,
        report,
        retrainsDone: [before, await retrainsDone()],
        packsDone: [packsBefore, await packsDone()],
        cpuPct: usage.cpuPct,
        loadAvg: loadAvg1(),
      };
      const l = report.latency_ms;
      log(
        `${name.padEnd(16)} p50 ${l.p50} p95 ${l.p95} p99 ${l.p99} max ${l.max} ms  frames ${report.frames_sent} missing ${report.missing_feedback} shed ${report.shed}  retrains done ${p.retrainsDone[0]}→${p.retrainsDone[1]} packs ${p.packsDone[0]}→${p.packsDone[1]}  server cpu ${usage.cpuPct}%  load ${p.loadAvg}`,
      );
      return p;
    };

    // Every session that ends queues a retrain job and then a task pack job (one record each): wait
    // for both to finish.
    let ended = 0;
    const drained = async (what: string): Promise<boolean> => {
      const deadline = performance.now() + DRAIN_TIMEOUT_MS;
      const done = async (): Promise<[number, number]> => [await retrainsDone(), await packsDone()];
      let d = await done();
      while ((d[0] < ended || d[1] < ended) && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        d = await done();
      }
      if (d[0] < ended || d[1] < ended) log(`${what}: ${d[0]}/${ended} retrain jobs and ${d[1]}/${ended} task packs done after ${DRAIN_TIMEOUT_MS / 1000} s`);
      return d[0] >= ended && d[1] >= ended;
    };
    if (settleS > 0) {
      await live('settle', settleS); // not in the results
      ended += sessions;
      if (!(await drained('after settling'))) throw new Error("the settle phase's jobs did not finish");
    }
    for (let round = 1; round <= rounds; round++) {
      phases.push(await live(`baseline-${round}`));
      ended += sessions;
      if (!(await drained(`after baseline ${round}`))) throw new Error(`the jobs of baseline ${round} did not finish`);
      // R sessions of R patients end together: R retrains queue behind each other on the retrain process.
      const queued = performance.now();
      const ending = await runScenario({
        url,
        token,
        sessions: retrains,
        durationS: retrainSessionS,
        rampS: 0,
        fps: 60,
        recording,
        patients: Array.from({ length: retrains }, (_, i) => `retrain-${round}-${i}`),
        WebSocket: ws,
      });
      if (ending.failed_sessions > 0) throw new Error(`retrain sessions failed: ${ending.failures.join('; ')}`);
      ended += retrains;
      const w = await live(`with-retrains-${round}`);
      phases.push(w);
      // Counted by patient: the phase's own live sessions end staggered, and an early one's retrain may
      // be done by now too.
      pendingAtEnd.push(retrains - (await retrainsDoneOf(`retrain-${round}-`)));
      ended += sessions;
      if (!(await drained(`after the retrains of round ${round}`))) throw new Error(`the jobs of round ${round} did not finish`);
      const seconds = Math.round((performance.now() - queued) / 100) / 10;
      jobSeconds.push(seconds);
      log(
        `jobs             round ${round}: the retrain and task pack of all ${ended} ended sessions done ${seconds} s after the ${retrains} retrain sessions started`,
      );
    }
    phases.push(await live(`baseline-${rounds + 1}`));
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }

  const p99s = (prefix: string): number[] => phases.filter((p) => p.name.startsWith(prefix)).map((p) => p.report.latency_ms.p99);
  const round2 = (x: number): number => Math.round(x * 100) / 100;
  const baselines = p99s('baseline-');
  const withRetrains = p99s('with-retrains-');
  const ratio = round2(median(withRetrains) / median(baselines));
  // Each with-retrains phase against the mean of the two baselines around it.
  const roundRatios = withRetrains.map((w, i) => round2(w / (((baselines[i] ?? NaN) + (baselines[i + 1] ?? NaN)) / 2)));
  // The retrain jobs were still training when each live phase ended: they ran throughout it.
  const overlapped = pendingAtEnd.length === rounds && pendingAtEnd.every((n) => n > 0);
  const summary = {
    bench: 'retrain-isolation',
    machine: { cpus: cpus().length, loadAvg1: loadAvg1() },
    rounds,
    sessions,
    durationS,
    retrains,
    retrainSessionS,
    settleS,
    retrainsRunningThroughout: overlapped,
    retrainJobsPendingAtEnd: pendingAtEnd,
    jobSecondsPerRound: jobSeconds,
    p99Ms: { baselines, withRetrains, medianBaseline: median(baselines), medianWithRetrains: median(withRetrains) },
    ratio,
    roundRatios,
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
      packsDone: p.packsDone,
      serverCpuPct: p.cpuPct,
      loadAvg1: p.loadAvg,
    })),
  };
  if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    process.stdout.write(
      [
        `retrain isolation: ${rounds} rounds of ${sessions} live sessions × ${durationS} s, ${retrains} retrains queued per round (${cpus().length} cores, load ${summary.machine.loadAvg1})`,
        `  p99 baselines       ${baselines.join(', ')} ms  (median ${summary.p99Ms.medianBaseline})`,
        `  p99 with retrains   ${withRetrains.join(', ')} ms  (median ${summary.p99Ms.medianWithRetrains}; retrain jobs still queued or training at each phase's end: ${pendingAtEnd.join(', ')})`,
        `  ratio of medians ${ratio} (per round, against the baselines around it: ${roundRatios.join(', ')}); goal ≤ ${GOAL}: ${summary.pass ? 'PASS' : 'FAIL'}`,
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
