// The main thread's side of the counterfactual thread (counterfactual-thread.ts): one long-lived worker,
// started by start() (serve does at startup) or by the first message, and again after it died, that
// holds the loaded packs and plans. The HTTP thread only validates the request, reads the pack's files
// when the thread asks for them, and awaits the answer. Bounded: at most MAX_PENDING questions wait at
// once (503 BUSY beyond, at once); at most MAX_PREPARING preparations run, one per pack (more are
// skipped, not queued: the question then loads the pack itself, as without a preparation).
import { Worker } from 'node:worker_threads';
import type { Goal } from '../../models/planning/goal.js';
import type { ApiReply, FromCounterfactualThread, PackIdentity, PackSource, ThreadStats, ToCounterfactualThread } from './counterfactual.js';

const ENTRY = new URL('./counterfactual-thread.ts', import.meta.url);
// On Node 20 a worker's .ts entry needs tsx registered inside the thread first.
const BOOTSTRAP = new URL('../inference/worker-bootstrap.mjs', import.meta.url);

/** Questions in the thread or waiting for it; a burst beyond gets 503 rather than a growing queue. */
export const MAX_PENDING = 16;
/**
 * Pack preparations in flight at once. Below the thread's context cache (4), so preparations never
 * evict each other, and small: each load is a second or more of CPU on a shared box.
 */
export const MAX_PREPARING = 2;

/** held: the thread already had it; loaded: loaded now; skipped: one in flight for it, or MAX_PREPARING; failed: could not load. */
export type PrepareOutcome = 'held' | 'loaded' | 'skipped' | 'failed';

export interface HostStats extends ThreadStats {
  /** The thread's spawn → its entry imported, and → its tfjs runtime ready (ms). */
  readonly importedMs: number;
  readonly backendReadyMs: number;
  readonly prepared: Readonly<Record<PrepareOutcome, number>>;
}

export interface CounterfactualHost {
  /** Starts the thread and its tfjs runtime now (it never keeps the process alive while idle). */
  start(): void;
  /** Asks the thread; `source` is read only when the thread does not hold the pack yet. */
  ask(who: PackIdentity, goal: Goal, source: () => Promise<PackSource>): Promise<ApiReply>;
  /** Makes the thread hold the pack so the next question about it is warm; never rejects. */
  prepare(who: PackIdentity, source: () => Promise<PackSource>): Promise<PrepareOutcome>;
  stats(): Promise<HostStats>;
  close(): Promise<void>;
}

type Outgoing = ToCounterfactualThread extends infer M ? (M extends unknown ? Omit<M, 'req'> : never) : never;
type Pending = { w: Worker; resolve: (m: FromCounterfactualThread) => void; reject: (e: Error) => void };

const threadError = (r: FromCounterfactualThread): Error =>
  r.type === 'failed' ? Object.assign(new Error(r.error.message), { name: r.error.name }) : new Error(`counterfactual thread answered ${r.type}`);

export function createCounterfactualHost(): CounterfactualHost {
  let worker: Worker | undefined;
  let spawnedAt = NaN;
  let nextReq = 1;
  let inFlight = 0;
  const waiting = new Map<number, Pending>();
  // Per pack: `sent` settles once the thread holds the pack or has its files (messages to it are
  // ordered, so a question sent after finds it), `done` when the preparation ended.
  const preparing = new Map<string, { sent: Promise<void>; done: Promise<PrepareOutcome> }>();
  const prepared: Record<PrepareOutcome, number> = { held: 0, loaded: 0, skipped: 0, failed: 0 };

  const settle = (req: number): Pending | undefined => {
    const p = waiting.get(req);
    waiting.delete(req);
    if (p && ![...waiting.values()].some((o) => o.w === p.w)) p.w.unref();
    return p;
  };

  const thread = (): Worker => {
    if (worker) return worker;
    spawnedAt = performance.timeOrigin + performance.now();
    const w = new Worker(BOOTSTRAP, { workerData: { entry: ENTRY.href } });
    // Idle, the thread must not keep a process alive (a server closed without close()); with a
    // question, a preparation or a stats request in it, it must (a pending promise alone does not hold
    // the event loop), which lasts one plan or one pack load at most.
    w.unref();
    const fail = (e: Error): void => {
      if (worker === w) worker = undefined;
      for (const [req, p] of waiting) if (p.w === w) settle(req)?.reject(e);
    };
    w.on('message', (m: FromCounterfactualThread) => settle(m.req)?.resolve(m));
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`counterfactual thread exited (${code})`)));
    worker = w;
    return w;
  };

  const send = (msg: Outgoing): Promise<FromCounterfactualThread> =>
    new Promise((resolve, reject) => {
      const req = nextReq++;
      const w = thread();
      waiting.set(req, { w, resolve, reject });
      w.ref();
      w.postMessage({ ...msg, req });
    });

  return {
    start() {
      thread();
    },
    async ask(who, goal, source) {
      if (inFlight >= MAX_PENDING)
        return { status: 503, body: { code: 'BUSY', message: `${MAX_PENDING} counterfactual questions are being planned; ask again shortly` } };
      inFlight += 1;
      try {
        // A preparation of this pack in flight (report opened a moment ago) is loading it already: the
        // question waits only until the thread has the files, not for the rest of the preparation.
        await preparing.get(who.id)?.sent;
        let r = await send({ type: 'ask', who, goal });
        if (r.type === 'unknown-pack') r = await send({ type: 'ask', who, goal, source: await source() });
        if (r.type === 'answer') return r.reply;
        if (r.type === 'unknown-pack') throw new Error(`counterfactual thread does not hold task pack ${who.id} after loading it`);
        throw threadError(r);
      } finally {
        inFlight -= 1;
      }
    },
    prepare(who, source) {
      if (preparing.has(who.id) || preparing.size >= MAX_PREPARING) {
        prepared.skipped += 1;
        return Promise.resolve('skipped');
      }
      let handed = (): void => undefined;
      const sent = new Promise<void>((ok) => (handed = ok));
      const run = async (): Promise<PrepareOutcome> => {
        try {
          const r = await send({ type: 'hold', who });
          if (r.type === 'held') return 'held';
          if (r.type !== 'unknown-pack') throw threadError(r);
          const loading = send({ type: 'hold', who, source: await source() });
          handed();
          const l = await loading;
          if (l.type === 'held') return 'loaded';
          throw threadError(l);
        } finally {
          handed();
        }
      };
      const done = run()
        .catch((): PrepareOutcome => 'failed')
        .then((o) => {
          prepared[o] += 1;
          preparing.delete(who.id);
          return o;
        });
      preparing.set(who.id, { sent, done });
      return done;
    },
    async stats() {
      const r = await send({ type: 'stats' });
      if (r.type !== 'stats') throw threadError(r);
      const since = (at: number): number => at - spawnedAt;
      return { ...r.stats, importedMs: since(r.stats.importedAt), backendReadyMs: since(r.stats.backendReadyAt), prepared: { ...prepared } };
    },
    async close() {
      const w = worker;
      worker = undefined;
      await w?.terminate();
    },
  };
}
