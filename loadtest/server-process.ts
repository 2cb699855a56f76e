// Runs a benchmarked server as a child process (so its CPU and memory are its own), reads its port
// from the first stdout line, and samples /proc/<pid> for CPU time (utime+stime, all threads incl.
// inference workers) and resident memory while a scenario runs, and the CPU of each thread charged to
// its role (see ./servers/thread-roles.cjs, preloaded into every server started here).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Kept stderr of a server, for the error message when it dies (bounded). */
const MAX_STDERR = 4096;
const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface ServerProcess {
  readonly pid: number;
  readonly port: number;
  readonly info: Readonly<Record<string, unknown>>;
  /** Where the server's threads recorded their roles (pass to `sampleUsage`). */
  readonly rolesDir: string;
  stop(): Promise<void>;
}

/** Node flags that make a server (and its worker threads) record thread roles into `rolesDir`. */
export const THREAD_ROLES_PRELOAD = ['--require', new URL('./servers/thread-roles.cjs', import.meta.url).pathname] as const;
export const THREAD_ROLES_ENV = 'BENCH_THREAD_ROLES';

export async function startServerProcess(
  file: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  timeoutMs = 60_000,
): Promise<ServerProcess> {
  const rolesDir = mkdtempSync(join(tmpdir(), 'bench-threads-'));
  const child: ChildProcess = spawn(process.execPath, [...THREAD_ROLES_PRELOAD, '--import', 'tsx', file, ...args], {
    env: { ...process.env, ...env, [THREAD_ROLES_ENV]: rolesDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-MAX_STDERR);
  });
  child.once('exit', () => rmSync(rolesDir, { recursive: true, force: true }));
  const first = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not report its port within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited with ${code} before listening: ${stderr}`));
    });
  });
  const info = JSON.parse(first) as Record<string, unknown>;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    pid: child.pid ?? -1,
    port: Number(info.port),
    info,
    rolesDir,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Thread roles CPU is charged to. "other": threads no role file names (see `otherThreads`). */
export const THREAD_CLASSES = ['main', 'inference', 'background', 'fs', 'other'] as const;
export type ThreadClass = (typeof THREAD_CLASSES)[number];
/** CPU in the window from which a thread without a role is reported (idle wake-ups are not). */
const OTHER_THREAD_MIN_S = 0.001;
const ROLE_CLASS: Readonly<Record<string, ThreadClass>> = { main: 'main', inference: 'inference', background: 'background', fs: 'fs' };

export interface ProcessUsage {
  /** CPU time over the window / wall time, in percent of one core (200 % = both cores). */
  readonly cpuPct: number;
  /** CPU seconds over the window (all threads, /proc/<pid>/stat: includes threads that exited). */
  readonly cpuS: number;
  readonly rssPeakMb: number;
  readonly rssMeanMb: number;
  /**
   * CPU seconds over the window by thread role (per-thread /proc schedstat, ns): main = the pid's own
   * thread (JS, its GC pauses, uWS/ws I/O); inference = inference worker threads; background = V8
   * platform workers (concurrent/parallel GC, concurrent JIT); fs = libuv's thread pool (file writes,
   * fsync); other = any thread without a role. Empty without a roles directory.
   */
  readonly threadCpuS: Readonly<Partial<Record<ThreadClass, number>>>;
  /**
   * Per thread role, the time its threads were runnable but waiting for a core (schedstat's run-queue
   * wait), in percent of the window's wall time: how long the server was held up by too few cores
   * rather than by its own work. Empty without a roles directory.
   */
  readonly threadWaitPct: Readonly<Partial<Record<ThreadClass, number>>>;
  /** Threads counted as "other" that used ≥ 1 ms of CPU in the window (0 when every busy thread has a role). */
  readonly otherThreads: number;
}

function cpuTicks(pid: number): number {
  // Fields after the command name (which may contain spaces) start at ") ".
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime, stime (fields 14, 15)
}

/** Nanoseconds a thread spent on a core and runnable but waiting for one (its schedstat). */
interface ThreadSched {
  readonly runNs: number;
  readonly waitNs: number;
}

/** Each live thread's schedstat (exact, where stat's ticks are 10 ms). */
function threadSched(pid: number): Map<number, ThreadSched> {
  const out = new Map<number, ThreadSched>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ');
      out.set(Number(tid), { runNs: Number(run), waitNs: Number(wait) });
    } catch {
      /* thread exited between the listing and the read */
    }
  }
  return out;
}

/**
 * Run-queue wait of a whole process (all its live threads), for the load generator's own share:
 * `const w = runQueueWait(process.pid); …; w.stop()` gives the percent of the wall time between the two
 * calls its threads spent runnable without a core (summed over threads, so it can exceed 100).
 */
export function runQueueWait(pid: number): { stop(): number } {
  const total = () => [...threadSched(pid).values()].reduce((a, t) => a + t.waitNs, 0);
  const t0 = performance.now();
  const w0 = total();
  return { stop: () => Math.round(((total() - w0) / 1e6 / (performance.now() - t0)) * 1000) / 10 };
}

/** tid → class from the role files the server's threads wrote (./servers/thread-roles.cjs). */
export function readThreadRoles(rolesDir: string): Map<number, ThreadClass> {
  const roles = new Map<number, ThreadClass>();
  for (const f of readdirSync(rolesDir)) {
    const entry = JSON.parse(readFileSync(join(rolesDir, f), 'utf8')) as Record<string, number[]>;
    for (const [role, tids] of Object.entries(entry)) for (const tid of tids) roles.set(tid, ROLE_CLASS[role] ?? 'other');
  }
  return roles;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Samples a process every `everyMs` until stopped. With `rolesDir`, also each thread's CPU over the
 * window, by role: a thread started during the window counts in full, one that exited during it is lost
 * from the classes (but not from `cpuS`).
 */
export function sampleUsage(pid: number, everyMs = 250, rolesDir?: string): { stop(): ProcessUsage } {
  const t0 = performance.now();
  const c0 = cpuTicks(pid);
  const threads0 = rolesDir ? threadSched(pid) : new Map<number, ThreadSched>();
  let peak = 0;
  let sum = 0;
  let n = 0;
  const sample = () => {
    try {
      const r = rssMb(pid);
      peak = Math.max(peak, r);
      sum += r;
      n++;
    } catch {
      /* process gone: the run reports what it saw */
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      let ticks = 0;
      const threadCpuS: Partial<Record<ThreadClass, number>> = {};
      const threadWaitS: Partial<Record<ThreadClass, number>> = {};
      let otherThreads = 0;
      try {
        const threads1 = rolesDir ? threadSched(pid) : new Map<number, ThreadSched>();
        ticks = cpuTicks(pid) - c0;
        if (rolesDir) {
          const roles = readThreadRoles(rolesDir);
          for (const c of THREAD_CLASSES) threadCpuS[c] = threadWaitS[c] = 0;
          for (const [tid, t] of threads1) {
            const before = threads0.get(tid);
            const s = (t.runNs - (before?.runNs ?? 0)) / 1e9;
            const c = roles.get(tid) ?? 'other';
            threadCpuS[c] = (threadCpuS[c] ?? 0) + s;
            threadWaitS[c] = (threadWaitS[c] ?? 0) + (t.waitNs - (before?.waitNs ?? 0)) / 1e9;
            if (c === 'other' && s >= OTHER_THREAD_MIN_S) otherThreads++;
          }
        }
      } catch {
        ticks = NaN;
      }
      const wallS = (performance.now() - t0) / 1000;
      const r1 = (v: number) => Math.round(v * 10) / 10;
      const r3 = (v: number) => Math.round(v * 1000) / 1000;
      return {
        cpuPct: r1((ticks / CLOCK_TICKS / wallS) * 100),
        cpuS: ticks / CLOCK_TICKS,
        rssPeakMb: r1(peak),
        rssMeanMb: r1(n ? sum / n : NaN),
        threadCpuS: Object.fromEntries(Object.entries(threadCpuS).map(([k, v]) => [k, r3(v)])),
        threadWaitPct: Object.fromEntries(Object.entries(threadWaitS).map(([k, v]) => [k, r1((v / wallS) * 100)])),
        otherThreads,
      };
    },
  };
}
