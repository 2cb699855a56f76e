// Entry of the counterfactual thread (started by counterfactual-host.ts): keeps the planning contexts of
// the last CONTEXT_CACHE packs asked about (least recently used dropped first, its model disposed) and
// answers questions on them, so the tens to hundreds of milliseconds of a plan never run on the thread
// that answers frames. A question about a pack it does not hold is answered `unknown-pack`; the host
// then sends the pack's files with the question again.
import { parentPort } from 'node:worker_threads';
import type { Goal } from '../../models/planning/goal.js';
import {
  answerCounterfactual,
  loadPackContext,
  type FromCounterfactualThread,
  type PackContext,
  type PackIdentity,
  type PackSource,
  type ToCounterfactualThread,
} from './counterfactual.js';

export const CONTEXT_CACHE = 4;

const port = parentPort;
if (!port) throw new Error('counterfactual-thread.ts runs only as a worker thread (counterfactual-host.ts starts it)');
const packs = new Map<string, Promise<PackContext>>();

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
  p.catch(() => packs.delete(who.id));
  while (packs.size > CONTEXT_CACHE) {
    const [oldest, entry] = packs.entries().next().value as [string, Promise<PackContext>];
    packs.delete(oldest);
    void entry.then(
      (e) => e.model.dispose(),
      () => undefined,
    );
  }
  return p;
}

async function ask(who: PackIdentity, goal: Goal, source: PackSource | undefined): Promise<FromCounterfactualThread | undefined> {
  const pc = context(who, source);
  if (!pc) return undefined;
  return { type: 'answer', req: 0, reply: answerCounterfactual(await pc, who, goal) };
}

port.on('message', (m: ToCounterfactualThread) => {
  ask(m.who, m.goal, m.source).then(
    (r) => port.postMessage(r ? { ...r, req: m.req } : ({ type: 'unknown-pack', req: m.req } satisfies FromCounterfactualThread)),
    (e: unknown) =>
      port.postMessage({
        type: 'failed',
        req: m.req,
        error: { name: e instanceof Error ? e.name : 'Error', message: e instanceof Error ? e.message : String(e) },
      } satisfies FromCounterfactualThread),
  );
});
