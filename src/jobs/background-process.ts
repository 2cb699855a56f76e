// Background work (training, task-pack builds) runs in child processes at the lowest CPU priority, so
// on a busy box the threads answering frames win every contended time slice. A worker thread is not
// enough: it can lower only its own priority, while V8's garbage-collection and compiler helper
// threads are shared by every thread of a process and stay at normal priority. Measured on `serve`
// with ten retrains queued: those helpers spent more CPU (≈16 s) than the niced training thread itself
// (≈11 s), all of it competing with live feedback. In a child process every thread is lowered
// (./background-child.mjs) before anything loads.
//
// The handle mirrors the parts of worker_threads' Worker its callers use (postMessage, message / exit
// events, terminate); messages use V8 serialization, as between threads (Maps, typed arrays, Errors'
// fields as plain objects).
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';

const CHILD = new URL('./background-child.mjs', import.meta.url);
/** How long a terminated process gets to exit on SIGTERM before SIGKILL. */
const TERMINATE_GRACE_MS = 2_000;

export interface BackgroundProcess {
  readonly pid: number;
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: never) => void): this;
  /** `code` is null when a signal ended it (`signal` names it). */
  on(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  /** Ends the process (SIGTERM, then SIGKILL after a grace period); resolves once it has exited. */
  terminate(): Promise<void>;
}

/** Starts `entry` (a module using ./host-port.ts) in a background process with `data`. */
export function startBackgroundProcess(entry: URL, data: unknown): BackgroundProcess {
  const child: ChildProcess = fork(CHILD, [], {
    serialization: 'advanced',
    // The child gets none of the parent's --inspect / --cpu-prof flags; tsx is registered inside it.
    execArgv: [],
    // Logs travel as messages; stderr stays visible for a crash before the entry loaded.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const events = new EventEmitter();
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      resolve();
      events.emit('exit', code, signal);
    });
  });
  child.on('message', (m) => events.emit('message', m));
  // A failed send (the process already gone) surfaces as its 'exit'; nothing else to do with it.
  child.on('error', () => undefined);
  const send = (m: unknown): void => {
    if (!exited && child.connected) child.send(m as never, (error) => void error);
  };
  send({ entry: entry.href, data });
  const handle: BackgroundProcess = {
    pid: child.pid ?? -1,
    postMessage: send,
    on(event: string, listener: (...args: never[]) => void) {
      events.on(event, listener as (...args: unknown[]) => void);
      return handle;
    },
    async terminate() {
      if (exited) return;
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), TERMINATE_GRACE_MS);
      await exit;
      clearTimeout(kill);
    },
  };
  return handle;
}
