// The shared ModelRegistry suite against NATS KV on a private nats-server, with two connections
// standing in for two server nodes.
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { firstValueFrom, filter } from 'rxjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { StorageErrorCode } from '../../../src/storage/errors.js';
import { NatsModelRegistry } from '../../../src/storage/nats-model-registry.js';
import { within } from '../jobs/deferred.js';
import { startNatsServer, type NatsServerHandle } from '../jobs/nats-server.js';
import { modelRegistrySuite, ref } from './model-registry.suite.js';

let server: NatsServerHandle;
let nc1: NatsConnection;
let nc2: NatsConnection;
let n = 0;
beforeAll(async () => {
  server = await startNatsServer();
  nc1 = await connect({ servers: server.url });
  nc2 = await connect({ servers: server.url });
});
afterAll(async () => {
  await nc1?.close();
  await nc2?.close();
  await server?.dispose();
});

const fresh = async () => {
  const bucket = `models-test-${++n}`;
  return {
    bucket,
    a: await NatsModelRegistry.open(nc1, { bucket }),
    b: await NatsModelRegistry.open(nc2, { bucket }),
    dispose: async () => {
      await new Kvm(nc1).open(bucket).then((kv) => kv.destroy());
    },
  };
};

modelRegistrySuite('NATS KV', fresh);

it('a malformed entry written by someone else fails get() with a code, and is skipped by list() and watch()', async () => {
  const f = await fresh();
  try {
    const kv = await new Kvm(nc1).open(f.bucket);
    await kv.put('bad', 'not json at all');
    await kv.put('worse', JSON.stringify({ id: 'x', version: 'one' }));
    await f.a.register('good', ref(1));
    await expect(f.b.get('bad')).rejects.toMatchObject({ code: StorageErrorCode.REGISTRY_MALFORMED });
    await expect(f.b.get('worse')).rejects.toMatchObject({ code: StorageErrorCode.REGISTRY_MALFORMED });
    expect(await f.b.list()).toEqual([{ patientId: 'good', ref: ref(1) }]);
    const next = firstValueFrom(f.b.watch().pipe(filter((u) => u.ref.version === 2)));
    await kv.put('good', 'garbage again');
    await f.a.register('other', ref(2));
    expect(await within(next, 5_000, 'update after malformed one')).toEqual({ patientId: 'other', ref: ref(2) });
  } finally {
    await f.dispose();
  }
});
