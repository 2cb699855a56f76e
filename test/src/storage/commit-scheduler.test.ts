import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommitScheduler } from '../../../src/storage/commit-scheduler.js';
import { RecordingLog } from '../../../src/storage/recording-log.js';
import { readRecording } from '../../../src/storage/recording-reader.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'commits-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const frame = (seq: number) => ({ type: 'frame', seq, t: seq / 60 });

describe('CommitScheduler', () => {
  it('commits every dirty log on one tick; each append resolves only after its own log is durable', async () => {
    const scheduler = new CommitScheduler(20);
    const events: string[] = [];
    const open = (name: string) =>
      RecordingLog.create(join(dir, `${name}.jmrl`), {
        fsync: { mode: 'batch', intervalMs: 20 },
        scheduler,
        onDurable: (e) => events.push(`durable ${name} ${e.durableRecords}`),
      });
    const logs = { a: await open('a'), b: await open('b'), c: await open('c') };
    const appends = Object.entries(logs).flatMap(([name, log]) =>
      Array.from({ length: 5 }, (_, i) => log.append(frame(i)).then((r) => void events.push(`ack ${name} ${r.seq}`))),
    );
    await Promise.all(appends);
    expect(scheduler.stats).toEqual({ ticks: 1, commits: 3 });
    for (const log of Object.values(logs)) expect(log.stats).toMatchObject({ syncs: 1, writes: 1, durableRecords: 5 });
    // Acks never precede durability: each `ack name seq` comes after a `durable name n` with n > seq.
    for (const [i, e] of events.entries()) {
      const [kind, name, n] = e.split(' ');
      if (kind !== 'ack') continue;
      const covered = events.slice(0, i).some((d) => d.startsWith(`durable ${name} `) && Number(d.split(' ')[2]) > Number(n));
      expect(covered, `${e} before its commit: ${events.join(', ')}`).toBe(true);
    }
    // A later append starts the next interval: a second tick, for the one dirty log only.
    await logs.b.append(frame(5));
    expect(scheduler.stats).toEqual({ ticks: 2, commits: 4 });
    for (const log of Object.values(logs)) await log.finalize();
    expect((await readRecording(join(dir, 'b.jmrl'))).entries).toHaveLength(6);
  });

  it('a log finalised while waiting for the tick flushes itself and leaves the scheduler', async () => {
    const scheduler = new CommitScheduler(60_000);
    const log = await RecordingLog.create(join(dir, 'f.jmrl'), { fsync: { mode: 'batch', intervalMs: 60_000 }, scheduler });
    const pending = log.append(frame(0));
    const result = await log.finalize();
    await pending;
    expect(result.records).toBe(1);
    expect(scheduler.stats).toEqual({ ticks: 0, commits: 0 });
  });

  it('rejects a non-positive interval', () => {
    expect(() => new CommitScheduler(0)).toThrow(RangeError);
  });
});
