// bench:recordings — what durable recordings cost per frame with many sessions (FSYNC=batch): every
// session's log committing on its own timer (before) against one group commit for all logs per
// interval (src/storage/commit-scheduler.ts), alternated in the same run.
//   npx tsx loadtest/bench-recordings.ts [--sessions 100] [--seconds 5] [--interval 50] [--rounds 3] [--json]
// Each session appends one ~1.3 KB frame (the wire size of an ARKit frame) at 60 Hz; reported: process
// CPU (all threads, incl. libuv's fs pool) µs per frame, fdatasyncs per second, and the append →
// durable latency p50/p99 (what delays an ack). Medians over rounds.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CommitScheduler } from '../src/storage/commit-scheduler.js';
import { RecordingLog } from '../src/storage/recording-log.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '5' },
    interval: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const sessions = Number(values.sessions);
const seconds = Number(values.seconds);
const intervalMs = Number(values.interval);
const rounds = Number(values.rounds);
const payload = randomBytes(1300);

interface Run {
  readonly usPerFrame: number;
  readonly syncsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

async function run(shared: boolean): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), 'jepa-bench-rec-'));
  const scheduler = shared ? new CommitScheduler(intervalMs) : undefined;
  const logs = await Promise.all(
    Array.from({ length: sessions }, (_, i) =>
      RecordingLog.create(join(dir, `s${i}.jmrl`), { fsync: { mode: 'batch', intervalMs }, ...(scheduler ? { scheduler } : {}) }),
    ),
  );
  const latencies: number[] = [];
  const pending: Promise<unknown>[] = [];
  const frames = Math.round(seconds * 60);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  // Sessions start spread over one frame period, like independent iPads.
  await new Promise<void>((resolve) => {
    let done = 0;
    logs.forEach((log, i) => {
      let n = 0;
      const start = () => {
        const timer = setInterval(() => {
          const sent = performance.now();
          pending.push(log.appendDecoded(payload).then(() => latencies.push(performance.now() - sent)));
          if (++n === frames) {
            clearInterval(timer);
            if (++done === sessions) resolve();
          }
        }, 1000 / 60);
      };
      setTimeout(start, (i * (1000 / 60)) / sessions);
    });
  });
  await Promise.all(pending);
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const syncs = logs.reduce((a, l) => a + l.stats.syncs, 0);
  await Promise.all(logs.map((l) => l.close()));
  await rm(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { usPerFrame: (cpu.user + cpu.system) / (sessions * frames), syncsPerS: syncs / wallS, p50Ms: q(0.5), p99Ms: q(0.99) };
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const results: Record<'per-log timers' | 'shared group commit', Run[]> = { 'per-log timers': [], 'shared group commit': [] };
for (let r = 0; r < rounds; r++) {
  results['per-log timers'].push(await run(false));
  results['shared group commit'].push(await run(true));
}
const summary = Object.fromEntries(
  Object.entries(results).map(([k, runs]) => [
    k,
    {
      usPerFrame: med(runs.map((x) => x.usPerFrame)),
      syncsPerS: med(runs.map((x) => x.syncsPerS)),
      p50Ms: med(runs.map((x) => x.p50Ms)),
      p99Ms: med(runs.map((x) => x.p99Ms)),
    },
  ]),
);
const out = { sessions, seconds, intervalMs, rounds, loadAvg1m: loadavg()[0], summary, runs: results };
if (values.json) process.stdout.write(`${JSON.stringify(out)}\n`);
else {
  process.stdout.write(
    `${sessions} sessions × 60 Hz × ${seconds} s, FSYNC=batch ${intervalMs} ms, medians of ${rounds}, load average ${loadavg()[0]?.toFixed(1)}\n`,
  );
  process.stdout.write(`${'variant'.padEnd(22)}${'CPU µs/frame'.padStart(14)}${'fsync/s'.padStart(10)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}\n`);
  for (const [k, s] of Object.entries(summary)) {
    process.stdout.write(
      `${k.padEnd(22)}${s.usPerFrame.toFixed(1).padStart(14)}${s.syncsPerS.toFixed(0).padStart(10)}${s.p50Ms.toFixed(1).padStart(9)}${s.p99Ms.toFixed(1).padStart(9)}\n`,
    );
  }
}
