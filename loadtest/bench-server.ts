// bench:server — the largest number of concurrent 60 Hz iPad sessions a server answers completely
// (every frame gets feedback and an ack, none shed) with p99 feedback latency < 50 ms, for the real
// jepa-motion server and for the baseline built the obvious way (loadtest/baseline/server.ts: `ws`,
// one inference call per frame), in the same run, reported with CPU and memory of each server process.
// Then, for both servers, fixed loads (--fixed, default 20 and 100 sessions): server CPU µs per answered
// frame by thread role (main, inference workers, V8 background GC/JIT, libuv fs pool, other; see
// server-process.ts), answered/shed counts, p50/p99, RSS and this load generator's own CPU share, and
// per role and for the generator the time runnable but waiting for a core (schedstat's run-queue wait).
//   npx tsx loadtest/bench-server.ts [--duration 10] [--ramp 2] [--warmup 2] [--start 2] [--max 256] [--p99 50]
//     [--fixed 20,100] [--warm 10] [--only jepa-motion|baseline] [--json]
// `--max 0` skips the search, `--fixed ''` the fixed loads. Every step (search and fixed loads, both
// servers) first runs --warm seconds of the same load against the same server, unmeasured, so what is
// measured is the warmed-up server: a fresh process compiles its hot functions in its first seconds under
// load, a cost a clinic's server pays once per start. `--warm 0` measures fresh servers.
// Latency percentiles leave out each session's first --warmup seconds (model load, JIT); every frame
// still has to be answered.
//   npx tsx loadtest/bench-server.ts --compare-decoding [--loads 20,40] [--repeats 2] [--duration 10] [--json]
// instead runs the jepa-motion server at fixed loads with the live predicted poses decoded (LIVE_POSES=1,
// the default) and without (LIVE_POSES=0), alternating which goes first per repeat, and reports server
// CPU µs per answered frame (all threads, /proc utime+stime over the scenario) for both and the difference.
// Each step runs against a freshly started server process. The load generator runs in this process on
// the same machine, so on a small box it competes with the server for CPU: read numbers as a ratio.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
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
import { runQueueWait, sampleUsage, startServerProcess, THREAD_CLASSES, type ProcessUsage, type ThreadClass } from './server-process.js';
import { writeCheckpointSet } from './servers/checkpoints.js';

const SERVERS = {
  'jepa-motion': new URL('./servers/jepa-server.ts', import.meta.url).pathname,
  baseline: new URL('./baseline/server.ts', import.meta.url).pathname,
} as const;
type ServerKind = keyof typeof SERVERS;
const PATIENTS = Array.from({ length: 8 }, (_, i) => `bench-p${i}`);

interface Step {
  readonly sessions: number;
  readonly pass: boolean;
  readonly report: SimulationReport;
  readonly usage: ProcessUsage;
  /** 1-minute load average of the machine at the end of the step (other work shares the cores). */
  readonly loadAvg: number;
  /** This process's (the load generator's) CPU over the step, % of one core. */
  readonly generatorCpuPct: number;
  /** The generator's threads runnable but waiting for a core over the step, % of the wall time. */
  readonly generatorWaitPct: number;
}

interface BenchOptions {
  readonly durationS: number;
  readonly rampS: number;
  readonly start: number;
  readonly max: number;
  readonly p99Ms: number;
  readonly warmupS: number;
  /**
   * Fixed loads only: seconds of the same load against the same server before the measured run, so
   * the CPU per frame is the steady state's. A fresh process compiles its hot functions (V8's
   * concurrent JIT) during its first seconds under load; in a 10-s run that was ≈ 100 µs per frame
   * charged to the V8 background threads, a one-time cost a clinic's server pays once per start.
   */
  readonly warmS: number;
  readonly recording: Recording;
  readonly ckDir: string;
  readonly secret: string;
  readonly log: (line: string) => void;
}

async function step(kind: ServerKind, sessions: number, o: BenchOptions, env: Readonly<Record<string, string>> = {}, warmS = 0): Promise<Step> {
  const dataDir = await mkdtemp(join(tmpdir(), `bench-${kind}-`));
  const server = await startServerProcess(SERVERS[kind], [o.ckDir, dataDir], { JEPA_JWT_SECRET: o.secret, LOG_LEVEL: 'silent', ...env });
  try {
    const token = mintToken({ clinic: 'bench', role: 'admin', ttlSeconds: 3600 }, hmacKeyConfig(o.secret), Date.now());
    const scenario = (durationS: number, warmupS: number) =>
      runScenario({
        url: `ws://127.0.0.1:${server.port}`,
        token,
        sessions,
        durationS,
        rampS: o.rampS,
        fps: 60,
        recording: o.recording,
        patients: PATIENTS,
        WebSocket: WebSocket as WebSocketConstructor,
        warmupS,
      });
    if (warmS > 0) await scenario(warmS, 0); // its sessions end before the measured ones start
    const sampler = sampleUsage(server.pid, 250, server.rolesDir);
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    const generatorWait = runQueueWait(process.pid);
    const report = await scenario(o.durationS, o.warmupS);
    const usage = sampler.stop();
    const generatorWaitPct = generatorWait.stop();
    const cu = process.cpuUsage(c0);
    const generatorCpuPct = r1(((cu.user + cu.system) / 1000 / (performance.now() - w0)) * 100);
    const loadAvg = Math.round((loadavg()[0] ?? NaN) * 100) / 100;
    const pass =
      report.frames_sent > 0 &&
      report.missing_feedback === 0 &&
      report.missing_ack === 0 &&
      report.shed === 0 &&
      report.failed_sessions === 0 &&
      report.latency_ms.p99 < o.p99Ms;
    const l = report.latency_ms;
    const label = Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    o.log(
      `${kind.padEnd(11)}${label ? ` ${label}` : ''} N=${String(sessions).padStart(4)} ${pass ? 'PASS' : 'FAIL'}  p50 ${l.p50} p95 ${l.p95} p99 ${l.p99} max ${l.max} ms  missing ${report.missing_feedback}/${report.frames_sent}  shed ${report.shed}  cpu ${usage.cpuPct}%  rss ${usage.rssPeakMb} MB  generator ${generatorCpuPct}%  waiting for a core: main ${usage.threadWaitPct.main ?? '-'}% inference ${usage.threadWaitPct.inference ?? '-'}% generator ${generatorWaitPct}%  load ${loadAvg}`,
    );
    return { sessions, pass, report, usage, loadAvg, generatorCpuPct, generatorWaitPct };
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

interface Search {
  readonly kind: ServerKind;
  best: Step | undefined;
  /** Smallest failing N seen. */
  fail: number | undefined;
  readonly steps: Step[];
}

const gapOpen = (s: Search): boolean => s.fail !== undefined && s.fail - (s.best?.sessions ?? 0) > Math.max(1, Math.floor((s.best?.sessions ?? 0) * 0.1));

/**
 * Doubling until the first failure, then bisection between the last pass and the first failure —
 * for all servers in lockstep (each N is run for every server back to back), so both see the same
 * machine load while other work comes and goes.
 */
async function largestPassing(kinds: readonly ServerKind[], o: BenchOptions): Promise<Search[]> {
  const searches: Search[] = kinds.map((kind) => ({ kind, best: undefined, fail: undefined, steps: [] }));
  const run = async (s: Search, n: number) => {
    const r = await step(s.kind, n, o, {}, o.warmS);
    s.steps.push(r);
    if (r.pass) {
      if (!s.best || n > s.best.sessions) s.best = r;
    } else if (s.fail === undefined || n < s.fail) s.fail = n;
  };
  for (let n = o.start; n <= o.max && searches.some((s) => s.fail === undefined); n *= 2) {
    for (const s of searches) if (s.fail === undefined) await run(s, n);
  }
  while (searches.some(gapOpen)) {
    for (const s of searches.filter(gapOpen)) {
      const mid = Math.floor(((s.best?.sessions ?? 0) + (s.fail ?? 0)) / 2);
      if (mid <= 0) s.fail = 0;
      else await run(s, mid);
    }
  }
  return searches;
}

/** One server at one fixed load: where its CPU goes per answered frame. */
interface FixedLoad {
  readonly sessions: number;
  /** Frames that got feedback and were not shed. */
  readonly answered: number;
  readonly shed: number;
  readonly missing: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /**
   * Server CPU µs per answered frame over the scenario (startup excluded): total = whole process
   * (/proc stat, 10 ms ticks), the rest by thread role (/proc schedstat); the roles add up to the total
   * up to tick rounding and threads that exited mid-run.
   */
  readonly usPerFrame: Readonly<Record<'total' | ThreadClass, number>>;
  /**
   * Per server thread role and for the load generator (all its threads): time runnable but waiting for
   * a core (/proc schedstat run-queue wait), % of the scenario's wall time. What a frame's latency gains
   * from the cores being busy rather than from its own work.
   */
  readonly waitPct: Readonly<Record<ThreadClass | 'generator', number>>;
  /** Threads with CPU in the window but no role (their CPU is in usPerFrame.other). */
  readonly otherThreads: number;
  readonly cpuPct: number;
  readonly rssPeakMb: number;
  readonly generatorCpuPct: number;
  readonly loadAvg: number;
}

function fixedLoad(st: Step): FixedLoad {
  const answered = st.report.feedback_received - st.report.shed;
  const per = (cpuS: number) => r1((cpuS * 1e6) / Math.max(1, answered));
  const usPerFrame = { total: per(st.usage.cpuS) } as Record<'total' | ThreadClass, number>;
  for (const c of THREAD_CLASSES) usPerFrame[c] = per(st.usage.threadCpuS[c] ?? NaN);
  const waitPct = { generator: st.generatorWaitPct } as Record<ThreadClass | 'generator', number>;
  for (const c of THREAD_CLASSES) waitPct[c] = st.usage.threadWaitPct[c] ?? NaN;
  return {
    sessions: st.sessions,
    answered,
    shed: st.report.shed,
    missing: st.report.missing_feedback,
    p50Ms: st.report.latency_ms.p50,
    p99Ms: st.report.latency_ms.p99,
    usPerFrame,
    waitPct,
    otherThreads: st.usage.otherThreads,
    cpuPct: st.usage.cpuPct,
    rssPeakMb: st.usage.rssPeakMb,
    generatorCpuPct: st.generatorCpuPct,
    loadAvg: st.loadAvg,
  };
}

/** Each load for every server back to back (same machine load for both), smallest load first. */
async function fixedLoads(kinds: readonly ServerKind[], loads: readonly number[], o: BenchOptions): Promise<Map<ServerKind, FixedLoad[]>> {
  const out = new Map<ServerKind, FixedLoad[]>(kinds.map((k) => [k, []]));
  for (const n of loads) for (const kind of kinds) out.get(kind)?.push(fixedLoad(await step(kind, n, o, {}, o.warmS)));
  return out;
}

interface ServerResult {
  /** Largest passing N of the search (0: none passed or no search). */
  readonly maxSessions: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly cpuPct: number | null;
  readonly rssPeakMb: number | null;
  readonly generatorCpuPct: number | null;
  readonly loadAvg: number | null;
  readonly steps: number;
  readonly fixed: readonly FixedLoad[];
}

interface BenchSummary {
  readonly cores: number;
  readonly criterion: string;
  readonly durationS: number;
  /** Unmeasured seconds of each fixed load before its measured run (same server). */
  readonly fixedWarmS: number;
  /** The same for each step of the search (the same --warm). */
  readonly searchWarmS: number;
  readonly fps: number;
  readonly results: Readonly<Record<string, ServerResult>>;
  readonly ratio: number | null | undefined;
}

function renderSummary(s: BenchSummary): string {
  const cell = (v: unknown, w: number) => String(v ?? '-').padStart(w);
  const lines = [
    `${s.criterion}; ${s.durationS} s per step at ${s.fps} Hz, ${s.cores} cores`,
    'server       max N  p50 ms  p99 ms  cpu %  rss MB  generator %  load',
  ];
  for (const [kind, r] of Object.entries(s.results)) {
    lines.push(
      `${kind.padEnd(11)}${cell(r.maxSessions, 7)}${cell(r.p50Ms, 8)}${cell(r.p99Ms, 8)}${cell(r.cpuPct, 7)}${cell(r.rssPeakMb, 8)}${cell(r.generatorCpuPct, 13)}${cell(r.loadAvg, 6)}`,
    );
  }
  if (s.ratio !== undefined) lines.push(`ratio jepa-motion / baseline: ${s.ratio ?? '-'}`);
  const cols = ['total', ...THREAD_CLASSES] as const;
  lines.push(
    '',
    `fixed loads — server CPU µs per answered frame by thread (after ${s.fixedWarmS} s of the same load, unmeasured)`,
    `server         N  answered  shed  p50 ms  p99 ms${cols.map((c) => c.padStart(11)).join('')}  rss MB  generator %  load`,
  );
  for (const [kind, r] of Object.entries(s.results)) {
    for (const f of r.fixed) {
      lines.push(
        `${kind.padEnd(11)}${cell(f.sessions, 5)}${cell(f.answered, 10)}${cell(f.shed, 6)}${cell(f.p50Ms, 8)}${cell(f.p99Ms, 8)}${cols.map((c) => cell(f.usPerFrame[c], 11)).join('')}${cell(f.rssPeakMb, 8)}${cell(f.generatorCpuPct, 13)}${cell(f.loadAvg, 6)}${f.otherThreads ? `  (${f.otherThreads} threads without a role)` : ''}`,
      );
    }
  }
  const waits = [...THREAD_CLASSES, 'generator'] as const;
  lines.push(
    '',
    'fixed loads — time runnable but waiting for a core, % of the wall time (schedstat; summed over the threads of a role)',
    `server         N${waits.map((c) => c.padStart(11)).join('')}`,
  );
  for (const [kind, r] of Object.entries(s.results)) {
    for (const f of r.fixed) lines.push(`${kind.padEnd(11)}${cell(f.sessions, 5)}${waits.map((c) => cell(f.waitPct[c], 11)).join('')}`);
  }
  return lines.join('\n');
}

function nonNegative(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n >= 0)) throw new RangeError(`${flag} ${value}: a number of seconds ≥ 0 expected`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      ramp: { type: 'string', default: '2' },
      start: { type: 'string', default: '2' },
      max: { type: 'string', default: '256' },
      p99: { type: 'string', default: '50' },
      warmup: { type: 'string', default: '2' },
      warm: { type: 'string', default: '10' },
      recording: { type: 'string', default: DEFAULT_RECORDING },
      only: { type: 'string' },
      fixed: { type: 'string', default: '20,100' },
      json: { type: 'boolean', default: false },
      'compare-decoding': { type: 'boolean', default: false },
      loads: { type: 'string', default: '20,40' },
      repeats: { type: 'string', default: '2' },
    },
  });
  const ckDir = await mkdtemp(join(tmpdir(), 'bench-ck-'));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  try {
    const recordingPath = values.recording ?? DEFAULT_RECORDING;
    await writeCheckpointSet(ckDir, recordingPath, PATIENTS);
    const o: BenchOptions = {
      durationS: Number(values.duration),
      rampS: Number(values.ramp),
      start: Number(values.start),
      max: Number(values.max),
      p99Ms: Number(values.p99),
      warmupS: Number(values.warmup),
      warmS: nonNegative('--warm', values.warm),
      recording: await readRecording(recordingPath),
      ckDir,
      secret: randomBytes(32).toString('hex'),
      log,
    };
    if (values['compare-decoding']) {
      const loads = (values.loads ?? '').split(',').map(Number);
      const repeats = Number(values.repeats);
      if (loads.some((n) => !(Number.isInteger(n) && n > 0)) || !(Number.isInteger(repeats) && repeats > 0)) {
        throw new RangeError(`--loads ${values.loads} / --repeats ${values.repeats}: positive integers expected`);
      }
      const summary = await compareDecoding(loads, repeats, o);
      process.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : `${renderComparison(summary)}\n`);
      return;
    }
    const kinds = (values.only ? [values.only] : Object.keys(SERVERS)) as ServerKind[];
    for (const kind of kinds) if (!(kind in SERVERS)) throw new RangeError(`--only ${kind}: one of ${Object.keys(SERVERS).join(', ')}`);
    const fixed = values.fixed ? values.fixed.split(',').map(Number) : [];
    if (fixed.some((n) => !(Number.isInteger(n) && n > 0))) throw new RangeError(`--fixed ${values.fixed}: comma-separated positive integers expected`);
    const searches = await largestPassing(kinds, o);
    const fixedRuns = await fixedLoads(kinds, fixed, o);
    const results: Record<string, ServerResult> = {};
    for (const { kind, best, steps } of searches) {
      results[kind] = {
        maxSessions: best?.sessions ?? 0,
        p50Ms: best?.report.latency_ms.p50 ?? null,
        p99Ms: best?.report.latency_ms.p99 ?? null,
        cpuPct: best?.usage.cpuPct ?? null,
        rssPeakMb: best?.usage.rssPeakMb ?? null,
        generatorCpuPct: best?.generatorCpuPct ?? null,
        loadAvg: best?.loadAvg ?? null,
        steps: steps.length,
        fixed: fixedRuns.get(kind) ?? [],
      };
    }
    const jm = results['jepa-motion']?.maxSessions;
    const bl = results.baseline?.maxSessions;
    const ratio = jm !== undefined && bl !== undefined ? (bl > 0 ? Math.round((jm / bl) * 100) / 100 : null) : undefined;
    const summary: BenchSummary = {
      cores: cpus().length,
      criterion: `every frame answered (feedback + ack, none shed), p99 < ${o.p99Ms} ms (after ${o.warmupS} s of each session; each step after ${o.warmS} s of the same load, unmeasured)`,
      durationS: o.durationS,
      fixedWarmS: o.warmS,
      searchWarmS: o.warmS,
      fps: 60,
      results,
      ratio,
    };
    process.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : `${renderSummary(summary)}\n`);
  } finally {
    await rm(ckDir, { recursive: true, force: true });
  }
}

/** One server configuration at one load, over the repeats. */
interface DecodingRun {
  /** Server CPU (all threads) per answered, non-shed frame, µs: median over the repeats. */
  readonly cpuUsPerFrame: number;
  readonly cpuUsPerFrameRuns: readonly number[];
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly answered: number;
  readonly shed: number;
  readonly missing: number;
  readonly rssPeakMb: number;
}

interface DecodingComparison {
  readonly cores: number;
  readonly durationS: number;
  readonly repeats: number;
  readonly what: string;
  readonly loads: readonly {
    readonly sessions: number;
    readonly decoding: DecodingRun;
    readonly noDecoding: DecodingRun;
    /** decoding − noDecoding, µs per answered frame (medians). */
    readonly deltaUsPerFrame: number;
    readonly deltaPct: number;
    /** 1-minute load averages at the end of each step of this load. */
    readonly loadAvg: readonly number[];
  }[];
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const r1 = (v: number) => Math.round(v * 10) / 10;

function decodingRun(steps: readonly Step[]): DecodingRun {
  const perFrame = steps.map((s) => (s.usage.cpuS * 1e6) / Math.max(1, s.report.feedback_received - s.report.shed));
  return {
    cpuUsPerFrame: r1(median(perFrame)),
    cpuUsPerFrameRuns: perFrame.map(r1),
    p50Ms: median(steps.map((s) => s.report.latency_ms.p50)),
    p99Ms: median(steps.map((s) => s.report.latency_ms.p99)),
    answered: steps.reduce((a, s) => a + s.report.feedback_received - s.report.shed, 0),
    shed: steps.reduce((a, s) => a + s.report.shed, 0),
    missing: steps.reduce((a, s) => a + s.report.missing_feedback, 0),
    rssPeakMb: Math.max(...steps.map((s) => s.usage.rssPeakMb)),
  };
}

/**
 * The cost of decoding the live predicted poses: the same server, load and recording with LIVE_POSES=1
 * and =0, back to back; which runs first alternates per repeat so a drifting machine load biases neither.
 */
async function compareDecoding(loads: readonly number[], repeats: number, o: BenchOptions): Promise<DecodingComparison> {
  const out: DecodingComparison['loads'][number][] = [];
  for (const sessions of loads) {
    const on: Step[] = [];
    const off: Step[] = [];
    for (let r = 0; r < repeats; r++) {
      const order = r % 2 === 0 ? ['1', '0'] : ['0', '1'];
      for (const v of order) (v === '1' ? on : off).push(await step('jepa-motion', sessions, o, { LIVE_POSES: v }));
    }
    const decoding = decodingRun(on);
    const noDecoding = decodingRun(off);
    out.push({
      sessions,
      decoding,
      noDecoding,
      deltaUsPerFrame: r1(decoding.cpuUsPerFrame - noDecoding.cpuUsPerFrame),
      deltaPct: r1(((decoding.cpuUsPerFrame - noDecoding.cpuUsPerFrame) / noDecoding.cpuUsPerFrame) * 100),
      loadAvg: [...on, ...off].map((s) => s.loadAvg),
    });
  }
  return {
    cores: cpus().length,
    durationS: o.durationS,
    repeats,
    what: `jepa-motion server, ${o.durationS} s at 60 Hz per step, server CPU (all threads) per answered frame with live predicted poses decoded (LIVE_POSES=1) vs not (LIVE_POSES=0)`,
    loads: out,
  };
}

function renderComparison(c: DecodingComparison): string {
  const lines = [c.what, 'sessions  decoding µs/frame  no decoding µs/frame  Δ µs/frame  Δ %   p99 ms (dec/no)  shed (dec/no)  load avg'];
  for (const l of c.loads) {
    lines.push(
      `${String(l.sessions).padStart(8)}  ${String(l.decoding.cpuUsPerFrame).padStart(17)}  ${String(l.noDecoding.cpuUsPerFrame).padStart(20)}  ${String(l.deltaUsPerFrame).padStart(10)}  ${String(l.deltaPct).padStart(4)}  ${`${l.decoding.p99Ms}/${l.noDecoding.p99Ms}`.padStart(15)}  ${`${l.decoding.shed}/${l.noDecoding.shed}`.padStart(13)}  ${l.loadAvg.join(' ')}`,
    );
  }
  return lines.join('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench-server: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
