// bench:server's per-thread accounting, end to end: the real CLI runs one short fixed-load step against
// the real jepa-motion bench server (search skipped) and its --json output must charge the server's CPU
// to every thread role. Inline inference is off (BENCH_INLINE_MAX_ROWS=0) so every batch runs on the
// inference worker, whose thread must then be recognised. Breaks when a role stops being recognised
// (its CPU falls into "other" or is lost), when the roles stop adding up to the whole process, or when
// the run-queue wait per role and of the generator goes missing.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { THREAD_CLASSES } from '../../loadtest/server-process.js';
import { hasMotionData } from '../helpers/motion-data.js';

const run = promisify(execFile);
const SESSIONS = 3;
const DURATION_S = 3;

interface FixedLoad {
  sessions: number;
  answered: number;
  shed: number;
  usPerFrame: Record<string, number>;
  waitPct: Record<string, number>;
  otherThreads: number;
  rssPeakMb: number;
  generatorCpuPct: number;
}

describe.skipIf(!hasMotionData || process.platform !== 'linux')('bench:server --fixed: server CPU per answered frame by thread role', () => {
  it('charges main, inference worker, V8 background and libuv fs threads, adding up to the whole process', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'loadtest/bench-server.ts',
        '--only',
        'jepa-motion',
        '--max',
        '0',
        '--fixed',
        String(SESSIONS),
        '--duration',
        String(DURATION_S),
        '--ramp',
        '0.5',
        '--warmup',
        '0',
        '--json',
      ],
      { env: { ...process.env, BENCH_INLINE_MAX_ROWS: '0' }, timeout: 60_000 },
    );
    const summary = JSON.parse(stdout) as { results: Record<string, { maxSessions: number; fixed: FixedLoad[] }> };
    const fixed = summary.results['jepa-motion']?.fixed ?? [];
    expect(fixed).toHaveLength(1);
    const f = fixed[0]!;
    expect(f).toMatchObject({ sessions: SESSIONS, answered: SESSIONS * DURATION_S * 60, shed: 0 });
    expect(Object.keys(f.usPerFrame).sort()).toEqual(['total', ...THREAD_CLASSES].sort());
    for (const v of Object.values(f.usPerFrame)) expect(v).toBeGreaterThanOrEqual(0);
    // Every role did work: frames on main, batches on the worker, GC/JIT helpers, recording writes on the pool.
    expect(f.usPerFrame.main).toBeGreaterThan(0);
    expect(f.usPerFrame.inference).toBeGreaterThan(0);
    expect(f.usPerFrame.background).toBeGreaterThan(0);
    expect(f.usPerFrame.fs).toBeGreaterThan(0);
    // Threads without a role (tsx's module-loader threads) are idle under load; a busy role that went
    // unrecognised would show up here.
    expect(f.usPerFrame.other!).toBeLessThan(0.02 * f.usPerFrame.total!);
    // The roles (schedstat, ns) add up to the whole process (stat, 10 ms ticks: ± 1 tick at each end),
    // plus 0.1 µs rounding per class.
    const sum = THREAD_CLASSES.reduce((a, c) => a + f.usPerFrame[c]!, 0);
    expect(Math.abs(sum - f.usPerFrame.total!)).toBeLessThanOrEqual((0.02 * 1e6) / f.answered + 0.1 * THREAD_CLASSES.length);
    // Run-queue wait (schedstat) per role and for the generator: present, a share of the wall time; one
    // thread (main) cannot wait longer than the wall.
    expect(Object.keys(f.waitPct).sort()).toEqual([...THREAD_CLASSES, 'generator'].sort());
    for (const v of Object.values(f.waitPct)) expect(v).toBeGreaterThanOrEqual(0);
    expect(f.waitPct.main).toBeLessThanOrEqual(100);
    expect(f.rssPeakMb).toBeGreaterThan(0);
    expect(f.generatorCpuPct).toBeGreaterThan(0);
  }, 90_000);
});
