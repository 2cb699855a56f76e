// HTTP routes over a real socket: health, readiness, metrics, the clinic-scoped API, static files.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Subject } from 'rxjs';
import { Client, doubleInference, HELLO, startServer, token, type Harness } from './harness.js';

let h: Harness;
let bare: Harness;
let dash = '';
beforeAll(async () => {
  dash = await mkdtemp(join(tmpdir(), 'jm-dash-'));
  await mkdir(join(dash, 'lib'));
  await writeFile(join(dash, 'index.html'), '<!doctype html><title>dash</title>');
  await writeFile(join(dash, 'lib', 'app.js'), 'export const x = 1;\n');
  await writeFile(join(dash, 'notes.xyz'), 'no type for this');
  h = await startServer({
    deps: {
      dashboardDir: dash,
      taskpacks: {
        list: async (clinic) => [{ id: `tp-${clinic}` }],
        get: async (clinic, id) => (id === `tp-${clinic}` ? { id, clinic } : undefined),
      },
    },
  });
  bare = await startServer({ deps: { dashboardDir: join(dash, 'absent') } });
});
afterAll(async () => {
  await h?.close();
  await bare?.close();
  await rm(dash, { recursive: true, force: true });
});

const get = (path: string, tok?: string, base = h.http) => fetch(`${base}${path}`, tok ? { headers: { authorization: `Bearer ${tok}` } } : {});

describe('HTTP', () => {
  it('/healthz, /readyz and /metrics need no token', async () => {
    expect((await get('/healthz')).status).toBe(200);
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, checks: { model: { ok: true }, bus: { ok: true }, accepting: { ok: true } } });
    const m = await get('/metrics');
    expect(m.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await m.text()).toContain('# TYPE jepa_live_sessions gauge');
  });

  it('the API needs a valid bearer token and is clinic-scoped; devices are refused', async () => {
    const c = await Client.connect(h.ws, 'ingest', token({ clinic: 'c1', role: 'device', patient: 'p1' }));
    c.send(HELLO);
    await c.until('ready', () => c.of('ready').length === 1);
    const { sessionId } = c.of('ready')[0]!;
    try {
      expect((await get('/v1/sessions')).status).toBe(401);
      expect((await get('/v1/sessions', 'garbage')).status).toBe(401);
      const expired = token({ clinic: 'c1', role: 'therapist', ttlSeconds: 60 }, Date.now() - 3_600_000);
      const r401 = await get('/v1/sessions', expired);
      expect(r401.status).toBe(401);
      expect(await r401.json()).toMatchObject({ code: 'EXPIRED' });
      expect((await get('/v1/sessions', token({ clinic: 'c1', role: 'device', patient: 'p1' }))).status).toBe(403);

      const mine = await (await get('/v1/sessions', token({ clinic: 'c1', role: 'therapist' }))).json();
      expect(mine.sessions.map((s: { sessionId: string }) => s.sessionId)).toEqual([sessionId]);
      expect(mine.sessions[0]).toMatchObject({ clinic: 'c1', patientId: 'p1', state: 'active' });
      const one = await get(`/v1/sessions/${sessionId}`, token({ clinic: 'c1', role: 'admin' }));
      expect(one.status).toBe(200);

      const other = token({ clinic: 'c2', role: 'therapist' });
      expect((await (await get('/v1/sessions', other)).json()).sessions).toEqual([]);
      expect((await get(`/v1/sessions/${sessionId}`, other)).status).toBe(404);
      expect(await (await get('/v1/taskpacks', other)).json()).toEqual({ taskpacks: [{ id: 'tp-c2' }] });
      expect((await get('/v1/taskpacks/tp-c1', other)).status).toBe(404);
      expect((await get('/v1/taskpacks/tp-c2', other)).status).toBe(200);
      expect(await (await get('/v1/models', other)).json()).toEqual({ models: [{ id: 'pretrained' }] });
      expect((await get('/v1/nothing', other)).status).toBe(404);
    } finally {
      await c.close();
    }
  });

  it('serves the dashboard directory with content types, and nothing outside it', async () => {
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await index.text()).toContain('<title>dash</title>');
    const js = await get('/lib/app.js');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await get('/notes.xyz')).status).toBe(404);
    expect((await get('/missing.html')).status).toBe(404);
    expect((await get('/%2e%2e/%2e%2e/etc/passwd')).status).toBe(404);
    expect((await get('/..%2f..%2fpackage.json')).status).toBe(404);
  });

  it('without a dashboard directory, / is 404 and the API still works', async () => {
    expect((await get('/', undefined, bare.http)).status).toBe(404);
    expect((await get('/healthz', undefined, bare.http)).status).toBe(200);
  });

  it('/readyz is 503 while no inference worker is alive, naming the failed check', async () => {
    const hist = { bounds: [1], counts: [0, 0], sum: 0, count: 0 };
    const s = await startServer({
      deps: {
        inference: {
          submit: async () => ({ shed: true, reason: 'no_workers' }),
          backend: 'wasm',
          stats: () => ({
            queueDepth: 3,
            workers: { alive: 0 },
            batchSize: hist,
            latencyMs: hist,
            waitMs: { bounds: [1], counts: [2, 1], sum: 4, count: 3 },
            batchMs: { bounds: [1], counts: [0, 1], sum: 30, count: 1 },
            engineMs: { bounds: [1], counts: [0, 1], sum: 5, count: 1 },
            shed: { no_workers: 7 },
          }),
        },
      },
    });
    try {
      const r = await get('/readyz', undefined, s.http);
      expect(r.status).toBe(503);
      expect(await r.json()).toMatchObject({ ready: false, checks: { model: { ok: false } } });
      const m = await (await get('/metrics', undefined, s.http)).text();
      expect(m).toContain('jepa_inference_queue_depth 3');
      expect(m).toContain('jepa_inference_shed_total{reason="no_workers"} 7');
      expect(m).toContain('# TYPE jepa_inference_shed_total counter');
      // Where inference latency goes, in seconds: waiting for dispatch, the batch's round trip, the engine.
      expect(m).toContain('jepa_inference_wait_seconds_bucket{le="0.001"} 2');
      expect(m).toContain('jepa_inference_wait_seconds_sum 0.004');
      expect(m).toContain('jepa_inference_batch_seconds_sum 0.03');
      expect(m).toContain('jepa_inference_engine_seconds_count 1');
    } finally {
      await s.close();
    }
  });
  it('hot-swaps each model registration into the inference service, and stops at close', async () => {
    const updates = new Subject<{ patientId: string; ref: { id: string } }>();
    const swapped: string[] = [];
    const s = await startServer({
      deps: { modelUpdates: updates, inference: { ...doubleInference, swapModel: async (p, ref) => void swapped.push(`${p}=${ref}`) } },
    });
    updates.next({ patientId: 'p1', ref: { id: 'models/c1/p1/v2' } });
    await s.close();
    updates.next({ patientId: 'p1', ref: { id: 'models/c1/p1/v3' } });
    expect(swapped).toEqual(['p1=models/c1/p1/v2']);
    expect(updates.observed).toBe(false);
  });
});
