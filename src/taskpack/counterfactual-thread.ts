// Entry of the counterfactual thread (started by counterfactual-host.ts): keeps the planning contexts of
// the last CONTEXT_CACHE packs asked about or prepared (least recently used dropped first, its model
// disposed) and answers questions on them, so the tens to hundreds of milliseconds of a plan never run
// on the thread that answers frames. A message about a pack it does not hold is answered
// `unknown-pack`; the host then sends the pack's files with it again.
import { parentPort } from 'node:worker_threads';
import { selectBackend } from '../../models/backend.js';
import {
  answerCounterfactual,
  loadPackContext,
  type FromCounterfactualThread,
  type LoadTimings,
  type PackContext,
  type PackIdentity,
  type PackSource,
  type ToCounterfactualThread,
  warmPackContext,
} from './counterfactual.js';

export const CONTEXT_CACHE = 4;

const port = parentPort;
if (!port) throw new Error('counterfactual-thread.ts runs only as a worker thread (counterfactual-host.ts starts it)');
// Absolute times: a worker's performance.now() does not start at the worker's start.
const now = (): number => performance.timeOrigin + performance.now();
const importedAt = now();
// The tfjs runtime (wasm) is initialised as soon as the thread starts, not on the first question: the
// host starts the thread ahead of questions (serve), so this cost is paid while nobody waits.
let backendReadyAt = NaN;
const backend = selectBackend().then((b) => ((backendReadyAt = now()), b));
backend.catch(() => undefined); // a failure is reported by the first load, which selects again
const packs = new Map<string, Promise<PackContext>>();
const loads = new Map<string, LoadTimings>();

function context(who: PackIdentity, source: PackSource | undefined): Promise<PackContext> | undefined {
  const hit = packs.get(who.id);
  if (hit) {
    packs.delete(who.id);
    packs.set(who.id, hit);
    return hit;
  }
  if (!source) return undefined;
  const p = loadPackContext(source);
  packs.set(who.id, p);
  p.then(
    (pc) => packs.get(who.id) === p && loads.set(who.id, pc.timings),
    () => packs.delete(who.id),
  );
  while (packs.size > CONTEXT_CACHE) {
    const [oldest, entry] = packs.entries().next().value as [string, Promise<PackContext>];
    packs.delete(oldest);
    loads.delete(oldest);
    void entry.then(
      (e) => e.model.dispose(),
      () => undefined,
    );
  }
  return p;
}

async function handle(m: ToCounterfactualThread): Promise<FromCounterfactualThread> {
  if (m.type === 'stats') {
    const b = await backend.catch(() => 'none');
    return {
      type: 'stats',
      req: m.req,
      stats: { importedAt, backendReadyAt, backend: b, packs: [...packs.keys()], loads: Object.fromEntries(loads) },
    };
  }
  // Loads select the backend again (loadPlanningModel): after this thread's own selection, not beside it.
  await backend.catch(() => undefined);
  const fresh = m.source !== undefined && !packs.has(m.who.id);
  const pc = context(m.who, m.source);
  if (!pc) return { type: 'unknown-pack', req: m.req };
  const loaded = await pc;
  if (m.type === 'hold') {
    // A preparation that loaded the pack also plans the report's questions once (warmPackContext);
    // a question that loads a pack does not, it answers at once.
    const held = (): boolean => packs.get(m.who.id) === pc;
    if (fresh && held()) {
      const warmMs = await warmPackContext(loaded, m.who, held);
      if (held()) loads.set(m.who.id, { ...loaded.timings, warmMs });
    }
    return { type: 'held', req: m.req };
  }
  return { type: 'answer', req: m.req, reply: answerCounterfactual(loaded, m.who, m.goal) };
}

port.on('message', (m: ToCounterfactualThread) => {
  handle(m).then(
    (r) => port.postMessage(r),
    (e: unknown) =>
      port.postMessage({
        type: 'failed',
        req: m.req,
        error: { name: e instanceof Error ? e.name : 'Error', message: e instanceof Error ? e.message : String(e) },
      } satisfies FromCounterfactualThread),
  );
});
