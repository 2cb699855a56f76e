// Runs the shared ArtifactStore suite against a NATS object store on a private nats-server, then the
// listing index (list(prefix) reads the KV index, not the whole bucket).
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsArtifactStore, indexBucketOf, indexKeyOf } from '../../../src/storage/nats-artifact-store.js';
import { startNatsServer, type NatsServerHandle } from '../jobs/nats-server.js';
import { artifactStoreSuite } from './artifact-store.suite.js';

let server: NatsServerHandle;
let nc: NatsConnection;
let n = 0;
beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
});
afterAll(async () => {
  await nc?.close();
  await server?.dispose();
});

const destroy = async (bucket: string): Promise<void> => {
  await new Objm(nc).open(bucket).then((os) => os.destroy());
  await new Kvm(nc).open(indexBucketOf(bucket)).then((kv) => kv.destroy());
};

artifactStoreSuite('NATS object store', async ({ maxBytes }) => {
  const bucket = `artifacts-test-${++n}`;
  return { store: await NatsArtifactStore.open(nc, { bucket, maxBytes }), dispose: () => destroy(bucket) };
});

describe('NATS artifact store listing index', () => {
  const bytes = new TextEncoder().encode('x');

  it('lists exactly the keys under a prefix among many under others', async () => {
    const bucket = `artifacts-index-${++n}`;
    const store = await NatsArtifactStore.open(nc, { bucket });
    try {
      const keys: string[] = [];
      for (const top of ['recordings', 'finished', 'history']) {
        for (const clinic of ['north', 'northeast', 'south']) {
          for (let i = 0; i < 20; i++) keys.push(`${top}/${clinic}/s-${String(i).padStart(2, '0')}.v=1.jmrl`);
        }
      }
      keys.push('recordings', 'recordingsX/a', 'recordings/north/deep/er/key.json');
      for (const k of keys) await store.put(k, bytes);
      const under = (p: string) => keys.filter((k) => k.startsWith(p)).sort();

      expect(await store.list('recordings/north/')).toEqual(under('recordings/north/'));
      expect(await store.list('recordings/north/')).toHaveLength(21);
      // A plain string prefix: a partial last segment matches like startsWith.
      expect(await store.list('recordings/north')).toEqual(under('recordings/north'));
      expect(await store.list('recordings/north/s-1')).toEqual(under('recordings/north/s-1'));
      expect(await store.list('recordings')).toEqual(under('recordings'));
      expect(await store.list('finished/south/s-05.v=1.jmrl')).toEqual(['finished/south/s-05.v=1.jmrl']);
      expect(await store.list('')).toEqual([...keys].sort());
      expect(await store.list('recordings//')).toEqual([]);
      // A second put of a key lists it once.
      await store.put('history/south/s-00.v=1.jmrl', bytes);
      expect(await store.list('history/south/')).toEqual(under('history/south/'));
    } finally {
      await destroy(bucket);
    }
  }, 60_000);

  it('reads the index, not the bucket: objects stored before the index are indexed once at open, ones stored around it are not listed', async () => {
    const bucket = `artifacts-legacy-${++n}`;
    const raw = await new Objm(nc).create(bucket);
    try {
      // A bucket from before the index: its objects are found by the first open.
      await raw.putBlob({ name: 'recordings/north/old-1.jmrl' }, bytes);
      await raw.putBlob({ name: 'taskpacks/north/old.json' }, bytes);
      const store = await NatsArtifactStore.open(nc, { bucket });
      expect(await store.list('recordings/')).toEqual(['recordings/north/old-1.jmrl']);
      // Written past the store (no index entry): invisible to list, so list never walks the bucket.
      await raw.putBlob({ name: 'recordings/north/bypass.jmrl' }, bytes);
      expect(await store.has('recordings/north/bypass.jmrl')).toBe(true);
      expect(await store.list('recordings/north/')).toEqual(['recordings/north/old-1.jmrl']);
      // A later open does not rebuild (the index is marked built).
      const again = await NatsArtifactStore.open(nc, { bucket });
      expect(await again.list('recordings/north/')).toEqual(['recordings/north/old-1.jmrl']);
      await again.put('recordings/north/new.jmrl', bytes);
      expect(await store.list('recordings/north/')).toEqual(['recordings/north/new.jmrl', 'recordings/north/old-1.jmrl']);
    } finally {
      await destroy(bucket);
    }
  }, 60_000);

  it('escapes dots and equals signs inside a segment', () => {
    expect(indexKeyOf('a/b.c=d/e')).toBe('a.b=2Ec=3Dd.e');
  });
});
