// `npm run bench:counterfactual [-- --json] [--loops 4] [--repeats 5]`: latency of
// POST /v1/taskpacks/:id/counterfactual's work on a ≥ 60 s recording, and how long it holds the thread
// that answers frames. The recording is ../shared/data/motion/camargo-levelground (15.3 s of walking at
// 200 Hz) looped `--loops` times into one TRC (each copy shifted on the floor so the walk continues
// where the previous one ended); the taskpack job builds its pack into a disk artifact store exactly as
// `serve` does; then the task-pack service (what the HTTP route calls) answers gait questions:
//   - thread: the service as served — planning on the counterfactual thread; "main block" is the
//     longest the main event loop was held (perf_hooks event-loop delay) while questions were answered;
//   - main (baseline, same run): the same plans on the calling thread, as before the thread existed;
//   - full plan (baseline, same run): the same goals planned with the per-frame uncertainty timeline
//     (MC-dropout over every frame, as the pack build plans), on the calling thread.
// "first" is the first question about the pack with nothing done ahead (starts the thread, loads the
// pack), with where its time went; "after report" the first question once the thread was started
// (serve does at startup) and the pack prepared (opening its report does); "right after report" the
// same question sent at once after the preparation began; that question is one the report answered,
// so "other quantity" asks one it did not (hip flexion in stance). "cold" is the first of each quantity on a
// loaded pack, "warm" the repeats. Not a test: a measurement.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadCheckpoint } from '../models/checkpoint.js';
import { planGoal, type Goal } from '../models/planning/goal.js';
import { createInProcessBus } from '../src/jobs/in-process-bus.js';
import { JobSubject } from '../src/jobs/job-bus.js';
import { startTaskpackWorker, type TaskpackIndex } from '../src/jobs/workers/taskpack-worker.js';
import { sha256 } from '../src/pipeline/manifest.js';
import { DiskArtifactStore } from '../src/storage/disk-artifact-store.js';
import { answerCounterfactual, loadPackContext } from '../src/taskpack/counterfactual.js';
import { createTaskpackService } from '../src/taskpack/taskpack-service.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const MODEL_DIR = join(ROOT, 'models', 'pretrained');
const SOURCE = resolve(ROOT, '..', 'shared', 'data', 'motion', 'camargo-levelground', 'levelground_ccw_fast_01_01.trc');
const CLINIC = 'bench-clinic';

const QUESTIONS = [
  { quantity: 'knee_flexion_r', phase: 'mid_stance', delta_deg: 5 },
  { quantity: 'knee_flexion_l', phase: 'mid_stance', delta_deg: 5 },
  { quantity: 'hip_flexion_r', phase: 'stance', delta_deg: -3 },
  { quantity: 'step_time_asymmetry', delta_pct: -5 },
] as const;

/** The TRC looped `loops` times; y is up (README), so each copy is moved on x/z by the previous copy's travel. */
function loopTrc(text: string, loops: number): { text: string; seconds: number; frames: number } {
  const lines = text.split(/\r?\n/);
  const head = lines.slice(0, 5);
  const rows = lines
    .slice(5)
    .filter((l) => l.trim() !== '')
    .map((l) => l.split('\t'));
  const rate = Number(head[2]!.split('\t')[0]);
  const mean = (r: string[], axis: number): number => {
    let s = 0;
    let n = 0;
    for (let c = 2 + axis; c < r.length; c += 3)
      if (r[c] !== '' && Number.isFinite(Number(r[c]))) {
        s += Number(r[c]);
        n++;
      }
    return n ? s / n : 0;
  };
  const dx = mean(rows.at(-1)!, 0) - mean(rows[0]!, 0);
  const dz = mean(rows.at(-1)!, 2) - mean(rows[0]!, 2);
  const out: string[] = [];
  for (let k = 0; k < loops; k++)
    for (const [i, r] of rows.entries()) {
      const f = k * rows.length + i;
      const moved = r.map((v, c) => {
        if (c === 0) return String(f + 1);
        if (c === 1) return (f / rate).toFixed(5);
        if (v === '' || (c - 2) % 3 === 1) return v;
        return (Number(v) + k * ((c - 2) % 3 === 0 ? dx : dz)).toFixed(6);
      });
      out.push(moved.join('\t'));
    }
  const meta = head[2]!.split('\t');
  meta[2] = String(out.length);
  meta[7] = String(out.length);
  head[2] = meta.join('\t');
  return { text: `${[...head, ...out].join('\n')}\n`, seconds: out.length / rate, frames: out.length };
}

const pct = (v: readonly number[], p: number): number => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
};

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { json: { type: 'boolean' }, loops: { type: 'string' }, repeats: { type: 'string' } } });
  const loops = Number(values.loops ?? 4);
  const repeats = Number(values.repeats ?? 5);
  if (!(Number.isInteger(loops) && loops >= 1 && Number.isInteger(repeats) && repeats >= 1)) throw new Error('--loops and --repeats must be positive integers');
  const dir = await mkdtemp(join(tmpdir(), 'jm-bench-cf-'));
  try {
    const rec = loopTrc(await readFile(SOURCE, 'utf8'), loops);
    if (rec.seconds < 60) process.stderr.write(`bench:counterfactual: the recording is ${rec.seconds.toFixed(1)} s (< 60 s); use --loops ≥ 4\n`);
    const bytes = Buffer.from(rec.text);
    const artifacts = await DiskArtifactStore.open(join(dir, 'artifacts'));
    const recordingKey = `recordings/${CLINIC}/bench-session.trc`;
    await artifacts.put(recordingKey, bytes);
    await writeFile(join(dir, 'looped.trc'), bytes);

    // The pack, built by the taskpack job as `serve` builds it.
    const bus = createInProcessBus();
    const base = await loadCheckpoint(MODEL_DIR);
    let stored: (id: string) => void = () => undefined;
    const ready = new Promise<string>((ok) => (stored = ok));
    const built = performance.now();
    const worker = await startTaskpackWorker({
      bus,
      artifacts,
      artifactsSpec: { kind: 'disk', dir: join(dir, 'artifacts') },
      registry: { get: async () => undefined },
      notices: { notify: async (_s, p) => (stored((p as { taskpackId: string }).taskpackId), 'sent') },
      baseCheckpointDir: MODEL_DIR,
      baseVersion: `weights:${base.weightsSha256.slice(0, 16)}`,
      modelsDir: join(dir, 'models'),
      workDir: join(dir, 'work'),
    });
    await bus.publish(
      JobSubject.TASKPACK_REQUESTED,
      {
        jobId: 'taskpack.bench',
        clinic: CLINIC,
        patientId: 'bench-patient',
        sessionId: 'bench-session',
        recordingKey,
        recordingSha256: sha256(bytes),
        assessment: 'gait',
        model: { id: 'pretrained', kind: 'pretrained', version: '1' },
      },
      { id: 'taskpack.bench' },
    );
    const id = await ready;
    const buildS = (performance.now() - built) / 1000;
    await worker.stop();
    await bus.close();

    const service = createTaskpackService({ artifacts, baseCheckpointDir: MODEL_DIR, modelsDir: join(dir, 'models') });
    const tp = (await service.get(CLINIC, id)) as TaskpackIndex;

    // Served: on the counterfactual thread, main event loop watched.
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const thread = { first: NaN, firstPlan: NaN, cold: [] as number[], warm: [] as number[], plan: [] as number[] };
    for (let r = 0; r <= repeats; r++)
      for (const q of QUESTIONS) {
        const t0 = performance.now();
        const a = await service.counterfactual(CLINIC, id, q);
        const ms = performance.now() - t0;
        if (a.status !== 200) throw new Error(`counterfactual ${JSON.stringify(q)} answered ${a.status}: ${JSON.stringify(a.body)}`);
        if (Number.isNaN(thread.first)) {
          thread.first = ms;
          thread.firstPlan = (a.body as { seconds: number }).seconds * 1000;
        } else if (r === 0) thread.cold.push(ms);
        else {
          thread.warm.push(ms);
          thread.plan.push((a.body as { seconds: number }).seconds * 1000);
        }
      }
    delay.disable();
    const mainBlockMs = delay.max / 1e6;
    // Where the first question's time went: the thread's start (tsx + modules, then tfjs wasm), the
    // pack's load (decode, model, encode), the plan; the rest is reading the pack's files and messages.
    const st = await service.counterfactualStats();
    const load = st.loads[id]!;
    await service.close();

    // Served with the thread started ahead and the pack prepared (report opened), each on a fresh thread.
    const afterReport = async (
      waitForPreparation: boolean,
      question: (typeof QUESTIONS)[number] = QUESTIONS[0],
    ): Promise<{ prepareMs: number; warmMs: number; firstMs: number; planMs: number }> => {
      const s = createTaskpackService({ artifacts, baseCheckpointDir: MODEL_DIR, modelsDir: join(dir, 'models') });
      try {
        s.start();
        await s.counterfactualStats(); // the thread is up and its tfjs runtime ready
        const t0 = performance.now();
        const prepared = s.prepare(CLINIC, id);
        let prepareMs = NaN;
        if (waitForPreparation) {
          if ((await prepared) !== 'loaded') throw new Error('the pack was not prepared');
          prepareMs = performance.now() - t0;
        }
        const t1 = performance.now();
        const a = await s.counterfactual(CLINIC, id, question);
        if (a.status !== 200) throw new Error(`counterfactual answered ${a.status}`);
        const firstMs = performance.now() - t1;
        const warmMs = (await s.counterfactualStats()).loads[id]?.warmMs ?? NaN;
        return { prepareMs, warmMs, firstMs, planMs: (a.body as { seconds: number }).seconds * 1000 };
      } finally {
        await s.close();
      }
    };
    const prepared = await afterReport(true);
    const rightAfter = await afterReport(false);
    // QUESTIONS[0] is one the report answered (its goal work kept by the preparation); this one is not.
    const otherQuantity = await afterReport(true, QUESTIONS[2]);

    // Baseline in the same run: the same plans on this thread.
    const file = async (rel: string): Promise<Uint8Array> => artifacts.get(tp.files[rel]!);
    const pc = await loadPackContext({
      states: await file('2-physical-state/states.npz'),
      labels: await file('3-physics-labels/labels.json'),
      modelDir: MODEL_DIR,
      baseDir: MODEL_DIR,
      modelVersion: tp.model.version,
    });
    const frames = pc.ctx.session.t.length;
    const main = { cold: [] as number[], warm: [] as number[] };
    const full = { cold: [] as number[], warm: [] as number[] };
    // Its own memo: the two paths keep different goal work, and one memo would evict between them.
    const fullCtx = { ...pc.ctx, memo: new Map<string, unknown>() };
    const who = { id, patientId: tp.patientId, sessionId: tp.sessionId, modelVersion: tp.model.version };
    for (let r = 0; r <= repeats; r++)
      for (const q of QUESTIONS) {
        const { delta_deg, delta_pct, ...rest } = q as { quantity: string; phase?: string; delta_deg?: number; delta_pct?: number };
        const goal = { ...rest, delta: delta_deg ?? delta_pct ?? 0 } as Goal;
        const t0 = performance.now();
        answerCounterfactual(pc, who, goal);
        (r === 0 ? main.cold : main.warm).push(performance.now() - t0);
        const t1 = performance.now();
        planGoal(fullCtx, goal, { frameUncertainty: true });
        (r === 0 ? full.cold : full.warm).push(performance.now() - t1);
      }
    pc.model.dispose();

    const summary = {
      recording: { source: SOURCE, loops, seconds: rec.seconds, frames_in: rec.frames, frames_planned: frames },
      pack_build_s: buildS,
      questions: QUESTIONS.length,
      repeats,
      thread: {
        first_ms: thread.first,
        first_breakdown_ms: {
          thread_imported: st.importedMs,
          thread_backend_ready: st.backendReadyMs,
          pack_parse: load.parseMs,
          pack_model: load.modelMs,
          pack_encode: load.encodeMs,
          plan: thread.firstPlan,
          files_and_messages: thread.first - st.backendReadyMs - load.parseMs - load.modelMs - load.encodeMs - thread.firstPlan,
        },
        backend: st.backend,
        after_report: {
          prepare_ms: prepared.prepareMs,
          prepare_report_questions_ms: prepared.warmMs,
          first_ms: prepared.firstMs,
          first_plan_ms: prepared.planMs,
        },
        right_after_report_first_ms: rightAfter.firstMs,
        after_report_other_quantity_first_ms: otherQuantity.firstMs,
        cold_p50_ms: pct(thread.cold, 0.5),
        cold_max_ms: Math.max(...thread.cold),
        warm_p50_ms: pct(thread.warm, 0.5),
        warm_p99_ms: pct(thread.warm, 0.99),
        warm_max_ms: Math.max(...thread.warm),
        warm_plan_p50_ms: pct(thread.plan, 0.5),
        main_block_max_ms: mainBlockMs,
      },
      main_baseline: {
        cold_p50_ms: pct(main.cold, 0.5),
        cold_max_ms: Math.max(...main.cold),
        warm_p50_ms: pct(main.warm, 0.5),
        warm_max_ms: Math.max(...main.warm),
      },
      full_plan_baseline: {
        cold_p50_ms: pct(full.cold, 0.5),
        cold_max_ms: Math.max(...full.cold),
        warm_p50_ms: pct(full.warm, 0.5),
        warm_max_ms: Math.max(...full.warm),
      },
      loadavg: loadavg(),
    };
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      const f = (v: number): string => v.toFixed(0).padStart(7);
      process.stdout.write(
        `recording: ${rec.seconds.toFixed(1)} s (${loops} × camargo level ground), ${frames} frames planned; pack built in ${buildS.toFixed(1)} s\n` +
          `${QUESTIONS.length} gait questions × ${repeats} warm repeats\n` +
          `where                      first    cold p50  cold max  warm p50  warm max   (ms)\n` +
          `counterfactual thread   ${f(thread.first)}   ${f(summary.thread.cold_p50_ms)}   ${f(summary.thread.cold_max_ms)}   ${f(summary.thread.warm_p50_ms)}   ${f(summary.thread.warm_max_ms)}\n` +
          `main thread (baseline)        —   ${f(summary.main_baseline.cold_p50_ms)}   ${f(summary.main_baseline.cold_max_ms)}   ${f(summary.main_baseline.warm_p50_ms)}   ${f(summary.main_baseline.warm_max_ms)}\n` +
          `full plan (every-frame MC)    —   ${f(summary.full_plan_baseline.cold_p50_ms)}   ${f(summary.full_plan_baseline.cold_max_ms)}   ${f(summary.full_plan_baseline.warm_p50_ms)}   ${f(summary.full_plan_baseline.warm_max_ms)}\n` +
          `first question ${f(thread.first)} ms = thread start ${f(st.backendReadyMs)} (modules ${st.importedMs.toFixed(0)}, then tfjs ${st.backend})` +
          ` + pack load ${f(load.parseMs + load.modelMs + load.encodeMs)} (decode ${load.parseMs.toFixed(0)}, model ${load.modelMs.toFixed(0)}, encode ${load.encodeMs.toFixed(0)})` +
          ` + plan ${f(thread.firstPlan)} + files/messages ${f(summary.thread.first_breakdown_ms.files_and_messages)}\n` +
          `thread started ahead, report opened (pack prepared in ${prepared.prepareMs.toFixed(0)} ms, ${prepared.warmMs.toFixed(0)} of them planning the report's questions): first question ${prepared.firstMs.toFixed(0)} ms` +
          `` +
          ` (${otherQuantity.firstMs.toFixed(0)} ms for a quantity the report did not ask about); asked right as the report opened: ${rightAfter.firstMs.toFixed(0)} ms\n` +
          `counterfactual thread warm p99 ${summary.thread.warm_p99_ms.toFixed(0)} ms over ${thread.warm.length} answers\n` +
          `main event loop held at most ${mainBlockMs.toFixed(1)} ms while the thread answered; load average ${loadavg()
            .map((v) => v.toFixed(2))
            .join(' ')}\n`,
      );
    }
    return 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`bench:counterfactual: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
