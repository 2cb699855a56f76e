// The parent link of a background process's entry (src/jobs/background-child.mjs loads the entry):
// the data it was started with and the IPC channel to the process that started it.
export interface HostPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: never) => void): void;
}

export interface BackgroundStart<T> {
  readonly port: HostPort;
  readonly data: T;
  /** Threads lowered to `nice` when the process started (0 where /proc is missing). */
  readonly lowered: number;
  readonly nice: number;
  /** Whether the threads also run under SCHED_IDLE (Linux, through `chrt`). */
  readonly idle: boolean;
}

const KEY = Symbol.for('jepa-motion.background');

/** The entry's start, or null when this module is not running in a background process. */
export function backgroundStart<T>(): BackgroundStart<T> | null {
  const start = (globalThis as Record<symbol, { data: T; lowered: number; nice: number; idle: boolean } | undefined>)[KEY];
  const send = process.send?.bind(process);
  if (!start || !send) return null;
  const port: HostPort = {
    postMessage: (message) => void send(message),
    on: (_event, listener) => void process.on('message', listener as (m: unknown) => void),
  };
  // Listening keeps the IPC channel referenced, so the process lives until the parent ends it.
  process.on('message', () => undefined);
  return { port, data: start.data, lowered: start.lowered, nice: start.nice, idle: start.idle };
}
