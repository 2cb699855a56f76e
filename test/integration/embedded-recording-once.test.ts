// Embedded mode keeps a session's recording once: the disk artifact store's copy is a hard link to the
// recording the server wrote (publishing wired as `serve` wires it), not a second file.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createRecordingPublisher } from '../../src/recordings/publish-recording.js';
import { recordingKey } from '../../src/storage/keys.js';
import { DiskArtifactStore } from '../../src/storage/disk-artifact-store.js';
import { Client, HELLO, startServer, syntheticFrame, token } from '../src/transport/harness.js';

it('after a session the recording is on disk once, under the recordings dir and the artifact key', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'jm-embedded-once-'));
  const publisher = createRecordingPublisher(await DiskArtifactStore.open(join(dataDir, 'artifacts')));
  const h = await startServer({ dataDir, deps: { publishRecording: (r) => publisher.publish(r) } });
  try {
    const c = await Client.connect(h.ws, 'ingest', token({ clinic: 'c1', role: 'device', patient: 'p1' }));
    c.send(HELLO);
    await c.until('ready', () => c.of('ready').length === 1);
    for (let seq = 0; seq < 30; seq++) c.send(syntheticFrame(seq));
    await c.until('acks', () => c.of('ack').some((a) => a.seq >= 29));
    c.send({ type: 'end' });
    await c.until('ended', () => c.of('ended').length + c.of('error').length > 0, 20_000);
    expect(c.of('error')).toEqual([]);
    const sessionId = c.of('ended')[0]!.sessionId;
    await c.close();

    const recording = join(h.dataDir, 'recordings', `${sessionId}.jmrl`);
    const artifact = join(h.dataDir, 'artifacts', recordingKey('c1', sessionId));
    const [a, b] = [await stat(recording), await stat(artifact)];
    expect(b.ino).toBe(a.ino);
    expect(a.nlink).toBe(2);
    // Nowhere else under the data dir does a file of the recording's size hold another copy.
    const files = (await readdir(h.dataDir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile() && d.name.endsWith('.jmrl'));
    const inodes = new Set(await Promise.all(files.map(async (d) => (await stat(join(d.parentPath, d.name))).ino)));
    expect(inodes).toEqual(new Set([a.ino]));
  } finally {
    await h.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
