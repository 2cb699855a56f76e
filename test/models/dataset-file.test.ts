import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allocatePairs, buildTransitionDataset, readDatasetArrays, writeDataset } from '../../models/dataset-file.js';
import { horizonWeights } from '../../models/dataset.js';
import { ModelErrorCode } from '../../models/errors.js';
import { rampSequence } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'dataset-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hasNumpy = (() => {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error('numpy is required under CI=true for the dataset cross-check');
    process.stderr.write('[dataset-file.test] python3 numpy not available: numpy cross-check skipped\n');
    return false;
  }
})();

describe('allocatePairs', () => {
  it('keeps everything when it fits, else exactly cap without exceeding availability', () => {
    expect(allocatePairs([0, 3, 2], [0, 0.5, 0.5], 10)).toEqual([0, 3, 2]);
    const avail = [0, 999, 998, 997, 996, 995];
    const w = horizonWeights(5, 'log-uniform');
    const n = allocatePairs(avail, w, 100);
    expect(n.reduce((a, b) => a + b, 0)).toBe(100);
    // plenty available: shares follow the law
    expect(n[1]! / 100).toBeCloseTo(w[1]!, 1);
    // water-filling: a scarce short horizon keeps all its pairs, the rest goes elsewhere
    const m = allocatePairs([0, 4, 1000, 1000], [0, 0.6, 0.2, 0.2], 100);
    expect(m).toEqual([0, 4, 48, 48]);
  });
});

describe('buildTransitionDataset', () => {
  it('stores every pair of a short recording', () => {
    const ds = buildTransitionDataset([rampSequence(5)]);
    expect(ds.dh.length).toBe(10);
    expect(ds.totalPairs).toBe(10);
    expect(Array.from(ds.dh)).toEqual([1, 1, 1, 1, 2, 2, 2, 3, 3, 4]);
    expect(ds.histogram).toEqual({ edges: [1, 2, 4, 5], counts: [4, 5, 1] });
  });
  it('caps a long recording with distinct pairs that follow the law', () => {
    const ds = buildTransitionDataset([rampSequence(1000), rampSequence(300, 5, 'b')], { maxPairs: 5000, seed: 2 });
    expect(ds.totalPairs).toBe((1000 * 999) / 2 + (300 * 299) / 2);
    expect(ds.dh.length).toBe(5000);
    const keys = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const h = ds.dh[i]!;
      // raw rows: column a is the frame index
      expect(ds.y[2 * i]! - ds.x[2 * i]!).toBe(h);
      expect(ds.x[2 * i]).toBe(ds.t[i]);
      keys.add(`${ds.seq[i]}:${ds.t[i]}:${h}`);
    }
    expect(keys.size).toBe(5000);
    const le30 = Array.from(ds.dh).filter((h) => h <= 30).length / 5000;
    expect(Math.abs(le30 - Math.log(31) / Math.log(1000))).toBeLessThan(0.01);
    expect(ds.histogram.counts.reduce((a, b) => a + b, 0)).toBe(5000);
    // same seed → same set
    expect(buildTransitionDataset([rampSequence(1000), rampSequence(300, 5, 'b')], { maxPairs: 5000, seed: 2 }).t).toEqual(ds.t);
  });
});

describe('writeDataset', () => {
  it('writes an NPZ + JSON that read back, and numpy loads', async () => {
    const ds = buildTransitionDataset([rampSequence(40), rampSequence(30, 1, 'b')], { maxPairs: 300 });
    const out = await writeDataset(join(dir, 'ds'), ds);
    const { meta, arrays } = await readDatasetArrays(join(dir, 'ds'));
    expect(meta.transitions).toBe(300);
    expect(meta.feature_names).toEqual(['a', 'b']);
    expect(meta.sources).toEqual([
      { file: 'ramp', sha256: 'f'.repeat(64), frames: 40 },
      { file: 'b', sha256: 'f'.repeat(64), frames: 30 },
    ]);
    expect(arrays.x_t!.shape).toEqual([300, 2]);
    expect(arrays.x_next!.data).toEqual(ds.y);
    expect(arrays.dh!.data).toEqual(ds.dh);
    expect(Array.from(arrays.horizon_counts!.data)).toEqual(ds.histogram.counts);
    if (hasNumpy) {
      const py = `
import json, sys, numpy as np
z = np.load(sys.argv[1])
d = (z['x_next'][:, 0] - z['x_t'][:, 0]).astype(np.int32)
print(json.dumps({"files": sorted(z.files), "shape": list(z['x_t'].shape), "dh_ok": bool((d == z['dh']).all()),
  "mean": z['mean'].tolist(), "hist": int(z['horizon_counts'].sum())}))
`;
      const got = JSON.parse(execFileSync('python3', ['-c', py, out.npzPath], { encoding: 'utf8' })) as Record<string, unknown>;
      expect(got).toEqual({
        files: ['dh', 'horizon_counts', 'horizon_edges', 'mean', 'seq', 'std', 't', 'x_next', 'x_t'],
        shape: [300, 2],
        dh_ok: true,
        mean: Array.from(ds.normalization.mean),
        hist: 300,
      });
    }
  });
  it('detects a modified NPZ', async () => {
    const ds = buildTransitionDataset([rampSequence(10)]);
    const out = await writeDataset(join(dir, 'bad'), ds, { compress: false });
    const buf = readFileSync(out.npzPath);
    buf[buf.length - 40]! ^= 1;
    writeFileSync(out.npzPath, buf);
    await expect(readDatasetArrays(join(dir, 'bad'))).rejects.toMatchObject({ code: ModelErrorCode.CHECKPOINT_HASH_MISMATCH });
  });
});
