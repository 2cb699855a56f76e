// Coalescing of jobs that queue behind each other for the same key (a patient): instead of N runs one
// after another, the jobs waiting for a key when a run slot frees up run as ONE batch. Two runs of one
// key never overlap (a patient's model versions stay in order); different keys share `slots` runs at
// once, oldest waiting key first.
//
// Bounds: every held job is a bus delivery in flight, so the bus's consume concurrency (the hold limit)
// bounds what waits here; jobs beyond it stay in the bus (bounded by its own limit). A batch is cut at
// `maxBatch` jobs; the rest form the next batch of that key.
import type { JobContext } from './job-bus.js';

export interface HeldJob<E> {
  readonly event: E;
  readonly ctx: JobContext;
}

/** Per job id, the error it failed with; a job id absent from the map succeeded. */
export type BatchFailures = ReadonlyMap<string, unknown>;

export interface CoalesceOptions<E> {
  readonly keyOf: (event: E) => string;
  /** Runs one batch (all jobs share a key, oldest first). Throwing fails every job of the batch. */
  readonly run: (batch: readonly HeldJob<E>[], signal: AbortSignal) => Promise<BatchFailures>;
  /** Batches running at once (different keys). */
  readonly slots: number;
  /** Largest batch. */
  readonly maxBatch: number;
  /** Called as a batch starts (logging, metrics, tests). */
  readonly onBatch?: (key: string, size: number) => void;
}

export interface Coalescer<E> {
  /** The bus handler: resolves/rejects when the job's batch has run. */
  readonly handler: (event: E, ctx: JobContext) => Promise<void>;
  /** Jobs waiting for a slot. */
  readonly waiting: number;
  /** Batches running. */
  readonly running: number;
}

interface Entry<E> extends HeldJob<E> {
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
  readonly detach: () => void;
}

export function coalesce<E>(o: CoalesceOptions<E>): Coalescer<E> {
  if (!Number.isInteger(o.slots) || o.slots < 1) throw new RangeError(`slots must be an integer ≥ 1, got ${o.slots}`);
  if (!Number.isInteger(o.maxBatch) || o.maxBatch < 1) throw new RangeError(`maxBatch must be an integer ≥ 1, got ${o.maxBatch}`);
  // Insertion order of the Map = the order keys started waiting: oldest key first.
  const pending = new Map<string, Entry<E>[]>();
  const busy = new Set<string>();
  let waiting = 0;

  const pump = (): void => {
    for (const [key, entries] of pending) {
      if (busy.size >= o.slots) return;
      if (busy.has(key)) continue;
      const batch = entries.splice(0, o.maxBatch);
      if (entries.length === 0) pending.delete(key);
      else {
        // Still waiting: to the back of the line, behind keys that waited longer.
        pending.delete(key);
        pending.set(key, entries);
      }
      waiting -= batch.length;
      start(key, batch);
    }
  };

  // Deliveries that arrive together (one bus pump, one JetStream fetch) join the line before a batch
  // is cut, so jobs already queued for a patient run as one batch even when a slot is free.
  let scheduled = false;
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      pump();
    });
  };

  const start = (key: string, batch: Entry<E>[]): void => {
    busy.add(key);
    for (const e of batch) e.detach();
    o.onBatch?.(key, batch.length);
    // Any job's deadline (its attempt's ackWait) or stop aborts the run: its result could not be acked.
    const signal = AbortSignal.any(batch.map((e) => e.ctx.signal));
    void (async () => {
      try {
        const failures = await o.run(batch, signal);
        for (const e of batch) {
          if (failures.has(e.ctx.id)) e.reject(failures.get(e.ctx.id));
          else e.resolve();
        }
      } catch (error) {
        for (const e of batch) e.reject(error);
      } finally {
        busy.delete(key);
        pump();
      }
    })();
  };

  return {
    handler: (event, ctx) =>
      new Promise<void>((resolve, reject) => {
        const key = o.keyOf(event);
        let list = pending.get(key);
        if (!list) pending.set(key, (list = []));
        const onAbort = (): void => {
          // Timed out (or stopped) while still waiting: leave the line, the bus retries it.
          const l = pending.get(key);
          const i = l?.indexOf(entry) ?? -1;
          if (!l || i < 0) return;
          l.splice(i, 1);
          if (l.length === 0) pending.delete(key);
          waiting -= 1;
          reject(ctx.signal.reason);
        };
        const entry: Entry<E> = { event, ctx, resolve, reject, detach: () => ctx.signal.removeEventListener('abort', onAbort) };
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        list.push(entry);
        waiting += 1;
        schedule();
      }),
    get waiting() {
      return waiting;
    },
    get running() {
      return busy.size;
    },
  };
}
