// Preparing packs on the counterfactual thread ahead of questions (a report opened): at most one
// preparation per pack and MAX_PREPARING in all (more are skipped, not queued); a failed preparation is
// an outcome, never a rejection, and the question after it loads the pack itself; a question asked
// while its pack is being prepared waits for the preparation's files instead of reading them again;
// a thread started ahead of any question, idle, keeps no process alive. (That a prepared pack answers
// its question without its files being read again: test/integration/taskpack-http.test.ts.)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Goal } from '../../../models/planning/goal.js';
import type { PackSource } from '../../../src/taskpack/counterfactual.js';
import { createCounterfactualHost, MAX_PREPARING } from '../../../src/taskpack/counterfactual-host.js';
import { deferred, within } from '../jobs/deferred.js';

const who = (id: string) => ({ id, patientId: 'p1', sessionId: 's1', modelVersion: 'v1' });
const goal: Goal = { quantity: 'knee_flexion_r', phase: 'mid_stance', delta: 5 };
const broken: PackSource = {
  states: new Uint8Array([1, 2, 3]),
  labels: new Uint8Array(),
  modelDir: '/nonexistent',
  baseDir: '/nonexistent',
  modelVersion: 'v1',
};

describe('counterfactual host: preparations', () => {
  it('bounds preparations, reports a failure as an outcome, and a question during one reads no files of its own', async () => {
    const host = createCounterfactualHost();
    try {
      const files = Array.from({ length: MAX_PREPARING }, () => deferred<PackSource>());
      const running = files.map((f, i) => host.prepare(who(`tp-${i}`), () => f.promise));
      // A second preparation of a pack being prepared, and one beyond MAX_PREPARING, are skipped at once.
      expect(await host.prepare(who('tp-0'), async () => broken)).toBe('skipped');
      expect(await host.prepare(who('tp-extra'), async () => broken)).toBe('skipped');
      // A question about tp-0 while it is being prepared does not read the files itself…
      let asked = 0;
      const question = host.ask(who('tp-0'), goal, async () => {
        asked += 1;
        return broken;
      });
      await host.stats(); // a round trip: the thread has answered everything sent before
      expect(asked).toBe(0);
      // …until the preparation failed on its files: then it loads the pack itself (and fails the same way).
      for (const f of files) f.resolve(broken);
      expect(await Promise.all(running)).toEqual(files.map(() => 'failed'));
      await expect(question).rejects.toThrow();
      expect(asked).toBe(1);
      const stats = await host.stats();
      expect(stats.prepared).toMatchObject({ failed: MAX_PREPARING, skipped: 2, loaded: 0 });
      expect(stats.packs).toEqual([]);
      // Nothing is left in flight: the pack can be prepared again.
      expect(await host.prepare(who('tp-0'), async () => broken)).toBe('failed');
    } finally {
      await host.close();
    }
  }, 60_000);

  it('a thread started ahead loads its tfjs runtime without a question, and idle keeps no process alive', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/host-idle-exit.ts', import.meta.url))], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await within(new Promise<number | null>((done) => child.once('exit', done)), 60_000, 'the process exits without close()').finally(() =>
      child.kill('SIGKILL'),
    );
    expect(code).toBe(0);
    const r = JSON.parse(out) as { backend: string; backendReadyMs: number; packs: string[]; outcome: string };
    expect(r.backend).not.toBe('none');
    expect(r.backendReadyMs).toBeGreaterThan(0);
    expect(r).toMatchObject({ packs: [], outcome: 'failed' });
  }, 90_000);
});
