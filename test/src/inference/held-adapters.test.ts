// HeldAdapters: what a batch engine holds, as batch messages installed it, so a failed batch can drop it
// all (the service resends every adapter after a failure and would never remove one it forgot).
import { describe, expect, it } from 'vitest';
import { HeldAdapters } from '../../../src/inference/engine.js';

function fakeEngine(opts: { throwOn?: string; throwOnRemove?: string } = {}) {
  const adapters = new Map<string, object>();
  return {
    adapters,
    setAdapter(patientId: string, weights: object | null): void {
      if (weights === null) {
        if (patientId === opts.throwOnRemove) throw new Error(`cannot remove ${patientId}`);
        adapters.delete(patientId);
        return;
      }
      if (patientId === opts.throwOn) {
        adapters.set(patientId, { half: true }); // a throw after part of the install
        throw new Error(`broken adapter of ${patientId}`);
      }
      adapters.set(patientId, weights);
    },
  };
}

/** A batch message that installs the given patients' adapters, in this order. */
const installs = (...patients: string[]) => ({ remove: [], install: patients.map((patientId, i) => ({ patientId, adapter: { w: i + 1 } })) });

describe('HeldAdapters', () => {
  it('applies removals then installs, and drops everything it installed', () => {
    const engine = fakeEngine();
    const held = new HeldAdapters(engine);
    held.apply(installs('p', 'q'));
    held.apply({
      remove: ['p'],
      install: [
        { patientId: 'r', adapter: { w: 3 } },
        { patientId: 'q', adapter: null },
      ],
    });
    expect([...engine.adapters.keys()]).toEqual(['r']);
    expect(held.size).toBe(1);
    held.dropAll();
    expect(engine.adapters.size).toBe(0);
    expect(held.size).toBe(0);
  });

  it('counts an install that threw as held, so dropAll removes what it left', () => {
    const engine = fakeEngine({ throwOn: 'p' });
    const held = new HeldAdapters(engine);
    expect(() => held.apply(installs('q', 'p'))).toThrow(/broken/);
    expect(held.size).toBe(2);
    held.dropAll();
    expect(engine.adapters.size).toBe(0);
  });

  it('goes on dropping when one removal throws', () => {
    const engine = fakeEngine({ throwOnRemove: 'p' });
    const held = new HeldAdapters(engine);
    held.apply(installs('p', 'q'));
    held.dropAll();
    expect([...engine.adapters.keys()]).toEqual(['p']);
    expect(held.size).toBe(0);
  });
});
