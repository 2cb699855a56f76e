import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageError, StorageErrorCode } from '../../../src/storage/errors.js';
import { HEADER_BYTES, packr } from '../../../src/storage/recording-format.js';
import { RecordingLog } from '../../../src/storage/recording-log.js';
import { readRecording, type RecordingEntry } from '../../../src/storage/recording-reader.js';
import { findUnfinished, recoverRecordings, repairRecording } from '../../../src/storage/recording-recovery.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reclog-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const frame = (seq: number) => ({ type: 'frame', seq, t: seq / 60, joints: new Float32Array(6).fill(seq), tracked: seq % 3 !== 0 });

async function writeLog(path: string, n: number, mode: 'never' | 'always' = 'never'): Promise<{ ends: number[] }> {
  const log = await RecordingLog.create(path, { fsync: { mode } });
  const results = await Promise.all(Array.from({ length: n }, (_, i) => log.append(frame(i))));
  await log.close();
  return { ends: results.map((r) => r.end) };
}

const expectFrames = (entries: RecordingEntry[], n: number): void => {
  expect(entries.map((e) => (e.value as { seq: number }).seq)).toEqual(Array.from({ length: n }, (_, i) => i));
  entries.forEach((e, i) => expect(e.value).toEqual(frame(i)));
};

describe('RecordingLog', () => {
  it('round-trips records; finalize reports records, bytes and the sha256 of the file', async () => {
    const path = join(dir, 'a.jmrl');
    const log = await RecordingLog.create(path, { fsync: { mode: 'always' } });
    for (let i = 0; i < 20; i++) await log.append(frame(i));
    const raw = packr.pack({ type: 'end' });
    await log.appendEncoded(raw);
    const fin = await log.finalize();
    const bytes = await readFile(path);
    expect(fin).toEqual({ records: 21, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    const { entries, end } = await readRecording(path);
    expect(end.status).toBe('complete');
    expect(end.trailer?.records).toBe(21);
    expectFrames(entries.slice(0, 20), 20);
    expect(entries[20]?.value).toEqual({ type: 'end' });
    expect(Buffer.from(entries[20]?.payload ?? [])).toEqual(Buffer.from(raw));
    expect(await findUnfinished(dir)).toEqual([]);
  });

  it('returns exactly the complete records before a cut at every byte offset, and repair makes it appendable', async () => {
    const full = join(dir, 'full.jmrl');
    const n = 12;
    const { ends } = await writeLog(full, n);
    const size = (await stat(full)).size;
    expect(ends.at(-1)).toBe(size);
    const cutPath = join(dir, 'cut.jmrl');
    for (let cut = 0; cut <= size; cut++) {
      await copyFile(full, cutPath);
      await truncate(cutPath, cut);
      const complete = ends.filter((e) => e <= cut).length;
      const { entries, end } = await readRecording(cutPath);
      expectFrames(entries, complete);
      const atBoundary = cut === HEADER_BYTES || ends.includes(cut);
      expect(end.status, `cut at ${cut}`).toBe(atBoundary ? 'unfinished' : 'torn');
      expect(end.validEnd).toBe(complete === 0 ? (cut >= HEADER_BYTES ? HEADER_BYTES : 0) : ends[complete - 1]);
      if (!atBoundary) expect(end.badOffset).toBe(end.validEnd);
    }
    // Repair + resume + finalize at a few cuts: appends continue the sequence, nothing duplicated.
    for (const cut of [3, HEADER_BYTES + 5, (ends[5] as number) + 2, size - 1]) {
      await copyFile(full, cutPath);
      await truncate(cutPath, cut);
      const rep = await repairRecording(cutPath);
      const kept = rep.records;
      expect((await stat(cutPath)).size).toBe(kept === 0 ? HEADER_BYTES : ends[kept - 1]);
      const { log } = await RecordingLog.resume(cutPath, { fsync: { mode: 'never' } });
      const r = await log.append(frame(kept));
      expect(r.seq).toBe(kept);
      await log.finalize();
      const { entries, end } = await readRecording(cutPath);
      expect(end.status).toBe('complete');
      expectFrames(entries, kept + 1);
    }
  });

  it('stops at a flipped byte and reports the offset of the bad record', async () => {
    const full = join(dir, 'full.jmrl');
    const { ends } = await writeLog(full, 10);
    const original = await readFile(full);
    const bad = join(dir, 'bad.jmrl');
    const victim = 6;
    const start = ends[victim - 1] as number;
    for (let at = start; at < (ends[victim] as number); at++) {
      for (const mask of [0x01, 0x80]) {
        const b = Buffer.from(original);
        b[at] = (b[at] as number) ^ mask;
        await writeFile(bad, b);
        const { entries, end } = await readRecording(bad);
        expectFrames(entries, victim);
        expect(['corrupt', 'torn'], `byte ${at}`).toContain(end.status);
        expect(end.badOffset).toBe(start);
      }
    }
  });

  it('rejects files that are not recordings, and misuse, with coded errors', async () => {
    const other = join(dir, 'x.jmrl');
    await writeFile(other, 'definitely not a recording log');
    await expect(readRecording(other)).rejects.toMatchObject({ name: 'StorageError', code: StorageErrorCode.LOG_BAD_HEADER });
    await expect(repairRecording(other)).rejects.toMatchObject({ code: StorageErrorCode.LOG_BAD_HEADER });
    expect((await readFile(other, 'utf8')).length).toBe(30); // untouched

    const path = join(dir, 'b.jmrl');
    const log = await RecordingLog.create(path, { fsync: { mode: 'never' } });
    await expect(RecordingLog.create(path, { fsync: { mode: 'never' } })).rejects.toMatchObject({ code: StorageErrorCode.LOG_EXISTS });
    await expect(log.appendEncoded(Buffer.from([0x92, 0x01]))).rejects.toMatchObject({ code: StorageErrorCode.LOG_ENCODE });
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    await expect(log.append(cyclic)).rejects.toMatchObject({ code: StorageErrorCode.LOG_ENCODE });
    expect(log.stats.records).toBe(0);
    await log.finalize();
    await expect(log.append(frame(0))).rejects.toMatchObject({ code: StorageErrorCode.LOG_CLOSED });
    await expect(RecordingLog.resume(path, { fsync: { mode: 'never' } })).rejects.toMatchObject({ code: StorageErrorCode.LOG_FINALIZED });
  });
});

describe('fsync policies and the bounded queue', () => {
  it('batch: appends within the interval share one fsync, and each resolves only after its own sync', async () => {
    const log = await RecordingLog.create(join(dir, 'g.jmrl'), { fsync: { mode: 'batch', intervalMs: 5 } });
    const seen: Array<{ seq: number; durable: number; syncs: number }> = [];
    const track = (p: Promise<{ seq: number }>) => p.then((r) => seen.push({ seq: r.seq, durable: log.stats.durableRecords, syncs: log.stats.syncs }));
    await Promise.all(Array.from({ length: 50 }, (_, i) => track(log.append(frame(i)))));
    expect(log.stats.syncs).toBe(1);
    await Promise.all(Array.from({ length: 50 }, (_, i) => track(log.append(frame(50 + i)))));
    expect(log.stats.syncs).toBe(2);
    for (const s of seen) {
      expect(s.durable).toBeGreaterThan(s.seq);
      expect(s.syncs).toBe(s.seq < 50 ? 1 : 2);
    }
    await log.close();
  });

  it('always syncs every write batch; never does not sync', async () => {
    const a = await RecordingLog.create(join(dir, 'a.jmrl'), { fsync: { mode: 'always' } });
    for (let i = 0; i < 5; i++) await a.append(frame(i));
    expect(a.stats).toMatchObject({ writes: 5, syncs: 5, durableRecords: 5, pending: 0 });
    await a.close();
    const n = await RecordingLog.create(join(dir, 'n.jmrl'), { fsync: { mode: 'never' } });
    for (let i = 0; i < 5; i++) await n.append(frame(i));
    expect(n.stats).toMatchObject({ syncs: 0, durableRecords: 5 });
    await n.close();
  });

  it('rejects with LOG_BACKPRESSURE when the queue is full, writes none of the rejected, recovers after drain', async () => {
    const path = join(dir, 'q.jmrl');
    const log = await RecordingLog.create(path, { fsync: { mode: 'batch', intervalMs: 5 }, maxPendingRecords: 8 });
    const accepted = Array.from({ length: 8 }, (_, i) => log.append(frame(i)));
    const err = await log.append(frame(99)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe(StorageErrorCode.LOG_BACKPRESSURE);
    await Promise.all(accepted);
    await log.append(frame(8));
    await log.finalize();
    const { entries } = await readRecording(path);
    expectFrames(entries, 9);
  });
});

describe('recovery', () => {
  it('finds unfinished recordings, repairs and finalises them, leaves finished and foreign files alone', async () => {
    const { ends } = await writeLog(join(dir, 'torn.jmrl'), 5);
    await truncate(join(dir, 'torn.jmrl'), (ends[4] as number) - 3);
    await writeLog(join(dir, 'open.jmrl'), 3);
    const done = await RecordingLog.create(join(dir, 'done.jmrl'), { fsync: { mode: 'never' } });
    await done.append(frame(0));
    await done.finalize();
    await writeFile(join(dir, 'foreign.jmrl'), 'hello there, not a log at all');
    await writeFile(join(dir, 'notes.txt'), 'ignored');

    expect((await findUnfinished(dir)).map((p) => p.slice(dir.length + 1))).toEqual(['foreign.jmrl', 'open.jmrl', 'torn.jmrl']);
    const { recovered, failed } = await recoverRecordings(dir);
    expect(recovered.map((r) => [r.path.slice(dir.length + 1), r.records, r.truncatedBytes > 0])).toEqual([
      ['open.jmrl', 3, false],
      ['torn.jmrl', 4, true],
    ]);
    expect(failed.map((f) => [f.path.slice(dir.length + 1), f.error.code])).toEqual([['foreign.jmrl', StorageErrorCode.LOG_BAD_HEADER]]);
    expect((await findUnfinished(dir)).map((p) => p.slice(dir.length + 1))).toEqual(['foreign.jmrl']);
    const torn = await readRecording(join(dir, 'torn.jmrl'));
    expect(torn.end.status).toBe('complete');
    expectFrames(torn.entries, 4);
    const sha = createHash('sha256')
      .update(await readFile(join(dir, 'torn.jmrl')))
      .digest('hex');
    expect(recovered[1]?.sha256).toBe(sha);
  });
});
