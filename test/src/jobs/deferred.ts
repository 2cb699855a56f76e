// Latches for asynchronous tests: wait for an event with a deadline instead of sleeping.
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Rejects with `what` if `p` does not settle within `ms`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `n` calls of the returned `hit`. */
export function countdown(n: number): { hit: () => void; done: Promise<void>; readonly count: number } {
  const d = deferred();
  let count = 0;
  if (n <= 0) d.resolve();
  return {
    hit: () => {
      count += 1;
      if (count === n) d.resolve();
    },
    done: d.promise,
    get count() {
      return count;
    },
  };
}

/**
 * Polls `read` until `ok` holds of its value, for state another process settles without telling us
 * (a JetStream ack is sent after the worker logs its result, and applied by the server later still).
 * Rejects with `what` and the last value after `ms`.
 */
export async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what} (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
