// Runs the shared ArtifactStore suite against a NATS object store on a private nats-server.
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll } from 'vitest';
import { NatsArtifactStore } from '../../../src/storage/nats-artifact-store.js';
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

artifactStoreSuite('NATS object store', async ({ maxBytes }) => {
  const bucket = `artifacts-test-${++n}`;
  return {
    store: await NatsArtifactStore.open(nc, { bucket, maxBytes }),
    dispose: async () => {
      await new Objm(nc).open(bucket).then((os) => os.destroy());
    },
  };
});
