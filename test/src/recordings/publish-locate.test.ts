// Publishing a finalised recording (retries, integrity) and finding it again from another node.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/logger.js';
import { RecordingError, RecordingErrorCode } from '../../../src/recordings/errors.js';
import { locateRecording } from '../../../src/recordings/locate-recording.js';
import { createRecordingPublisher } from '../../../src/recordings/publish-recording.js';
import { DiskRecordingStore } from '../../../src/sessions/recording-store.js';
import type { ArtifactStore } from '../../../src/storage/artifact-store.js';
import { DiskArtifactStore } from '../../../src/storage/disk-artifact-store.js';
import { StorageError, StorageErrorCode } from '../../../src/storage/errors.js';
import { checkpointId, historyKey, keySegment, recordingKey, retrainResultKey, taskpackKey } from '../../../src/storage/keys.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** An artifact store whose first `failures` puts fail like a NATS failover. */
function flaky(inner: ArtifactStore, failures: number): ArtifactStore & { puts: number } {
  let left = failures;
  const s = {
    puts: 0,
    put: async (key: string, body: Parameters<ArtifactStore['put']>[1]) => {
      s.puts += 1;
      if (left-- > 0) throw new StorageError(StorageErrorCode.ARTIFACT_IO, 'no responders');
      return inner.put(key, body);
    },
    get: (k: string) => inner.get(k),
    has: (k: string) => inner.has(k),
    list: (p: string) => inner.list(p),
  };
  return s;
}

describe('recording publish and locate', () => {
  let dir: string;
  let file: string;
  let bytes: Uint8Array;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-publish-'));
    file = join(dir, 's1.jmrl');
    bytes = new TextEncoder().encode('recording bytes '.repeat(1000));
    await writeFile(file, bytes);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keys: one layout, ids escaped so none adds a level', () => {
    expect(recordingKey('north', 's/1')).toBe('recordings/north/s=2f1.jmrl');
    expect(checkpointId('north', 'p-1', 3)).toBe('models/north/p-1/v3');
    expect(taskpackKey('north', 'tp.1')).toBe('taskpacks/north/tp.1.json');
    expect(retrainResultKey('assessment.completed.s1')).toBe('retrain/results/assessment.completed.s1.json');
    expect(historyKey('p1', new Date('2026-12-07T03:00:00.123Z'), 's1')).toBe('retrain/p1/features/20261207T030000Z-s1.npz');
    expect(keySegment('../x')).toBe('x..=2fx');
  });

  it('retries a failing store with doubling delays, then stores the exact bytes', async () => {
    const store = flaky(await DiskArtifactStore.open(join(dir, 'a1')), 2);
    const delays: number[] = [];
    const p = createRecordingPublisher(store, { firstDelayMs: 100, sleep: async (ms) => void delays.push(ms) });
    const r = await p.publish({ clinic: 'north', sessionId: 's1', path: file, sha256: sha(bytes) });
    expect(r).toEqual({ key: 'recordings/north/s1.jmrl', size: bytes.length });
    expect(delays).toEqual([100, 200]);
    expect(await store.get(r.key)).toEqual(new Uint8Array(bytes));
  });

  it('gives up with RECORDING_PUBLISH_FAILED after its attempts, and refuses bytes that are not the finalised ones', async () => {
    const store = flaky(await DiskArtifactStore.open(join(dir, 'a2')), 99);
    const p = createRecordingPublisher(store, { attempts: 3, sleep: async () => undefined });
    await expect(p.publish({ clinic: 'north', sessionId: 's1', path: file, sha256: sha(bytes) })).rejects.toMatchObject({
      name: 'RecordingError',
      code: RecordingErrorCode.PUBLISH_FAILED,
    });
    expect(store.puts).toBe(3);
    const ok = createRecordingPublisher(await DiskArtifactStore.open(join(dir, 'a3')), { sleep: async () => undefined });
    await expect(ok.publish({ clinic: 'north', sessionId: 's1', path: file, sha256: '0'.repeat(64) })).rejects.toMatchObject({
      code: RecordingErrorCode.MISMATCH,
    });
  });

  it('the server store publishes on finalise, before it resolves', async () => {
    const artifacts = await DiskArtifactStore.open(join(dir, 'a4'));
    const publisher = createRecordingPublisher(artifacts);
    const store = new DiskRecordingStore({ dir: join(dir, 'recs'), fsync: { mode: 'never' }, publish: (r) => publisher.publish(r) }, silentLogger);
    const sink = await store.open('s9', { sessionId: 's9', clinic: 'south' });
    await sink.append(new Uint8Array([0x80]));
    const fin = await sink.finalize();
    const stored = await artifacts.get(recordingKey('south', 's9'));
    expect(sha(stored)).toBe(fin.sha256);
    expect(stored).toEqual(new Uint8Array(await readFile(fin.location)));
  });

  it('crash recovery publishes the recordings it finalises, and reports those it could not publish as failed', async () => {
    const recs = join(dir, 'crashed');
    const crashed = new DiskRecordingStore({ dir: recs, fsync: { mode: 'always' } }, silentLogger);
    const sink = await crashed.open('s7', { sessionId: 's7', clinic: 'east', patientId: 'p7', assessment: 'gait', fps: 60, startedAt: 0, model: {} });
    await sink.append(new Uint8Array([0x80])); // never finalised: the process "died" here
    const artifacts = await DiskArtifactStore.open(join(dir, 'a6'));
    const publisher = createRecordingPublisher(artifacts);
    const restarted = new DiskRecordingStore({ dir: recs, fsync: { mode: 'always' }, publish: (r) => publisher.publish(r) }, silentLogger);
    const { recovered, failed } = await restarted.recover(Date.now());
    expect(failed).toEqual([]);
    expect(recovered.map((r) => r.meta.sessionId)).toEqual(['s7']);
    expect(sha(await artifacts.get(recordingKey('east', 's7')))).toBe(recovered[0]!.sha256);

    const sink2 = await crashed.open('s8', { sessionId: 's8', clinic: 'east', patientId: 'p8', assessment: 'gait', fps: 60, startedAt: 0, model: {} });
    await sink2.append(new Uint8Array([0x80]));
    const down = createRecordingPublisher(flaky(artifacts, 99), { attempts: 2, sleep: async () => undefined });
    const noStore = new DiskRecordingStore({ dir: recs, fsync: { mode: 'always' }, publish: (r) => down.publish(r) }, silentLogger);
    const second = await noStore.recover(Date.now());
    expect(second.recovered).toEqual([]);
    expect(second.failed).toEqual([join(recs, 's8.jmrl')]);
  });

  it('locates from the artifact store first (a temp copy, released), else the local path, else RECORDING_NOT_FOUND', async () => {
    const artifacts = await DiskArtifactStore.open(join(dir, 'a5'));
    const tmp = join(dir, 'tmp');
    await createRecordingPublisher(artifacts).publish({ clinic: 'north', sessionId: 's1', path: file, sha256: sha(bytes) });
    const fromStore = await locateRecording(artifacts, { clinic: 'north', sessionId: 's1', path: join(dir, 'elsewhere.jmrl') }, tmp);
    expect(fromStore.source).toBe('artifact-store');
    expect(new Uint8Array(await readFile(fromStore.path))).toEqual(new Uint8Array(bytes));
    await fromStore.release();
    expect(await readdir(tmp)).toEqual([]);

    const local = await locateRecording(artifacts, { clinic: 'north', sessionId: 'unpublished', path: file }, tmp);
    expect(local).toMatchObject({ source: 'local', path: file });

    await mkdir(join(dir, 'nowhere'), { recursive: true });
    const missing = await locateRecording(artifacts, { clinic: 'north', sessionId: 'gone', path: join(dir, 'nowhere', 'gone.jmrl') }, tmp).catch(
      (e: unknown) => e,
    );
    expect(missing).toBeInstanceOf(RecordingError);
    expect((missing as RecordingError).code).toBe(RecordingErrorCode.NOT_FOUND);
  });
});
