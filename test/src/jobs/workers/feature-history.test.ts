import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureSequence } from '../../../../models/types.js';
import { decodeSequence, encodeSequence, historyKey, keySegment, loadHistory, saveHistory } from '../../../../src/jobs/workers/feature-history.js';
import { checkKey } from '../../../../src/storage/artifact-store.js';
import { DiskArtifactStore } from '../../../../src/storage/disk-artifact-store.js';

function seq(n: number, tag: number): FeatureSequence {
  const names = ['a', 'b', 'c'];
  return {
    names,
    x: Float32Array.from({ length: n * 3 }, (_, i) => i * 0.5 + tag),
    t: Float64Array.from({ length: n }, (_, i) => i / 60),
    poses: Float32Array.from({ length: n * 60 }, (_, i) => (i % 7 === 0 ? Number.NaN : i * 1e-3)),
    source: { file: `/rec/${tag}.jmrl`, sha256: 'f'.repeat(64), subject: 'p1' },
  };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jm-hist-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('feature history', () => {
  it('round-trips a sequence exactly (NaN poses included)', () => {
    const s = seq(5, 1);
    const back = decodeSequence(encodeSequence(s));
    expect(back.names).toEqual(s.names);
    expect(Array.from(back.x)).toEqual(Array.from(s.x));
    expect(Array.from(back.t)).toEqual(Array.from(s.t));
    expect(Array.from(back.poses)).toEqual(Array.from(s.poses));
    expect(back.source).toEqual(s.source);
  });

  it('makes key-safe, time-sortable keys from any ids', () => {
    expect(keySegment('assessment.completed.s-1')).toBe('assessment.completed.s-1');
    expect(keySegment('a:b/c@d')).toBe('a=3ab=2fc=40d');
    expect(keySegment('.hidden')).toBe('x.hidden');
    const k = historyKey('p1', new Date('2026-11-24T01:02:03.456Z'), 's:1');
    expect(k).toBe('retrain/p1/features/20261124T010203Z-s=3a1.npz');
    expect(checkKey(k)).toBe(k);
  });

  it('loads the newest `limit` entries oldest first, skipping its own key and damaged entries', async () => {
    const store = await DiskArtifactStore.open(join(dir, 'store'));
    for (let i = 0; i < 5; i++) await saveHistory(store, historyKey('p1', new Date(Date.UTC(2026, 0, 1 + i)), `s${i}`), seq(4, i));
    await saveHistory(store, historyKey('p2', new Date(Date.UTC(2026, 0, 9)), 'other'), seq(4, 99));
    await store.put(historyKey('p1', new Date(Date.UTC(2026, 0, 7)), 'bad'), new Uint8Array([1, 2, 3]));
    const bad: string[] = [];
    const own = historyKey('p1', new Date(Date.UTC(2026, 0, 5)), 's4');
    const got = await loadHistory(store, 'p1', { limit: 3, exceptKey: own, onBad: (k) => bad.push(k) });
    expect(got.map((g) => g.sequence.source.file)).toEqual(['/rec/2.jmrl', '/rec/3.jmrl']);
    expect(bad).toHaveLength(1);
    expect(await loadHistory(store, 'p1', { limit: 0 })).toEqual([]);
  });
});
