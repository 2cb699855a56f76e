// Composition of the live server: uWS app (ingest, live, HTTP) + sessions + inference + storage + jobs.
// Everything stateful is created here per server (no module singletons); collaborators that outlive a
// server (bus, inference service, model registry) are passed in and closed by their owner (the CLI).
import type { TaskpackApi } from './transport/http-routes.js';
import { readFileSync } from 'node:fs';
import type { Observable } from 'rxjs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canIngest, canSubscribe, hmacKeyConfig, publicKeyConfig, tokenFromUpgrade, verifyToken, type KeyConfig } from './auth/index.js';
import type { Config } from './config.js';
import { NoticeSubject } from './jobs/contracts.js';
import type { JobBus } from './jobs/job-bus.js';
import type { NoticeBus } from './jobs/notices.js';
import type { Logger } from './logger.js';
import { createServerMetrics, type HistogramSnapshot, type ServerMetrics } from './metrics.js';
import { CloseCode, decodeClientMessage, encodeServerMessage, FrameValidator, PROTOCOL_VERSION, TaskpackReady } from './protocol/index.js';
import { LiveHub, type LiveFanoutLike } from './sessions/live-hub.js';
import { openCompletionQueue } from './sessions/completion-queue.js';
import { DiskRecordingStore, type DiskRecordingStoreOptions } from './sessions/recording-store.js';
import { SessionManager } from './sessions/session-manager.js';
import { createSessionReplay, type SessionReplaySource } from './sessions/session-replay.js';
import { systemClock, type Clock, type Inference, type ModelChooser, type PipelineFactory, type SendResult } from './sessions/types.js';
import { httpRoutes, type Readiness } from './transport/http-routes.js';
import { ingestRoute, type WsLimits } from './transport/ingest-route.js';
import { liveRoute } from './transport/live-route.js';
import type { Mount } from './transport/static-files.js';
import type { Codec, TransportAuth } from './transport/types.js';
import { loadUws, StartupError, type UwsModule } from './transport/uws.js';
import type { WsPeer } from './transport/ws-peer.js';

/** Idle connections are closed by uWS after this (it sends pings itself, so a live iPad never idles). */
export const IDLE_TIMEOUT_S = 60;
/** A connection flooding above MAX_MSGS_PER_S for this long is closed (RATE_LIMIT). */
export const FLOOD_CLOSE_S = 2;
/** Live updates are skipped for a dashboard with more than this buffered (≤ maxBackpressure / 4). */
export const SLOW_SUBSCRIBER_BYTES = 256 * 1024;
/** Subscriptions per dashboard connection. */
export const MAX_SUBSCRIPTIONS = 64;
/** Sessions (live + awaiting resume) per server node. */
export const MAX_SESSIONS = 2000;
/** An ingest connection must send hello within this long. */
export const HELLO_TIMEOUT_S = 10;
/** Messages queued per connection while its hello is processed. */
export const PRE_READY_LIMIT = 240;

/** The dashboard's built bundle (clients/dashboard/build.ts; `npm ci` runs it, `serve` when it is missing). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../clients/dashboard/dist', import.meta.url));
/** Each live session's `session.started` is repeated this often for dashboards (sessions/live-hub.ts presence). */
export const LIVE_PRESENCE_MS = 2000;

/** The inference service as the server uses it; src/inference's InferenceService satisfies it. */
export interface ServerInference extends Inference {
  /** Name of the active tensor backend (wasm, cpu, tensorflow, js). */
  readonly backend: string;
  /** Loads the patient's own model before the session's first frame (else the base model serves it). */
  ensureModel?(patientId: string): Promise<string>;
  /** Replaces a patient's model at the next batch boundary (hot swap on `model.updated`). */
  swapModel?(patientId: string, ref: string): Promise<void>;
  /** For /metrics and /readyz. */
  stats?(): {
    readonly queueDepth: number;
    readonly workers: { readonly alive: number };
    readonly batchSize: HistogramSnapshot;
    readonly latencyMs: HistogramSnapshot;
    readonly waitMs?: HistogramSnapshot;
    readonly batchMs?: HistogramSnapshot;
    readonly engineMs?: HistogramSnapshot;
    readonly shed: Readonly<Record<string, number>>;
  };
}

export interface ServerDeps {
  readonly logger: Logger;
  readonly bus: JobBus;
  readonly inference: ServerInference;
  /** Per-session stream pipeline (adapt → sessionPipeline), see sessions/live-pipeline.ts. */
  readonly pipeline: PipelineFactory;
  readonly models: ModelChooser & { list(clinic: string): Promise<unknown[]> };
  readonly taskpacks: TaskpackApi;
  /** Extra readiness check of the bus (NATS connected or outbox accepting). Default: ready. */
  readonly busReady?: () => boolean;
  readonly clock?: Clock;
  readonly uws?: UwsModule;
  readonly dashboardDir?: string;
  /** Finished sessions and their replay (default: this node's recordings through `pipeline` + `inference`). */
  readonly finished?: SessionReplaySource;
  /** ARKit joint names for validator messages (streams/adapters/arkit ARKIT_JOINTS). */
  readonly jointNames?: readonly string[];
  /** Cross-node dashboard fan-out (src/jobs/live-fanout.ts createNatsLiveFanout) in distributed mode. */
  readonly liveFanout?: LiveFanoutLike;
  /** Stores each finalised recording in the artifact store before its `assessment.completed` (src/recordings);
   *  retried with the job by the completion queue (sessions/completion-queue.ts) until it succeeds. */
  readonly publishRecording?: DiskRecordingStoreOptions['publish'];
  /**
   * Notifications (src/jobs/notices.ts; NATS in distributed mode, so every node hears every pack):
   * `taskpack.ready` is told to this node's dashboards following the pack's clinic.
   */
  readonly notices?: Pick<NoticeBus, 'subscribe'>;
  /** Model registrations (ModelRegistry.watch()): each is hot-swapped into the inference service. */
  readonly modelUpdates?: Observable<{ readonly patientId: string; readonly ref: { readonly id: string } }>;
  /** Observes each recording group commit once durable, before its frames are acked (tests, tracing). */
  readonly onRecordingDurable?: (e: { readonly path: string; readonly durableRecords: number }) => void;
}

export interface RunningServer {
  readonly port: number;
  readonly metrics: ServerMetrics;
  readonly sessions: SessionManager;
  /** Live fan-out (also the entry point for cross-node updates arriving over NATS). */
  readonly hub: LiveHub;
  /** Stops accepting, finalises sessions (in-flight batches answered, recordings flushed), closes sockets with SHUTDOWN. */
  close(): Promise<void>;
}

function keyConfig(config: Config): KeyConfig {
  if (config.jwt.kind === 'secret') return hmacKeyConfig(config.jwt.secret);
  return publicKeyConfig(readFileSync(config.jwt.publicKeyPath, 'utf8'));
}

export async function createServer(config: Readonly<Config>, deps: ServerDeps): Promise<RunningServer> {
  const uws = deps.uws ?? loadUws();
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger;
  const metrics = createServerMetrics();
  const key = keyConfig(config);
  let accepting = true;

  const auth: TransportAuth = {
    tokenFromUpgrade,
    verify: (token) => {
      const r = verifyToken(token, key, clock.now());
      return r.ok ? { ok: true, principal: r.claims } : { ok: false, code: r.code, message: r.message };
    },
    canSubscribe,
  };
  const codec: Codec = {
    decodeIngest: (b) => decodeClientMessage(b, 'ingest', { maxBytes: config.maxPayloadBytes }),
    decodeLive: (b) => decodeClientMessage(b, 'live', { maxBytes: config.maxPayloadBytes }),
    encode: encodeServerMessage,
  };
  const onSend = (route: string) => (r: SendResult) => metrics.sendResults.inc({ route, result: r });
  const onError = (code: string) => metrics.errors.inc({ code });

  const app = uws.App();
  const hub = new LiveHub(
    {
      updateHz: config.liveUpdateHz,
      snapshotSeconds: config.snapshotSeconds,
      slowThresholdBytes: Math.min(SLOW_SUBSCRIBER_BYTES, Math.floor(config.maxBackpressureBytes / 4)),
      maxSubscriptions: MAX_SUBSCRIPTIONS,
      presenceIntervalMs: LIVE_PRESENCE_MS,
    },
    {
      ...(deps.liveFanout ? { fanout: deps.liveFanout } : {}),
      clock,
      encode: encodeServerMessage,
      publish: (topic, bytes) => app.publish(topic, bytes, true, false),
      onDropped: (reason) => metrics.droppedUpdates.inc({ reason }),
      onSend: onSend('live'),
    },
  );
  const recordings = new DiskRecordingStore(
    {
      dir: join(config.dataDir, 'recordings'),
      fsync: config.fsync === 'batch' ? { mode: 'batch', intervalMs: config.fsyncIntervalMs } : { mode: config.fsync },
      ...(deps.onRecordingDurable ? { onDurable: deps.onRecordingDurable } : {}),
    },
    logger,
  );
  // Finished sessions' jobs go through a durable queue: `end` is acknowledged once the job is on this
  // node's disk, and it is delivered (recording stored, then `assessment.completed`) even if the store
  // or the bus is down at that moment, or the process restarts meanwhile.
  const completions = await openCompletionQueue({
    dir: join(config.dataDir, 'completions'),
    bus: deps.bus,
    ...(deps.publishRecording ? { publishRecording: deps.publishRecording } : {}),
    logger,
  });
  metrics.pendingJobs.collect(() => [[{}, completions.pending]]);
  const sessions = new SessionManager(
    {
      resumeWindowS: config.resumeWindowS,
      horizons: config.horizons,
      maxSessions: MAX_SESSIONS,
      preReadyLimit: PRE_READY_LIMIT,
      protocolVersion: PROTOCOL_VERSION,
      helloTimeoutS: HELLO_TIMEOUT_S,
    },
    {
      recordings,
      bus: completions,
      models: {
        modelFor: async (clinic, patientId) => {
          const ref = await deps.models.modelFor(clinic, patientId);
          // Best effort: a patient model that fails to load is logged by the service; the base model serves.
          await deps.inference.ensureModel?.(patientId).catch(() => undefined);
          return ref;
        },
      },
      newValidator: (after) => {
        const v = new FrameValidator({ ...(deps.jointNames ? { jointNames: deps.jointNames } : {}), ...(after ? { after } : {}) });
        return {
          check: (f) => {
            const r = v.check(f);
            return r.ok ? null : r.error;
          },
        };
      },
      pipeline: deps.pipeline,
      inference: deps.inference,
      hub,
      clock,
      logger,
      canIngest,
      metrics: {
        onFrame: (outcome) => metrics.framesTotal.inc({ outcome }),
        onFeedback: (shed, ms) => {
          metrics.feedbackTotal.inc({ shed: String(shed) });
          metrics.feedbackLatency.observe(ms / 1000);
        },
        onError,
        onSend: onSend('ingest'),
        onFinalized: (reason) => metrics.recordingsFinalized.inc({ reason }),
      },
    },
  );

  // Before accepting traffic: sessions a graceful shutdown suspended inside their resume window are
  // reopened for their devices; every other unfinished recording (a crash) is finalised and published.
  const { recovered, resumable, failed } = await recordings.recover(clock.now());
  await sessions.publishRecovered(recovered);
  if (recovered.length + resumable.length + failed.length > 0)
    logger.info('recordings recovered at start', { recovered: recovered.length, resumable: resumable.length, failed });

  const livePeers = new Set<WsPeer>();
  const limits: WsLimits = {
    maxPayloadBytes: config.maxPayloadBytes,
    maxBackpressureBytes: config.maxBackpressureBytes,
    idleTimeoutS: IDLE_TIMEOUT_S,
    maxMsgsPerS: config.maxMsgsPerS,
    floodCloseS: FLOOD_CLOSE_S,
    maxInvalidMsgs: config.maxInvalidMsgs,
    invalidMsgsWindowS: config.invalidMsgsWindowS,
  };
  ingestRoute(app, limits, { uws, auth, codec, sessions, nowMs: () => clock.now(), onError, onSend: onSend('ingest'), accepting: () => accepting });
  liveRoute(app, limits, {
    uws,
    auth,
    codec,
    hub,
    nowMs: () => clock.now(),
    onError,
    onSend: onSend('live'),
    onPeer: (peer, open) => (open ? livePeers.add(peer) : livePeers.delete(peer)),
    accepting: () => accepting,
  });

  metrics.liveSessions.collect(() => [[{}, sessions.size]]);
  metrics.liveSubscribers.collect(() => [[{}, livePeers.size]]);
  metrics.backend.collect(() => [[{ backend: deps.inference.backend }, 1]]);
  metrics.queueDepth.collect(() => [[{}, deps.inference.stats?.().queueDepth ?? 0]]);
  metrics.shedTotal.collect(() => Object.entries(deps.inference.stats?.().shed ?? {}).map(([reason, n]) => [{ reason }, n] as const));
  metrics.batchSize.collect(() => deps.inference.stats?.().batchSize);
  metrics.inferenceLatency.collect(() => deps.inference.stats?.().latencyMs);
  metrics.inferenceWait.collect(() => deps.inference.stats?.().waitMs);
  metrics.inferenceBatch.collect(() => deps.inference.stats?.().batchMs);
  metrics.inferenceEngine.collect(() => deps.inference.stats?.().engineMs);

  const readiness = (): Readiness => {
    const checks = {
      model: { ok: (deps.inference.stats?.().workers.alive ?? 1) > 0, detail: `backend ${deps.inference.backend}` },
      bus: { ok: deps.busReady?.() ?? true },
      accepting: { ok: accepting },
    };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  };
  const mounts: Mount[] = [{ prefix: '/', dir: deps.dashboardDir ?? DASHBOARD_DIR }];
  const finished =
    deps.finished ??
    createSessionReplay({
      recordingsDir: join(config.dataDir, 'recordings'),
      pipeline: deps.pipeline,
      inference: deps.inference,
      updateHz: config.liveUpdateHz,
      isLive: (id) => sessions.get(id) !== undefined,
    });
  httpRoutes(app, {
    auth,
    readiness,
    metrics: () => metrics.registry.render(),
    sessions,
    models: deps.models,
    taskpacks: deps.taskpacks,
    finished,
    mounts,
    onError,
  });

  const listenSocket = await new Promise<unknown>((resolve, reject) => {
    app.listen(config.host, config.port, (s) =>
      s === false ? reject(new StartupError('LISTEN_FAILED', `cannot listen on ${config.host}:${config.port}`)) : resolve(s),
    );
  });
  // Restored sessions announce themselves to dashboards (app.publish), which uWS only allows on a
  // listening app; no socket can be served before this continuation runs.
  sessions.restore(resumable);
  const port = uws.us_socket_local_port(listenSocket as never);
  logger.info('server listening', { host: config.host, port, backend: deps.inference.backend });

  const swaps = deps.modelUpdates?.subscribe({
    next: ({ patientId, ref }) => {
      deps.inference.swapModel?.(patientId, ref.id).then(
        () => logger.info('patient model swapped', { patientId, model: ref.id }),
        (cause: unknown) => logger.error('patient model swap failed; the previous model keeps serving', { patientId, model: ref.id, cause: String(cause) }),
      );
    },
    error: (cause: unknown) => logger.error('model update stream failed; no further hot swaps', { cause: String(cause) }),
  });

  const packs = deps.notices?.subscribe(NoticeSubject.TASKPACK_READY, (n) => {
    // The job contract allows session ids the wire protocol does not (≤ 200 chars of anything); such a
    // pack is still listed by GET /v1/taskpacks, it is just not announced.
    const m = TaskpackReady.safeParse({ type: 'taskpack.ready', taskpackId: n.taskpackId, sessionId: n.sessionId, patientId: n.patientId, clinic: n.clinic });
    if (!m.success) return logger.warn('taskpack.ready not announced to dashboards: ids outside the wire protocol', { taskpackId: n.taskpackId });
    hub.taskpackReady(m.data);
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      accepting = false;
      swaps?.unsubscribe();
      packs?.stop();
      uws.us_listen_socket_close(listenSocket as never);
      await sessions.shutdown();
      // What is still pending stays on disk for the next start.
      await completions.close();
      hub.close();
      for (const p of livePeers) p.close(CloseCode.SHUTDOWN, 'server shutting down');
      logger.info('server closed', { port });
    })());

  return { port, metrics, sessions, hub, close };
}
