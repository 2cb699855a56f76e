// The main thread's side of the counterfactual thread (counterfactual-thread.ts): one long-lived worker,
// started on the first question and again after it died, that holds the loaded packs and plans. The
// HTTP thread only validates the request, reads the pack's files when the thread asks for them, and
// awaits the answer. Bounded: at most MAX_PENDING questions wait at once; beyond, 503 BUSY at once.
import { Worker } from 'node:worker_threads';
import type { Goal } from '../../models/planning/goal.js';
import type { ApiReply, FromCounterfactualThread, PackIdentity, PackSource, ToCounterfactualThread } from './counterfactual.js';

const ENTRY = new URL('./counterfactual-thread.ts', import.meta.url);
// On Node 20 a worker's .ts entry needs tsx registered inside the thread first.
const BOOTSTRAP = new URL('../inference/worker-bootstrap.mjs', import.meta.url);

/** Questions in the thread or waiting for it; a burst beyond gets 503 rather than a growing queue. */
export const MAX_PENDING = 16;

export interface CounterfactualHost {
  /** Asks the thread; `source` is read only when the thread does not hold the pack yet. */
  ask(who: PackIdentity, goal: Goal, source: () => Promise<PackSource>): Promise<ApiReply>;
  close(): Promise<void>;
}

export function createCounterfactualHost(): CounterfactualHost {
  let worker: Worker | undefined;
  let nextReq = 1;
  let inFlight = 0;
  const waiting = new Map<number, { resolve: (m: FromCounterfactualThread) => void; reject: (e: Error) => void }>();

  const thread = (): Worker => {
    if (worker) return worker;
    const w = new Worker(BOOTSTRAP, { workerData: { entry: ENTRY.href } });
    // Idle, the thread must not keep a process alive (a server closed without close()); with a
    // question in it, it must (a pending promise alone does not hold the event loop).
    w.unref();
    const fail = (e: Error): void => {
      if (worker === w) worker = undefined;
      for (const p of waiting.values()) p.reject(e);
      waiting.clear();
    };
    w.on('message', (m: FromCounterfactualThread) => {
      const p = waiting.get(m.req);
      waiting.delete(m.req);
      if (waiting.size === 0) w.unref();
      p?.resolve(m);
    });
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`counterfactual thread exited (${code})`)));
    worker = w;
    return w;
  };

  const send = (msg: Omit<ToCounterfactualThread, 'req'>): Promise<FromCounterfactualThread> =>
    new Promise((resolve, reject) => {
      const req = nextReq++;
      waiting.set(req, { resolve, reject });
      const w = thread();
      w.ref();
      w.postMessage({ ...msg, req });
    });

  return {
    async ask(who, goal, source) {
      if (inFlight >= MAX_PENDING)
        return { status: 503, body: { code: 'BUSY', message: `${MAX_PENDING} counterfactual questions are being planned; ask again shortly` } };
      inFlight += 1;
      try {
        let r = await send({ who, goal });
        if (r.type === 'unknown-pack') r = await send({ who, goal, source: await source() });
        if (r.type === 'answer') return r.reply;
        if (r.type === 'failed') throw Object.assign(new Error(r.error.message), { name: r.error.name });
        throw new Error(`counterfactual thread does not hold task pack ${who.id} after loading it`);
      } finally {
        inFlight -= 1;
      }
    },
    async close() {
      const w = worker;
      worker = undefined;
      await w?.terminate();
    },
  };
}
