// The clinic-wide list of finished sessions (src/recordings/finished-index.ts): the entry the publisher
// stores beside each recording, and the bounded, cached, clinic-scoped listing every node reads.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/logger.js';
import { createFinishedIndex, FinishedEntry, MAX_FINISHED_LISTED, writeFinishedEntry } from '../../../src/recordings/finished-index.js';
import { createRecordingPublisher } from '../../../src/recordings/publish-recording.js';
import { DiskRecordingStore } from '../../../src/sessions/recording-store.js';
import type { ArtifactStore } from '../../../src/storage/artifact-store.js';
import { DiskArtifactStore } from '../../../src/storage/disk-artifact-store.js';
import { finishedKey, recordingKey } from '../../../src/storage/keys.js';

/** Counts the reads that go to the store. */
function counting(inner: ArtifactStore): ArtifactStore & { gets: string[] } {
  const s = {
    gets: [] as string[],
    put: (k: string, b: Parameters<ArtifactStore['put']>[1]) => inner.put(k, b),
    get: (k: string) => {
      s.gets.push(k);
      return inner.get(k);
    },
    has: (k: string) => inner.has(k),
    list: (p: string) => inner.list(p),
  };
  return s;
}

const entry = (clinic: string, sessionId: string, endedMs: number, patientId = 'p1'): FinishedEntry => ({
  sessionId,
  clinic,
  patientId,
  assessment: 'gait',
  startedAt: new Date(endedMs - 60_000).toISOString(),
  endedAt: new Date(endedMs).toISOString(),
  recording: recordingKey(clinic, sessionId),
  sha256: 'a'.repeat(64),
});

describe('finished-session index', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-finished-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('publishing a server recording stores its entry (who, what, when) beside it, keyed by clinic and end time', async () => {
    const artifacts = await DiskArtifactStore.open(join(dir, 'a1'));
    const publisher = createRecordingPublisher(artifacts);
    const store = new DiskRecordingStore({ dir: join(dir, 'recs'), fsync: { mode: 'never' }, publish: (r) => publisher.publish(r) }, silentLogger);
    const startedAt = Date.UTC(2026, 11, 7, 3, 0);
    const meta = {
      sessionId: 's1',
      clinic: 'north',
      patientId: 'p-7',
      assessment: 'squat',
      fps: 60,
      startedAt,
      model: { id: 'pretrained', kind: 'pretrained', version: '0' },
    };
    const sink = await store.open('s1', meta);
    await sink.append(new Uint8Array([0x80]));
    const fin = await sink.finalize();
    const endedAt = (await stat(fin.location)).mtime;

    const key = finishedKey('north', endedAt, 's1');
    expect(key).toMatch(/^finished\/north\/\d{8}T\d{6}Z-s1\.json$/);
    expect(await artifacts.list('finished/')).toEqual([key]);
    const stored = FinishedEntry.parse(JSON.parse(new TextDecoder().decode(await artifacts.get(key))));
    expect(stored).toEqual({
      sessionId: 's1',
      clinic: 'north',
      patientId: 'p-7',
      assessment: 'squat',
      startedAt: new Date(startedAt).toISOString(),
      endedAt: endedAt.toISOString(),
      recording: recordingKey('north', 's1'),
      sha256: fin.sha256,
    });
    expect(await createFinishedIndex(artifacts).list('north')).toEqual([stored]);
    expect(await createFinishedIndex(artifacts).list('south')).toEqual([]);
  });

  it('a file that is not a server recording is stored but not listed (nothing to list it by)', async () => {
    const artifacts = await DiskArtifactStore.open(join(dir, 'a2'));
    const file = join(dir, 'raw.jmrl');
    const bytes = new TextEncoder().encode('not a recording log');
    await writeFile(file, bytes);
    await createRecordingPublisher(artifacts).publish({
      clinic: 'north',
      sessionId: 'raw',
      path: file,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    expect(await artifacts.has(recordingKey('north', 'raw'))).toBe(true);
    expect(await artifacts.list('finished/')).toEqual([]);
  });

  it(`lists newest first, at most the newest ${MAX_FINISHED_LISTED}, narrowed by patient, one clinic only`, async () => {
    const artifacts = await DiskArtifactStore.open(join(dir, 'a3'));
    const t0 = Date.UTC(2026, 0, 1);
    const n = MAX_FINISHED_LISTED + 5;
    for (let i = 0; i < n; i++) await writeFinishedEntry(artifacts, entry('north', `s${i}`, t0 + i * 3_600_000, i % 2 ? 'p-odd' : 'p-even'));
    await writeFinishedEntry(artifacts, entry('south', 'other', t0 + n * 3_600_000));
    // `..` and `x..` share a key segment (keySegment prefixes an `x`): the entry's own clinic decides.
    await writeFinishedEntry(artifacts, entry('x..', 'lookalike', t0));
    const index = createFinishedIndex(artifacts);

    const all = await index.list('north');
    expect(all).toHaveLength(MAX_FINISHED_LISTED);
    expect(all[0]!.sessionId).toBe(`s${n - 1}`);
    expect(all.at(-1)!.sessionId).toBe(`s${n - MAX_FINISHED_LISTED}`);
    expect(all.map((e) => Date.parse(e.endedAt))).toEqual(all.map((e) => Date.parse(e.endedAt)).sort((a, b) => b - a));
    const odd = await index.list('north', 'p-odd');
    expect(odd.length).toBeGreaterThan(0);
    expect(odd.every((e) => e.patientId === 'p-odd')).toBe(true);
    expect((await index.list('south')).map((e) => e.sessionId)).toEqual(['other']);
    expect(await index.list('..')).toEqual([]);
  });

  it('reads each entry once (entries never change), skips unreadable ones, and reads a store failure again', async () => {
    const disk = await DiskArtifactStore.open(join(dir, 'a4'));
    const t0 = Date.UTC(2026, 5, 1);
    await writeFinishedEntry(disk, entry('north', 'a', t0));
    await disk.put(finishedKey('north', new Date(t0 + 1000), 'junk'), new TextEncoder().encode('{not json'));
    await disk.put(finishedKey('north', new Date(t0 + 2000), 'wrong'), new TextEncoder().encode('{"sessionId":"wrong"}'));
    const store = counting(disk);
    const index = createFinishedIndex(store);
    expect((await index.list('north')).map((e) => e.sessionId)).toEqual(['a']);
    expect(store.gets).toHaveLength(3);
    store.gets.length = 0;
    await writeFinishedEntry(disk, entry('north', 'b', t0 + 3000));
    expect((await index.list('north')).map((e) => e.sessionId)).toEqual(['b', 'a']);
    expect(store.gets).toEqual([finishedKey('north', new Date(t0 + 3000), 'b')]);

    let storeDown = true;
    const flaky = { ...store, get: (k: string) => (storeDown ? Promise.reject(new Error('no responders')) : disk.get(k)) };
    const again = createFinishedIndex(flaky);
    await expect(again.list('north')).rejects.toThrow('no responders');
    storeDown = false;
    expect((await again.list('north')).map((e) => e.sessionId)).toEqual(['b', 'a']);
  });
});
