// Runs a benchmarked server as a child process (so its CPU and memory are its own), reads its port
// from the first stdout line, and samples /proc/<pid> for CPU time (utime+stime, all threads incl.
// inference workers) and resident memory while a scenario runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** Kept stderr of a server, for the error message when it dies (bounded). */
const MAX_STDERR = 4096;
const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface ServerProcess {
  readonly pid: number;
  readonly port: number;
  readonly info: Readonly<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startServerProcess(
  file: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  timeoutMs = 60_000,
): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-MAX_STDERR);
  });
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
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface ProcessUsage {
  /** CPU time over the window / wall time, in percent of one core (200 % = both cores). */
  readonly cpuPct: number;
  /** CPU seconds over the window (all threads). */
  readonly cpuS: number;
  readonly rssPeakMb: number;
  readonly rssMeanMb: number;
}

function cpuTicks(pid: number): number {
  // Fields after the command name (which may contain spaces) start at ") ".
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime, stime (fields 14, 15)
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Samples a process every `everyMs` until stopped. */
export function sampleUsage(pid: number, everyMs = 250): { stop(): ProcessUsage } {
  const t0 = performance.now();
  const c0 = cpuTicks(pid);
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
      try {
        ticks = cpuTicks(pid) - c0;
      } catch {
        ticks = NaN;
      }
      const wallS = (performance.now() - t0) / 1000;
      const r1 = (v: number) => Math.round(v * 10) / 10;
      return { cpuPct: r1((ticks / CLOCK_TICKS / wallS) * 100), cpuS: ticks / CLOCK_TICKS, rssPeakMb: r1(peak), rssMeanMb: r1(n ? sum / n : NaN) };
    },
  };
}
