// Background processes (src/jobs/background-process.ts): start with data, talk both ways with V8
// serialization, run every thread at the lowest priority, and end — on request, on a crash, and when
// the parent goes away (no orphan keeps training after its server died).
import { spawn, spawnSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { startBackgroundProcess, type BackgroundProcess } from '../../../src/jobs/background-process.js';
import { alive } from '../../helpers/processes.js';

const ENTRY = new URL('./background-echo.entry.ts', import.meta.url);

type FromEcho =
  | { type: 'started'; pid: number; greeting: string; blob: Float32Array; map: Map<string, number>; lowered: number; idle: boolean }
  | { type: 'echo'; value: unknown };

function next(p: BackgroundProcess, type: string): Promise<FromEcho> {
  return new Promise((resolve) => {
    const on = (m: FromEcho): void => {
      if (m.type === type) resolve(m);
    };
    p.on('message', on as (m: never) => void);
  });
}

const exited = (p: BackgroundProcess): Promise<[number | null, string | null]> =>
  new Promise((resolve) => p.on('exit', (code, signal) => resolve([code, signal])));

/** [nice, scheduling policy] of every thread of `pid`. */
async function threadPriorities(pid: number): Promise<[number, number][]> {
  const out: [number, number][] = [];
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const fields = (await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    out.push([Number(fields[16]), Number(fields[38])]);
  }
  return out;
}

describe('background process', () => {
  it('starts with its data, answers messages, and runs every thread at background priority', async () => {
    const p = startBackgroundProcess(ENTRY, { greeting: 'hi', blob: new Float32Array([1.5, 2.5]), map: new Map([['a', 1]]) });
    try {
      const started = (await next(p, 'started')) as Extract<FromEcho, { type: 'started' }>;
      expect(started.pid).toBe(p.pid);
      expect(started.pid).not.toBe(process.pid);
      // V8 serialization both ways: typed arrays and Maps arrive as themselves.
      expect(started.greeting).toBe('hi');
      expect(started.blob).toEqual(new Float32Array([1.5, 2.5]));
      expect(started.map).toEqual(new Map([['a', 1]]));
      const echo = next(p, 'echo');
      p.postMessage({ type: 'echo', value: { n: 42, list: [1, 2] } });
      expect(await echo).toEqual({ type: 'echo', value: { n: 42, list: [1, 2] } });
      // Every thread — V8's helpers included — at nice 19, and SCHED_IDLE (5) where chrt exists.
      const idle = spawnSync('chrt', ['--version']).status === 0;
      expect(started.idle).toBe(idle);
      const prios = await threadPriorities(p.pid);
      expect(prios.length).toBeGreaterThan(4);
      expect(started.lowered).toBeGreaterThan(4);
      for (const [nice, policy] of prios) {
        expect(nice).toBe(19);
        expect(policy).toBe(idle ? 5 : 0);
      }
      // This process keeps its own priority.
      expect((await threadPriorities(process.pid)).every(([nice]) => nice !== 19)).toBe(true);
    } finally {
      await p.terminate();
    }
    expect(alive(p.pid)).toBe(false);
  }, 30_000);

  it('reports its exit code, a crash, and a terminate', async () => {
    const a = startBackgroundProcess(ENTRY, { greeting: 'a', blob: new Float32Array(0), map: new Map() });
    await next(a, 'started');
    const aExit = exited(a);
    a.postMessage({ type: 'exit', code: 3 });
    expect(await aExit).toEqual([3, null]);

    const b = startBackgroundProcess(ENTRY, { greeting: 'b', blob: new Float32Array(0), map: new Map() });
    await next(b, 'started');
    const bExit = exited(b);
    b.postMessage({ type: 'throw' });
    expect((await bExit)[0]).toBe(1);

    const c = startBackgroundProcess(ENTRY, { greeting: 'c', blob: new Float32Array(0), map: new Map() });
    await next(c, 'started');
    const cExit = exited(c);
    await c.terminate();
    expect(await cExit).toEqual([null, 'SIGTERM']);
    // Messages to an ended process are dropped, not thrown.
    expect(() => c.postMessage({ type: 'echo', value: 1 })).not.toThrow();
  }, 30_000);

  it('ends when its parent is killed: no orphan is left running', async () => {
    // A parent process that starts a background process, prints its pid, then waits to be killed.
    const script = `
      const { startBackgroundProcess } = await import(${JSON.stringify(new URL('../../../src/jobs/background-process.ts', import.meta.url).href)});
      const p = startBackgroundProcess(new URL(${JSON.stringify(ENTRY.href)}), { greeting: 'x', blob: new Float32Array(0), map: new Map() });
      p.on('message', (m) => { if (m.type === 'started') console.log(String(m.pid)); });
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const childPid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      parent.once('exit', (code) => reject(new Error(`parent exited (${code}) before its child started`)));
    });
    expect(alive(childPid)).toBe(true);
    parent.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (alive(childPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(childPid)).toBe(false);
  }, 30_000);
});
