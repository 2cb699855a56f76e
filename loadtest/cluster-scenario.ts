// The multi-node, multi-clinic scenario (issue 9), every part a real process on loopback:
//   NATS: 3 nats-servers in one cluster, JetStream streams/buckets with 3 replicas;
//   node A (`serve`): the iPads of two clinics ingest here;
//   node B (`serve`): each clinic's therapist dashboard follows its clinic from here (cross-node fan-out);
//   worker (`jepa-motion worker`): takes every retrain job; both serve nodes run none (JEPA_WORKERS=0).
// Phase 1: sessions of both clinics stream and end; every job completes on the worker and the patient's
// model goes live (hot swap) on BOTH serve nodes; the time from `end` to that is measured.
// Phase 2: sessions stream again; mid-run one nats-server and node A are SIGKILLed; node A restarts
// on its data directory (crash recovery finalises and publishes the recordings). Checked: every
// frame the server acknowledged is in the published recording, every job completed exactly once, and
// the dashboards of one clinic never received anything of the other.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import WebSocket from 'ws';
import { connectIngest, connectLive, type FrameInput, type LiveClient, type WebSocketConstructor } from '../clients/sdk/index.js';
import { floorPlane } from '../clients/simulator/arkit-frames.js';
import { SIMULATED_DEVICE } from '../clients/simulator/simulate.js';
import type { Recording } from '../streams/types.js';
import { hmacKeyConfig, mintToken } from '../src/auth/index.js';
import { decodeClientMessage } from '../src/protocol/index.js';
import { jobIdFor } from '../src/sessions/assessment-completed.js';
import { recordingKey, retrainResultKey } from '../src/storage/keys.js';
import { NatsArtifactStore } from '../src/storage/nats-artifact-store.js';
import { NatsModelRegistry } from '../src/storage/nats-model-registry.js';
import { RecordingReader } from '../src/storage/recording-reader.js';
import { startJepaProcess, startNatsCluster, type JepaProcess, type NatsCluster } from './cluster-processes.js';
import { frameTemplates, loopFrames } from './scenario.js';

export const CLINICS = ['clinic-1', 'clinic-2'] as const;
const SECRET = 'cluster-scenario-secret-0123456789-abcdefghij';
const REPLICAS = 3;

export interface ClusterScenarioOptions {
  /** Scratch directory: NATS stores, node data directories. */
  readonly dir: string;
  /** Motion the virtual iPads stream (looped). */
  readonly recording: Recording;
  /** Sessions per clinic in each phase. */
  readonly sessionsPerClinic: number;
  /** Length of one session (s). */
  readonly durationS: number;
  readonly fps: number;
  /** Phase 2: seconds into the sessions at which the nats-server and node A are killed (< durationS). */
  readonly faultAtS: number;
  /** HORIZONS of every process (the live predictions and the retrain gate); default: the configuration's. */
  readonly horizons?: readonly number[];
  /** Upper bound for one job, end → result stored (s). */
  readonly jobTimeoutS: number;
  /**
   * 'process' (default): a `jepa-motion worker` process takes every job and the serve nodes run none.
   * 'in-serve': no worker process; the serve nodes consume jobs themselves (the pre-issue-9 layout).
   */
  readonly workers?: 'process' | 'in-serve';
  /** Progress lines (stderr in the harness). */
  readonly progress?: (line: string) => void;
}

export interface ClusterReport {
  readonly nats: { readonly servers: number; readonly replicas: number; readonly killed: string };
  readonly processes: {
    readonly serveNodes: number;
    /** Worker processes (0: the serve nodes consumed the jobs). */
    readonly workers: number;
    readonly killed: string;
    readonly restartS: number;
    /** Starts node A needed after the crash (a start during the NATS failover may fail and is retried). */
    readonly startAttempts: number;
  };
  readonly sessions: { readonly total: number; readonly perClinic: Readonly<Record<string, number>>; readonly ended: number; readonly interrupted: number };
  readonly frames: {
    readonly sent: number;
    readonly acked: number;
    /** Acknowledged frames missing from the published recordings: must be 0. */
    readonly lostAcked: number;
    /** Frame records in the published recordings. */
    readonly recorded: number;
  };
  readonly jobs: {
    readonly total: number;
    readonly completed: number;
    readonly registered: number;
    readonly rejected: number;
    /** Patients whose model was registered more than once (a job run twice): must be 0. */
    readonly duplicated: number;
  };
  /** Phase 1: `end` sent → the patient's model swapped in on both serve nodes (s). */
  readonly modelLive: { readonly samples: number; readonly p50S: number; readonly maxS: number };
  readonly dashboards: {
    readonly updates: Readonly<Record<string, number>>;
    /** Messages a dashboard received about another clinic's sessions: must be 0. */
    readonly crossClinic: number;
    /** What node B answered a clinic-1 dashboard asking for clinic 2 (an error code). */
    readonly foreignSubscribe: string;
  };
  readonly seconds: number;
  /** Every check of the scenario passed. */
  readonly ok: boolean;
}

interface Drive {
  readonly clinic: string;
  readonly patientId: string;
  sessionId: string;
  sent: number;
  lastAckedSeq: number;
  endAt: number | undefined;
  ended: boolean;
}

const WS = WebSocket as unknown as WebSocketConstructor;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runClusterScenario(o: ClusterScenarioOptions): Promise<ClusterReport> {
  if (!(o.faultAtS > 0 && o.faultAtS < o.durationS)) throw new RangeError(`faultAtS must be in (0, durationS), got ${o.faultAtS}`);
  const say = o.progress ?? (() => undefined);
  const started = performance.now();
  const key = hmacKeyConfig(SECRET);
  const token = (clinic: string, role: 'admin' | 'therapist') => mintToken({ clinic, role, ttlSeconds: 3600 }, key, Date.now());
  const stoppers: (() => Promise<unknown>)[] = [];
  const procs: JepaProcess[] = [];
  try {
    await mkdir(o.dir, { recursive: true });
    const cluster: NatsCluster = await startNatsCluster(join(o.dir, 'nats'), 3);
    stoppers.push(() => cluster.stop());
    say(`nats cluster: ${cluster.urls}`);
    const startJepaProcessTracked = async (po: Parameters<typeof startJepaProcess>[0]): Promise<JepaProcess> => {
      const p = await startJepaProcess(po);
      procs.push(p);
      return p;
    };
    const separateWorker = (o.workers ?? 'process') === 'process';
    const env: Record<string, string> = {
      JEPA_JWT_SECRET: SECRET,
      NATS_URL: cluster.urls,
      JETSTREAM_REPLICAS: String(REPLICAS),
      LOG_LEVEL: 'info',
      ...(o.horizons ? { HORIZONS: o.horizons.join(',') } : {}),
    };
    if (separateWorker) env.JEPA_WORKERS = '0';
    const serve = (name: string) =>
      startJepaProcessTracked({
        name,
        ready: /serving on (http:\/\/[\d.]+:\d+)/,
        args: ['serve', '--port', '0', '--host', '127.0.0.1', '--data', join(o.dir, name)],
        env,
      });
    // One at a time: each loads the model and wasm, and the box has few cores.
    let nodeA = await serve('node-a');
    stoppers.push(() => nodeA.stop());
    const nodeB = await serve('node-b');
    stoppers.push(() => nodeB.stop());
    if (separateWorker) {
      const worker = await startJepaProcessTracked({
        name: 'worker',
        ready: /jepa-motion worker: consuming/,
        args: ['worker', '--data', join(o.dir, 'worker'), '--jobs', 'retrain', '--concurrency', '1'],
        env,
      });
      stoppers.push(() => worker.stop());
    }
    say(`serve nodes ${nodeA.url} ${nodeB.url}, ${separateWorker ? 'one worker process' : 'jobs consumed by the serve nodes'}`);

    const nc: NatsConnection = await connect({ servers: cluster.urls.split(','), maxReconnectAttempts: -1 });
    stoppers.push(() => nc.close());
    const artifacts = await NatsArtifactStore.open(nc);
    const registry = await NatsModelRegistry.open(nc);

    // Dashboards on node B, one per clinic, following the whole clinic.
    const seen = new Map<string, Map<string, number>>(); // clinic → sessionId → messages
    const dashboards = new Map<string, LiveClient>();
    for (const clinic of CLINICS) {
      const live = await connectLive({ url: nodeB.url!.replace('http', 'ws'), token: token(clinic, 'therapist'), WebSocket: WS });
      stoppers.push(async () => live.close());
      const mine = new Map<string, number>();
      seen.set(clinic, mine);
      live.messages$.subscribe((m) => {
        const sid = (m as { sessionId?: unknown }).sessionId;
        if (typeof sid === 'string') mine.set(sid, (mine.get(sid) ?? 0) + 1);
      });
      live.subscribe({ clinic });
      dashboards.set(clinic, live);
    }

    const templates = frameTemplates(o.recording);
    const floor = floorPlane(o.recording);
    const drives: Drive[] = [];
    const runPhase = (phase: number, abort?: AbortSignal) =>
      Promise.all(
        CLINICS.flatMap((clinic) =>
          Array.from({ length: o.sessionsPerClinic }, (_, i) => {
            const d: Drive = { clinic, patientId: `${clinic}-ph${phase}-p${i}`, sessionId: '', sent: 0, lastAckedSeq: -1, endAt: undefined, ended: false };
            drives.push(d);
            return drive(d, nodeA.url!, token(clinic, 'admin'), templates, floor, o, abort);
          }),
        ),
      );

    // Phase 1: normal sessions; jobs on the worker; models live on both nodes.
    say(`phase 1: ${CLINICS.length * o.sessionsPerClinic} sessions on node A for ${o.durationS} s`);
    await runPhase(1);
    const phase1 = drives.filter((d) => d.ended);

    // Node B refuses a clinic-1 therapist asking for clinic 2 (and its sessions).
    const probe = dashboards.get(CLINICS[0])!;
    const foreign = new Promise<string>((resolve) => {
      const sub = probe.errors$.subscribe((e) => {
        sub.unsubscribe();
        resolve(e.code);
      });
    });
    probe.subscribe({ clinic: CLINICS[1] });
    const foreignSubscribe = await Promise.race([foreign, sleep(10_000).then(() => 'NO_ANSWER')]);
    probe.unsubscribe({ clinic: CLINICS[1] });

    const results = new Map<string, { status: string; at: number }>();
    const waitResult = async (d: Drive): Promise<void> => {
      const k = retrainResultKey(jobIdFor(d.sessionId));
      const deadline = Date.now() + o.jobTimeoutS * 1000;
      for (;;) {
        // Reads fail for a few seconds while the cluster fails over: such a read is simply repeated.
        const bytes = (await artifacts.has(k).catch(() => false)) ? await artifacts.get(k).catch(() => undefined) : undefined;
        if (bytes) {
          const r = JSON.parse(new TextDecoder().decode(bytes)) as { status: string; gate?: { reason?: string } };
          results.set(d.sessionId, { status: r.status, at: Date.now() });
          if (r.status !== 'registered') say(`job of ${d.patientId}: ${r.status}${r.gate?.reason ? ` (${r.gate.reason})` : ''}`);
          return;
        }
        if (Date.now() > deadline) throw new Error(`job of session ${d.sessionId} (${d.patientId}) not completed within ${o.jobTimeoutS} s`);
        await sleep(200);
      }
    };
    const swappedOn = (p: JepaProcess, patientId: string) =>
      p.waitForLog((l) => l.msg === 'patient model swapped' && l.patientId === patientId, o.jobTimeoutS * 1000, `swap ${patientId}`);
    const liveTimes: number[] = [];
    for (const d of phase1) {
      await waitResult(d);
      if (results.get(d.sessionId)?.status !== 'registered') continue;
      await Promise.all([swappedOn(nodeA, d.patientId), swappedOn(nodeB, d.patientId)]);
      const at = Math.max(...[nodeA, nodeB].map((p) => receivedAt(p, d.patientId)));
      liveTimes.push((at - d.endAt!) / 1000);
    }
    say(
      `phase 1: ${phase1.length} jobs done (${phase1.map((d) => results.get(d.sessionId)?.status).join(', ')}), ${liveTimes.length} models live on both nodes`,
    );

    // Phase 2: kill a nats-server and node A mid-run; restart node A on its data directory.
    say(`phase 2: ${CLINICS.length * o.sessionsPerClinic} sessions, kill at ${o.faultAtS} s`);
    const abort = new AbortController();
    const phase2 = runPhase(2, abort.signal);
    await sleep(o.faultAtS * 1000);
    const victim = cluster.nodes[0]!;
    await victim.kill();
    await sleep(1000);
    await nodeA.stop('SIGKILL');
    abort.abort();
    await phase2;
    // Restarted as a supervisor (systemd Restart=on-failure, compose restart: on-failure) would: a start
    // during the NATS failover can fail (no JetStream leader yet) and is simply tried again.
    const restartAt = performance.now();
    let startAttempts = 0;
    for (;;) {
      startAttempts += 1;
      try {
        nodeA = await serve('node-a');
        break;
      } catch (error) {
        if (startAttempts >= 5) throw error;
        say(`node A start ${startAttempts} failed (${error instanceof Error ? error.message.split('\n')[1] : String(error)}); again in 2 s`);
        await sleep(2000);
      }
    }
    const restartS = (performance.now() - restartAt) / 1000;
    say(`node A restarted in ${restartS.toFixed(1)} s (${startAttempts} start(s))`);
    const interrupted = drives.filter((d) => !d.ended && d.sessionId);
    for (const d of interrupted) await waitResult(d);

    // No acknowledged frame lost: every acked seq is in the published recording.
    let lostAcked = 0;
    let recorded = 0;
    for (const d of drives.filter((x) => x.sessionId)) {
      const seqs = await recordedSeqs(artifacts, d, join(o.dir, 'check'));
      recorded += seqs.size;
      for (let s = 0; s <= d.lastAckedSeq; s++) if (!seqs.has(s)) lostAcked += 1;
    }
    // Exactly once: one result per job, and no patient registered twice (each session has its own patient).
    let duplicated = 0;
    for (const d of drives.filter((x) => x.sessionId)) {
      const ref = await registry.get(d.patientId);
      if (ref && ref.version > 1) duplicated += 1;
    }
    let crossClinic = 0;
    const updates: Record<string, number> = {};
    for (const clinic of CLINICS) {
      const own = new Set(drives.filter((d) => d.clinic === clinic).map((d) => d.sessionId));
      let n = 0;
      for (const [sid, count] of seen.get(clinic)!) {
        if (own.has(sid)) n += count;
        else crossClinic += count;
      }
      updates[clinic] = n;
    }
    const statuses = [...results.values()].map((r) => r.status);
    const started2 = drives.filter((d) => d.sessionId);
    const sorted = [...liveTimes].sort((a, b) => a - b);
    const report: Omit<ClusterReport, 'ok'> = {
      nats: { servers: cluster.nodes.length, replicas: REPLICAS, killed: victim.name },
      processes: { serveNodes: 2, workers: separateWorker ? 1 : 0, killed: 'node-a', restartS: round(restartS), startAttempts },
      sessions: {
        total: started2.length,
        perClinic: Object.fromEntries(CLINICS.map((c) => [c, started2.filter((d) => d.clinic === c).length])),
        ended: drives.filter((d) => d.ended).length,
        interrupted: interrupted.length,
      },
      frames: { sent: sum(drives.map((d) => d.sent)), acked: sum(drives.map((d) => d.lastAckedSeq + 1)), lostAcked, recorded },
      jobs: {
        total: started2.length,
        completed: results.size,
        registered: statuses.filter((s) => s === 'registered').length,
        rejected: statuses.filter((s) => s === 'rejected').length,
        duplicated,
      },
      modelLive: { samples: sorted.length, p50S: round(sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN), maxS: round(sorted[sorted.length - 1] ?? NaN) },
      dashboards: { updates, crossClinic, foreignSubscribe },
      seconds: round((performance.now() - started) / 1000),
    };
    const ok =
      report.modelLive.samples > 0 &&
      report.sessions.total === CLINICS.length * o.sessionsPerClinic * 2 &&
      lostAcked === 0 &&
      report.jobs.completed === report.jobs.total &&
      duplicated === 0 &&
      crossClinic === 0 &&
      foreignSubscribe === 'FORBIDDEN' &&
      CLINICS.every((c) => (updates[c] ?? 0) > 0) &&
      report.modelLive.samples === phase1.filter((d) => results.get(d.sessionId)?.status === 'registered').length;
    return { ...report, ok };
  } catch (error) {
    // What each process said last is what explains a failed run.
    for (const p of procs) for (const l of p.logs.slice(-12)) say(`${p.name}: ${JSON.stringify(l).slice(0, 400)}`);
    throw error;
  } finally {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
  }
}

/** One virtual iPad on `url`: env, frames at `fps` against an absolute schedule, then `end` (unless aborted). */
async function drive(
  d: Drive,
  url: string,
  token: string,
  templates: readonly FrameInput[],
  floor: ReturnType<typeof floorPlane>,
  o: ClusterScenarioOptions,
  abort?: AbortSignal,
): Promise<void> {
  const client = await connectIngest({
    url: url.replace('http', 'ws'),
    token,
    hello: { patientId: d.patientId, assessment: 'gait', fps: o.fps, device: SIMULATED_DEVICE },
    WebSocket: WS,
  });
  client.ended.catch(() => undefined);
  d.sessionId = client.sessionId;
  if (floor) client.sendEnv([floor]);
  const t0 = performance.now();
  for (const f of loopFrames(templates, o.fps, o.durationS)) {
    if (abort?.aborted) break;
    const due = t0 + (f.seq * 1000) / o.fps;
    const wait = due - performance.now();
    if (wait > 2) await sleep(wait);
    if (abort?.aborted) break;
    client.sendFrame(f);
    d.sent += 1;
  }
  if (abort?.aborted) {
    d.lastAckedSeq = client.stats.lastAckedSeq;
    client.close();
    return;
  }
  d.endAt = Date.now();
  await client.end();
  d.lastAckedSeq = client.stats.lastAckedSeq;
  d.ended = true;
}

/** When `p` logged the swap of `patientId` (the harness's receipt time). */
function receivedAt(p: JepaProcess, patientId: string): number {
  const l = p.logs.find((x) => x.msg === 'patient model swapped' && x.patientId === patientId);
  return Number(l?.receivedAt ?? NaN);
}

/** Frame seqs in the session's published recording (read back from the object store). */
async function recordedSeqs(artifacts: NatsArtifactStore, d: Drive, tmp: string): Promise<Set<number>> {
  await mkdir(tmp, { recursive: true });
  const path = join(tmp, `${d.sessionId}.jmrl`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await writeFile(path, await artifacts.get(recordingKey(d.clinic, d.sessionId)));
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(500);
    }
  }
  const seqs = new Set<number>();
  for await (const e of new RecordingReader(path).records()) {
    const m = decodeClientMessage(e.payload, 'ingest');
    if (m.ok && m.message.type === 'frame') seqs.add(m.message.seq);
  }
  return seqs;
}

const sum = (a: readonly number[]) => a.reduce((x, y) => x + y, 0);
const round = (v: number) => Math.round(v * 100) / 100;
