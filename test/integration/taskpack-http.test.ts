// Task packs over HTTP on a real server (uWS, real sockets): a pack built by the taskpack job from a
// real recording is listed per patient, fetched as JSON and as its report, only by therapists/admins of
// its clinic, and answers a counterfactual goal with the planned change and its uncertainty. Opening the
// report (only that, only for its clinic) prepares the pack on the counterfactual thread, so the
// question that follows reads none of its files; a failing preparation does not change the report.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../models/checkpoint.js';
import { SHIPPED_MODEL_DIR } from '../../src/config.js';
import { createInProcessBus } from '../../src/jobs/in-process-bus.js';
import { JobSubject } from '../../src/jobs/job-bus.js';
import { startTaskpackWorker } from '../../src/jobs/workers/taskpack-worker.js';
import { sha256 } from '../../src/pipeline/manifest.js';
import type { ArtifactStore } from '../../src/storage/artifact-store.js';
import { DiskArtifactStore } from '../../src/storage/disk-artifact-store.js';
import { createTaskpackService, type TaskpackService } from '../../src/taskpack/taskpack-service.js';
import { startTestServer, token, type TestServer } from '../clients/fixture.js';
import { deferred, within } from '../src/jobs/deferred.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';

const WALK = motion('shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d');

describe.runIf(hasMotionData)('task packs over HTTP', () => {
  let dir: string;
  let srv: TestServer;
  let service: TaskpackService;
  let id: string;
  let statesReads = 0;
  const preparations: Promise<unknown>[] = [];
  const therapist = token({ clinic: 'clinic-1', role: 'therapist' });
  const get = (path: string, tok = therapist) => fetch(`${srv.http}${path}`, { headers: { authorization: `Bearer ${tok}` } });
  const post = (path: string, body: string, tok = therapist) =>
    fetch(`${srv.http}${path}`, { method: 'POST', headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' }, body });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-tp-http-'));
    const artifacts = await DiskArtifactStore.open(join(dir, 'artifacts'));
    const bytes = await readFile(WALK);
    await artifacts.put('recordings/clinic-1/s-1.c3d', bytes);
    const bus = createInProcessBus();
    const stored = deferred<string>();
    const base = await loadCheckpoint(SHIPPED_MODEL_DIR);
    const w = await startTaskpackWorker({
      bus,
      artifacts,
      artifactsSpec: { kind: 'disk', dir: join(dir, 'artifacts') },
      registry: { get: async () => undefined },
      notices: { notify: async (_s, p) => (stored.resolve((p as { taskpackId: string }).taskpackId), 'sent') },
      baseCheckpointDir: SHIPPED_MODEL_DIR,
      baseVersion: `weights:${base.weightsSha256.slice(0, 16)}`,
      modelsDir: join(dir, 'models'),
      workDir: join(dir, 'work'),
    });
    await bus.publish(
      JobSubject.TASKPACK_REQUESTED,
      {
        jobId: 'taskpack.s-1',
        clinic: 'clinic-1',
        patientId: 'patient-1',
        sessionId: 's-1',
        recordingKey: 'recordings/clinic-1/s-1.c3d',
        recordingSha256: sha256(bytes),
        assessment: 'gait',
        model: { id: 'pretrained', kind: 'pretrained', version: '1' },
      },
      { id: 'tp-s-1' },
    );
    id = await within(stored.promise, 240_000, 'task pack stored');
    await w.stop();
    await bus.close();
    // Counts reads of the pack's stage-2 states: the file a counterfactual question needs loaded.
    const counted: ArtifactStore = {
      put: (k, b) => artifacts.put(k, b),
      get: (k) => {
        if (k.endsWith('/states.npz')) statesReads += 1;
        return artifacts.get(k);
      },
      has: (k) => artifacts.has(k),
      list: (k) => artifacts.list(k),
    };
    service = createTaskpackService({ artifacts: counted, baseCheckpointDir: SHIPPED_MODEL_DIR, modelsDir: join(dir, 'models') });
    const prepare = (clinic: string, pack: string) => {
      const p = service.prepare(clinic, pack);
      preparations.push(p);
      return p;
    };
    srv = await startTestServer({ deps: { taskpacks: { ...service, prepare } } });
  }, 300_000);
  afterAll(async () => {
    await service?.close();
    await srv?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('opening the report prepares the pack, so the question after it reads none of its files', async () => {
    expect((await service.counterfactualStats()).packs).not.toContain(id);
    // Another clinic's request, and the JSON index (the dashboard fetches it per listed pack), prepare nothing.
    expect((await get(`/v1/taskpacks/${id}/report`, token({ clinic: 'clinic-2', role: 'therapist' }))).status).toBe(404);
    expect((await get(`/v1/taskpacks/${id}`)).status).toBe(200);
    expect(preparations).toHaveLength(0);
    expect((await get(`/v1/taskpacks/${id}/report`)).status).toBe(200);
    expect(preparations).toHaveLength(1);
    expect(await within(preparations[0]!, 120_000, 'the pack prepared')).toBe('loaded');
    const stats = await service.counterfactualStats();
    expect(stats.packs).toContain(id);
    expect(stats.loads[id]!.warmMs).toBeGreaterThan(0); // the report's own questions were planned once
    const reads = statesReads;
    expect(reads).toBe(1);
    const r = await post(`/v1/taskpacks/${id}/counterfactual`, JSON.stringify({ quantity: 'knee_flexion_l', phase: 'mid_stance', delta_deg: 3 }));
    expect(r.status).toBe(200);
    expect(statesReads).toBe(reads);
    // Opened again: the thread holds it already; nothing is read or loaded.
    expect((await get(`/v1/taskpacks/${id}/report`)).status).toBe(200);
    expect(await preparations[1]).toBe('held');
    expect(statesReads).toBe(reads);
  }, 180_000);

  it('a preparation that throws or fails does not change the report', async () => {
    const expected = await (await get(`/v1/taskpacks/${id}/report`)).text();
    await Promise.all(preparations);
    for (const prepare of [
      () => {
        throw new Error('prepare threw');
      },
      () => Promise.reject(new Error('prepare failed')),
    ]) {
      const other = await startTestServer({ deps: { taskpacks: { ...service, prepare } } });
      try {
        const r = await fetch(`${other.http}/v1/taskpacks/${id}/report`, { headers: { authorization: `Bearer ${therapist}` } });
        expect(r.status).toBe(200);
        expect(await r.text()).toBe(expected);
      } finally {
        await other.close();
      }
    }
  });

  it('lists the pack for its patient only, and only in its clinic', async () => {
    const all = await (await get('/v1/taskpacks')).json();
    expect(all.taskpacks.map((t: { id: string }) => t.id)).toEqual([id]);
    expect((await (await get('/v1/taskpacks?patient=patient-1')).json()).taskpacks).toHaveLength(1);
    expect((await (await get('/v1/taskpacks?patient=patient-2')).json()).taskpacks).toHaveLength(0);
    const other = token({ clinic: 'clinic-2', role: 'admin' });
    expect((await (await get('/v1/taskpacks', other)).json()).taskpacks).toHaveLength(0);
    expect((await get(`/v1/taskpacks/${id}`, other)).status).toBe(404);
    expect((await get(`/v1/taskpacks/${id}/report`, other)).status).toBe(404);
    expect((await get('/v1/taskpacks', token({ clinic: 'clinic-1', role: 'device', patient: 'patient-1' }))).status).toBe(403);
  });

  it('serves the index entry and the report', async () => {
    const tp = await (await get(`/v1/taskpacks/${id}`)).json();
    expect(tp).toMatchObject({ id, clinic: 'clinic-1', patientId: 'patient-1', sessionId: 's-1', assessment: 'gait' });
    const r = await get(`/v1/taskpacks/${id}/report`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/html');
    const html = await r.text();
    expect(html).toContain('patient <b>patient-1</b> · session <b>s-1</b>');
    expect(html).toContain('<svg');
  });

  it('answers a counterfactual goal with the planned change and its uncertainty', async () => {
    const r = await post(`/v1/taskpacks/${id}/counterfactual`, JSON.stringify({ quantity: 'knee_flexion_r', phase: 'mid_stance', delta_deg: 5 }));
    expect(r.status).toBe(200);
    const a = await r.json();
    expect(a).toMatchObject({
      taskpack: id,
      patientId: 'patient-1',
      sessionId: 's-1',
      goal: { quantity: 'knee_flexion_r', phase: 'mid_stance', requested: 5, unit: 'deg' },
    });
    expect(a.held_back.change).toBeGreaterThan(2.5);
    expect(a.held_back.uncertainty_sd).toBeGreaterThanOrEqual(0);
    const asym = a.metrics.find((m: { quantity: string }) => m.quantity === 'step_time_asymmetry');
    expect(asym).toMatchObject({ unit: '%' });
    expect(a.trajectory).toBeUndefined(); // per-frame arrays stay server-side
  });

  it('refuses bad goals with a code', async () => {
    expect((await post(`/v1/taskpacks/${id}/counterfactual`, '{"quantity":"elbow","delta":1}')).status).toBe(400);
    expect((await post(`/v1/taskpacks/${id}/counterfactual`, '{"quantity":"knee_flexion_r","delta_m":0.1}')).status).toBe(400);
    expect((await post(`/v1/taskpacks/${id}/counterfactual`, 'not json')).status).toBe(400);
    expect((await post(`/v1/taskpacks/${id}/counterfactual`, JSON.stringify({ quantity: 'squat_depth', delta_m: 0.05 }))).status).toBe(422);
    expect((await post(`/v1/taskpacks/patient-1.nope/counterfactual`, JSON.stringify({ quantity: 'knee_flexion_r', delta_deg: 5 }))).status).toBe(404);
    expect((await post(`/v1/taskpacks/${id}/counterfactual`, JSON.stringify({ quantity: 'knee_flexion_r', delta_deg: 5, pad: 'x'.repeat(5000) }))).status).toBe(
      413,
    );
  });
});
