// Runs coalesced retrain batches in background processes at the lowest CPU priority
// (./background-process.ts), so a process that also answers frames (`serve`) never trains on its own
// threads, nor collects training's garbage there. The main thread keeps the bus consumer, the coalescing line, the
// model registry (registrations arrive as calls from the threads, so its watch hot-swaps at once) and
// the notifications.
//
// Bounds and policy: one batch per thread at a time; the coalescer never starts more batches than there
// are threads, so nothing queues at a thread. Jobs waiting for a thread wait in the coalescer (at most
// the worker's hold limit), the rest in the bus (the in-process bus refuses publishes beyond its limit
// with JOB_BUS_FULL; JetStream's stream limit does the same). A thread that dies fails its batch as
// retryable (the bus redelivers with backoff) and is replaced, at most `maxRestarts` times.
import { startBackgroundProcess, type BackgroundProcess } from './background-process.js';
import type { Logger } from '../logger.js';
import { JobError, JobErrorCode } from './errors.js';
import { fromWire, toWire, type FromThread, type RetrainThreadInit, type ToThread } from './job-thread-protocol.js';
import type { NoticeBus } from './notices.js';
import type { PaceTarget } from './pacer.js';
import type { BatchFailures } from './coalesce.js';
import type { BatchJob, RegistryWriter, RetrainExecutor } from './workers/retrain-worker.js';

export const DEFAULT_THREAD_RESTARTS = 3;

export interface RetrainThreadsOptions {
  /** Threads, i.e. batches that can train in parallel. */
  readonly count: number;
  readonly init: RetrainThreadInit;
  readonly registry: RegistryWriter;
  readonly notices: Pick<NoticeBus, 'notify'>;
  readonly logger: Logger;
  /** Replacements of dead threads over the pool's life. Default DEFAULT_THREAD_RESTARTS. */
  readonly maxRestarts?: number;
}

export interface RetrainThreads extends RetrainExecutor, PaceTarget {
  /** tfjs backend the threads train on. */
  readonly backend: string;
  readonly threads: number;
}

interface Slot {
  readonly index: number;
  worker: BackgroundProcess;
  dead: boolean;
  inflight: { batchId: number; resolve: (f: BatchFailures) => void; reject: (e: unknown) => void } | null;
}

const ENTRY = new URL('./workers/retrain-thread.ts', import.meta.url);

export async function startRetrainThreads(o: RetrainThreadsOptions): Promise<RetrainThreads> {
  if (!Number.isInteger(o.count) || o.count < 1) throw new JobError(JobErrorCode.BAD_REQUEST, `retrain threads must be an integer ≥ 1, got ${o.count}`);
  const maxRestarts = o.maxRestarts ?? DEFAULT_THREAD_RESTARTS;
  const slots: Slot[] = [];
  let restarts = 0;
  let nextBatch = 1;
  let closed = false;
  let backend = '';
  /** The pace every process trains at (a replaced process gets it too). */
  let duty = 1;

  const reply = (w: BackgroundProcess, m: ToThread): void => w.postMessage(m);

  const onCall = async (w: BackgroundProcess, m: Extract<FromThread, { type: 'call' }>): Promise<void> => {
    try {
      let value: unknown;
      if (m.op === 'registry.get') value = await o.registry.get(m.patientId);
      else if (m.op === 'registry.register') value = await o.registry.register(m.patientId, m.ref);
      else value = await o.notices.notify(m.subject, m.payload as never, { id: m.id });
      reply(w, { type: 'reply', reqId: m.reqId, ok: true, value });
    } catch (error) {
      reply(w, { type: 'reply', reqId: m.reqId, ok: false, error: toWire(error) });
    }
  };

  const spawn = (index: number): Promise<Slot> =>
    new Promise<Slot>((resolve, reject) => {
      const worker = startBackgroundProcess(ENTRY, { init: o.init });
      const slot: Slot = { index, worker, dead: false, inflight: null };
      let ready = false;
      worker.on('message', (m: FromThread) => {
        if (m.type === 'ready') {
          ready = true;
          backend = m.backend;
          if (duty < 1) reply(worker, { type: 'pace', duty });
          resolve(slot);
        } else if (m.type === 'init-failed') {
          reject(fromWire(m.error));
          void worker.terminate();
        } else if (m.type === 'log') {
          o.logger[m.level](m.msg, { ...m.fields, retrainThread: index });
        } else if (m.type === 'call') {
          void onCall(worker, m);
        } else if (m.type === 'done' && slot.inflight?.batchId === m.batchId) {
          const f = slot.inflight;
          slot.inflight = null;
          f.resolve(new Map(m.failures.map(([id, e]) => [id, fromWire(e)])));
        }
      });
      worker.on('exit', (exitCode, signal) => {
        const code = exitCode ?? signal;
        slot.dead = true;
        if (!ready) return reject(new JobError(JobErrorCode.HANDLER, `retrain thread exited (${code}) before it was ready`));
        const f = slot.inflight;
        slot.inflight = null;
        f?.reject(new JobError(JobErrorCode.HANDLER, `retrain thread ${index} exited (${code}) during a batch`, { permanent: false }));
        if (closed) return;
        if (restarts >= maxRestarts) return o.logger.error('retrain thread not replaced: restart limit reached', { retrainThread: index, maxRestarts });
        restarts += 1;
        o.logger.warn('replacing retrain thread', { retrainThread: index, code, restarts });
        spawn(index).then(
          (s) => (slots[index] = s),
          (error: unknown) => o.logger.error('retrain thread could not be replaced', { retrainThread: index, error }),
        );
      });
    });

  const started = await Promise.allSettled(Array.from({ length: o.count }, (_, i) => spawn(i)));
  for (const r of started) if (r.status === 'fulfilled') slots[r.value.index] = r.value;
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    closed = true;
    await Promise.all(slots.map((s) => s.worker.terminate()));
    throw failed.reason;
  }

  return {
    get backend() {
      return backend;
    },
    threads: o.count,
    setDuty(d) {
      duty = d;
      for (const s of slots) if (s && !s.dead) reply(s.worker, { type: 'pace', duty });
    },
    run(batch: readonly BatchJob[], signal: AbortSignal): Promise<BatchFailures> {
      const slot = slots.find((s) => !s.dead && s.inflight === null);
      if (closed || !slot) return Promise.reject(new JobError(JobErrorCode.HANDLER, 'no retrain thread is free', { permanent: false }));
      const batchId = nextBatch++;
      return new Promise<BatchFailures>((resolve, reject) => {
        const onAbort = (): void => reply(slot.worker, { type: 'abort', batchId });
        signal.addEventListener('abort', onAbort, { once: true });
        const settle = (): void => signal.removeEventListener('abort', onAbort);
        slot.inflight = {
          batchId,
          resolve: (f) => (settle(), resolve(f)),
          reject: (e) => (settle(), reject(e)),
        };
        reply(slot.worker, { type: 'batch', batchId, jobs: batch });
      });
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
