// The task-pack worker's builder: one background process (./taskpack-process.ts, lowest CPU priority)
// kept across builds, so a stream of packs costs one fork, not one per pack — a fork of a large `serve`
// process blocks its event loop for 10–20 ms, long enough to show in live p99.
//
// Bounds and policy: one build at a time (the worker's bus consumer runs one job at a time; a second
// concurrent build is refused, not queued). An aborted build (job deadline, worker stopping) ends the
// process — the build may be deep in synchronous work — and the next build starts a new one. A process
// that dies mid-build fails that build (the job is redelivered). A process idle for `idleMs` exits, so
// a clinic box does not keep a tfjs runtime resident for packs that come a few times a day.
import { startBackgroundProcess, type BackgroundProcess } from '../background-process.js';
import { fromWire, type ArtifactsSpec, type WireError } from '../job-thread-protocol.js';
import type { PaceTarget } from '../pacer.js';
import type { FromPackProcess, PackBuild, StoredPack, ToPackProcess } from './taskpack-protocol.js';
import { TaskPackError, TaskPackErrorCode } from '../../taskpack/taskpack-error.js';

const ENTRY = new URL('./taskpack-process.ts', import.meta.url);
export const DEFAULT_PACK_PROCESS_IDLE_MS = 60_000;

export interface PackHooks {
  /** After each stage of the build. */
  readonly onProgress?: (stage: string) => void;
  /** Any sign of life (stages, stored files): the job's heartbeat. */
  readonly onWorking?: () => void;
}

export interface TaskPackBuilder extends PaceTarget {
  build(b: PackBuild, signal: AbortSignal, hooks?: PackHooks): Promise<StoredPack>;
  /** The current process (undefined when none runs): tests see it reused and replaced. */
  readonly pid: number | undefined;
  /** Ends the process; a running build fails. */
  close(): Promise<void>;
}

export function startTaskPackBuilder(o: { readonly artifacts: ArtifactsSpec; readonly idleMs?: number | undefined }): TaskPackBuilder {
  const idleMs = o.idleMs ?? DEFAULT_PACK_PROCESS_IDLE_MS;
  let proc: BackgroundProcess | undefined;
  /** Resolves once `proc` listens: a message sent before that would be dropped. */
  let procReady: Promise<void> = Promise.resolve();
  let idleTimer: NodeJS.Timeout | undefined;
  let current: { buildId: number; proc: BackgroundProcess; hooks: PackHooks; resolve: (s: StoredPack) => void; reject: (e: unknown) => void } | undefined;
  let nextBuild = 1;
  let closed = false;
  /** The pace builds run at; a new process gets it before its first build. */
  let duty = 1;

  const end = (p: BackgroundProcess): void => {
    if (proc === p) proc = undefined;
    void p.terminate();
  };
  const processFor = (): BackgroundProcess => {
    if (proc) return proc;
    const p = startBackgroundProcess(ENTRY, { artifacts: o.artifacts });
    let ready: () => void = () => undefined;
    procReady = new Promise<void>((r) => (ready = r));
    p.on('message', (m: FromPackProcess) => {
      if (m.type === 'ready') {
        if (duty < 1) p.postMessage({ type: 'pace', duty } satisfies ToPackProcess);
        return ready();
      }
      const c = current;
      if (!c || m.buildId !== c.buildId) return;
      if (m.type === 'progress') {
        c.hooks.onProgress?.(m.stage);
        c.hooks.onWorking?.();
      } else if (m.type === 'working') c.hooks.onWorking?.();
      else if (m.type === 'done') c.resolve(m.stored);
      else c.reject(rebuild(m.error));
    });
    p.on('exit', (code, sig) => {
      if (proc === p) proc = undefined;
      if (current?.proc === p) current.reject(new TaskPackError(TaskPackErrorCode.MODEL, `task pack process exited (${code ?? sig}) before finishing`));
    });
    proc = p;
    return p;
  };

  return {
    get pid() {
      return proc?.pid;
    },
    setDuty(d) {
      duty = d;
      const p = proc;
      if (p) void procReady.then(() => p.postMessage({ type: 'pace', duty: d } satisfies ToPackProcess));
    },
    build(b, signal, hooks = {}) {
      if (closed) return Promise.reject(new Error('task pack builder is closed'));
      if (current) return Promise.reject(new Error('a task pack is already being built (one at a time)'));
      if (signal.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('task pack build aborted'));
      clearTimeout(idleTimer);
      const p = processFor();
      const buildId = nextBuild++;
      return new Promise<StoredPack>((resolve, reject) => {
        const settle = (fn: () => void): void => {
          if (current?.buildId !== buildId) return;
          current = undefined;
          signal.removeEventListener('abort', onAbort);
          fn();
          if (!closed && proc) {
            const idle = proc;
            idleTimer = setTimeout(() => end(idle), idleMs);
            idleTimer.unref();
          }
        };
        const onAbort = (): void => {
          end(p); // it may be deep in synchronous work: a new build gets a new process
          settle(() => reject(signal.reason instanceof Error ? signal.reason : new Error('task pack build aborted')));
        };
        current = { buildId, proc: p, hooks, resolve: (s) => settle(() => resolve(s)), reject: (e) => settle(() => reject(e)) };
        signal.addEventListener('abort', onAbort, { once: true });
        void procReady.then(() => {
          if (current?.buildId === buildId) p.postMessage({ type: 'build', buildId, build: b } satisfies ToPackProcess);
        });
      });
    },
    async close() {
      closed = true;
      clearTimeout(idleTimer);
      if (proc) await proc.terminate();
    },
  };
}

/** Errors keep their class across the process boundary: JobError's `permanent`, TaskPackError's code. */
function rebuild(w: WireError): Error {
  const known = Object.values(TaskPackErrorCode) as string[];
  if (w.name === 'TaskPackError' && w.code && known.includes(w.code)) return new TaskPackError(w.code as TaskPackErrorCode, w.message);
  return fromWire(w);
}
