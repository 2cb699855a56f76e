// The counterfactual thread's host: questions go to a worker thread that asks for a pack's files only
// when it does not hold the pack; at most MAX_PENDING questions wait (503 BUSY beyond, at once); a pack
// that cannot be loaded is an error for that question only; a closed host starts a fresh thread.
import { describe, expect, it } from 'vitest';
import type { Goal } from '../../../models/planning/goal.js';
import type { PackSource } from '../../../src/taskpack/counterfactual.js';
import { createCounterfactualHost, MAX_PENDING } from '../../../src/taskpack/counterfactual-host.js';
import { deferred } from '../jobs/deferred.js';

const who = { id: 'tp-test', patientId: 'p1', sessionId: 's1', modelVersion: 'v1' };
const goal: Goal = { quantity: 'knee_flexion_r', phase: 'mid_stance', delta: 5 };
const broken: PackSource = {
  states: new Uint8Array([1, 2, 3]),
  labels: new Uint8Array(),
  modelDir: '/nonexistent',
  baseDir: '/nonexistent',
  modelVersion: 'v1',
};

describe('counterfactual host', () => {
  it('asks for the pack’s files, bounds waiting questions, and survives a pack that cannot be loaded', async () => {
    const host = createCounterfactualHost();
    try {
      const files = deferred<PackSource>();
      let asked = 0;
      const source = (): Promise<PackSource> => {
        asked += 1;
        return files.promise;
      };
      const waiting = Array.from({ length: MAX_PENDING }, () => host.ask(who, goal, source));
      // The next one is refused at once, without waiting for the thread.
      expect(await host.ask(who, goal, source)).toMatchObject({ status: 503, body: { code: 'BUSY' } });
      // The thread does not hold the pack: every question asks for its files, then fails on them.
      files.resolve(broken);
      const outcomes = await Promise.allSettled(waiting);
      expect(asked).toBe(MAX_PENDING);
      expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
      // The thread is still there for the next question (which also fails on the same broken files).
      await expect(host.ask(who, goal, async () => broken)).rejects.toThrow();
      // After close, the next question starts a new thread.
      await host.close();
      await expect(host.ask(who, goal, async () => broken)).rejects.toThrow();
    } finally {
      await host.close();
    }
  }, 60_000);
});
