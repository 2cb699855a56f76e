import { describe, expect, it } from 'vitest';
import { ModelCache } from '../../../src/inference/model-cache.js';

const model = (ref: string) => ({ ref, adapter: { bias: Float32Array.of(1) } });

describe('ModelCache', () => {
  it('stages models and installs them only at the batch boundary, with a fresh version each time', () => {
    const c = new ModelCache(4);
    c.stage('p', model('p@1'));
    expect(c.has('p')).toBe(false);
    expect(c.stagedRef('p')).toBe('p@1');
    c.applyStaged();
    const v1 = c.peek('p')!.version;
    expect(c.peek('p')!.ref).toBe('p@1');
    c.stage('p', model('p@2'));
    expect(c.peek('p')!.ref).toBe('p@1'); // old weights serve until the next boundary
    c.applyStaged();
    expect(c.peek('p')!.ref).toBe('p@2');
    expect(c.peek('p')!.version).toBeGreaterThan(v1);
  });

  it('evicts the least recently used past capacity', () => {
    const c = new ModelCache(2);
    c.stage('a', model('a'));
    c.stage('b', model('b'));
    c.applyStaged();
    c.use('a'); // b is now least recent
    c.stage('c', model('c'));
    expect(c.applyStaged()).toEqual(['b']);
    expect([c.has('a'), c.has('b'), c.has('c')]).toEqual([true, false, true]);
    expect(c.evicted).toBe(1);
    expect(c.size).toBe(2);
  });

  it('rejects a bad capacity', () => {
    expect(() => new ModelCache(0)).toThrow(RangeError);
  });
});
