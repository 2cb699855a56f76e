// Entry of the task-pack process (started and reused by ./taskpack-builder.ts, at background priority):
// builds one pack at a time, for as many builds as it is sent. Everything heavy about a pack happens
// here, not in the process that answers frames: fetching and verifying the recording, stages 0–9, and
// storing the pack's files (megabytes per pack) into the artifact store, which this process opens
// itself (the same disk directory, or its own NATS connection). The caller gets back only what its index
// entry needs. Measured on `serve` before this moved here: reading every pack file into the frame
// process and forking one process per build stalled its event loop for 10–45 ms at a time (GC of the
// files' buffers, the synchronous fork), which is what live p99 felt while packs were built.
import { connect } from '@nats-io/transport-node';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { DiskArtifactStore } from '../../storage/disk-artifact-store.js';
import { fileSha256 } from '../../storage/file-hash.js';
import { NatsArtifactStore } from '../../storage/nats-artifact-store.js';
import { buildTaskPack } from '../../taskpack/build-taskpack.js';
import { JobError, JobErrorCode } from '../errors.js';
import { backgroundStart } from '../host-port.js';
import { toWire, type ArtifactsSpec } from '../job-thread-protocol.js';
import { createPacer } from '../pacer.js';
import type { FromPackProcess, PackBuild, StoredPack, ToPackProcess } from './taskpack-protocol.js';

const start = backgroundStart<{ artifacts: ArtifactsSpec }>();
if (!start) throw new Error('taskpack-process.ts runs only as a background process (./taskpack-builder.ts starts it)');
const { port } = start;
const spec = start.data.artifacts;
const post = (m: FromPackProcess): void => port.postMessage(m);
const pacer = createPacer();
const pace = (): Promise<void> => pacer.pace();

let store: Promise<ArtifactStore> | undefined;
const artifacts = (): Promise<ArtifactStore> =>
  (store ??= (async () => {
    if (spec.kind === 'disk') return DiskArtifactStore.open(spec.dir);
    const nc = await connect({ servers: [...spec.servers], name: 'jepa-motion-taskpack-process', maxReconnectAttempts: -1 });
    return NatsArtifactStore.open(nc);
  })());

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

async function buildAndStore(b: PackBuild, buildId: number): Promise<StoredPack> {
  const store = await artifacts();
  const sleptBefore = pacer.sleptMs;
  await mkdir(b.scratch, { recursive: true });
  // The key's file name keeps the recording's extension: it says which adapter reads it.
  const recordingPath = join(b.scratch, basename(b.recordingKey));
  await writeFile(recordingPath, await store.get(b.recordingKey));
  if ((await fileSha256(recordingPath)) !== b.recordingSha256)
    throw new JobError(JobErrorCode.HANDLER, `recording ${b.recordingKey} does not match its SHA-256 ${b.recordingSha256}`, { permanent: true });
  const out = join(b.scratch, 'pack');
  const r = await buildTaskPack({
    recordingPath,
    out,
    model: b.model,
    patient: b.patient,
    session: b.session,
    clinic: b.clinic,
    onProgress: (stage) => post({ type: 'progress', buildId, stage }),
    pace,
  });
  const files: Record<string, string> = {};
  for (const f of await walk(out)) {
    const rel = relative(out, f).split('\\').join('/');
    files[rel] = `${b.filesPrefix}${rel}`;
    await store.put(files[rel], await readFile(f));
    post({ type: 'working', buildId });
    await pace();
  }
  const read = async (rel: string): Promise<unknown> => JSON.parse(await readFile(join(out, rel), 'utf8')) as unknown;
  return {
    id: r.id,
    assessment: r.assessment,
    seconds: r.seconds,
    files,
    metrics: ((await read('9-task-pack/metrics.json')) as { metrics: unknown }).metrics,
    counterfactuals: ((await read('7-planning/counterfactuals.json')) as { plans: StoredPack['counterfactuals'] }).plans,
    sleptMs: Math.round(pacer.sleptMs - sleptBefore),
  };
}

// One build at a time: the builder sends the next only after this one's answer.
port.on('message', (m: ToPackProcess) => {
  if (m.type === 'pace') return pacer.setDuty(m.duty);
  buildAndStore(m.build, m.buildId).then(
    (stored) => post({ type: 'done', buildId: m.buildId, stored }),
    (error: unknown) => post({ type: 'failed', buildId: m.buildId, error: toWire(error) }),
  );
});
post({ type: 'ready' });
