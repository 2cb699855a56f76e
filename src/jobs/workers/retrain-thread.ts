// Entry of a retrain process (started by src/jobs/job-host.ts at background priority): runs one
// coalesced batch at a time with its own tfjs runtime, so training never blocks the thread that answers
// frames. The model registry
// and notifications stay with the main thread (one owner, one watch for hot swaps) and are reached
// through calls on the parent port; artifacts are read and written directly.
import { connect } from '@nats-io/transport-node';
import type { Logger, LogFields } from '../../logger.js';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { DiskArtifactStore } from '../../storage/disk-artifact-store.js';
import type { ModelRef } from '../../storage/model-registry.js';
import { NatsArtifactStore } from '../../storage/nats-artifact-store.js';
import { fromWire, toWire, wireFields, type Call, type FromThread, type RetrainThreadInit, type ToThread } from '../job-thread-protocol.js';
import { backgroundStart } from '../host-port.js';
import { createPacer } from '../pacer.js';
import { createRetrainDeps, retrainBatch } from './retrain-worker.js';

const start = backgroundStart<{ init: RetrainThreadInit }>();
if (!start) throw new Error('retrain-thread.ts runs only as a background process (src/jobs/job-host.ts starts it)');
const { port } = start;
const init = start.data.init;
const post = (m: FromThread): void => port.postMessage(m);

let nextReq = 1;
const calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
const call = (c: Call): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const reqId = nextReq++;
    calls.set(reqId, { resolve, reject });
    post({ type: 'call', reqId, ...c });
  });

const log =
  (level: 'debug' | 'info' | 'warn' | 'error') =>
  (msg: string, fields?: LogFields): void => {
    const f = wireFields(fields);
    post({ type: 'log', level, msg, ...(f ? { fields: f } : {}) });
  };
const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };

if (start.lowered > 0) logger.debug('retrain process priority lowered', { pid: process.pid, threads: start.lowered, nice: start.nice, schedIdle: start.idle });
else logger.warn('retrain process threads keep their priority (no /proc here)', { pid: process.pid });

const aborts = new Map<number, AbortController>();
const pacer = createPacer();

port.on('message', (m: ToThread) => {
  if (m.type === 'reply') {
    const c = calls.get(m.reqId);
    calls.delete(m.reqId);
    if (m.ok) c?.resolve(m.value);
    else c?.reject(fromWire(m.error));
  } else if (m.type === 'pace') {
    pacer.setDuty(m.duty);
    logger.debug('retrain pacing', { duty: m.duty });
  } else if (m.type === 'abort') {
    aborts.get(m.batchId)?.abort(new Error('batch aborted by the job host (deadline or stop)'));
  } else {
    void runBatch(m.batchId, m.jobs);
  }
});

async function openArtifacts(): Promise<ArtifactStore> {
  if (init.artifacts.kind === 'disk') return DiskArtifactStore.open(init.artifacts.dir);
  const nc = await connect({ servers: [...init.artifacts.servers], name: 'jepa-motion-retrain-thread', maxReconnectAttempts: -1 });
  return NatsArtifactStore.open(nc);
}

const depsReady = (async () => {
  const artifacts = await openArtifacts();
  return createRetrainDeps(init.settings, {
    artifacts,
    logger,
    pace: () => pacer.pace(),
    registry: {
      get: async (patientId) => (await call({ op: 'registry.get', patientId })) as ModelRef | undefined,
      register: async (patientId, ref) => void (await call({ op: 'registry.register', patientId, ref })),
    },
    notices: {
      notify: async (subject, payload, { id }) => (await call({ op: 'notify', subject, payload, id })) as 'sent' | 'dropped',
    },
  });
})();

depsReady.then(
  (deps) => post({ type: 'ready', backend: deps.backend }),
  (error: unknown) => post({ type: 'init-failed', error: toWire(error) }),
);

async function runBatch(batchId: number, jobs: Parameters<typeof retrainBatch>[1]): Promise<void> {
  const ctl = new AbortController();
  aborts.set(batchId, ctl);
  const sleptBefore = pacer.sleptMs;
  try {
    const failures = await retrainBatch(await depsReady, jobs, ctl.signal);
    post({ type: 'done', batchId, failures: [...failures].map(([id, e]) => [id, toWire(e)] as const) });
  } catch (error) {
    post({ type: 'done', batchId, failures: jobs.map((j) => [j.id, toWire(error)] as const) });
  } finally {
    aborts.delete(batchId);
    const slept = pacer.sleptMs - sleptBefore;
    if (slept > 0) logger.debug('retrain batch paced', { batchId, duty: pacer.duty, sleptMs: Math.round(slept) });
  }
}
