// A serve node's InferenceService when the engine runs elsewhere (`jepa-motion infer`, INFER_URL): the
// same interface as the in-process service, over NATS request/reply. Every failure of the hop answers
// the frame `shed`, never rejects: the infer process gone, a timeout or no responder → no_workers;
// overloaded → queue_full. Only a malformed row rejects (BAD_INPUT), as in-process. In-flight requests
// are bounded per node (maxInflight): beyond it frames are shed `queue_full` without being sent.
import type { NatsConnection } from '@nats-io/transport-node';
import { InferenceError, InferenceErrorCode } from './errors.js';
import { Histogram, LATENCY_MS_BOUNDS, BATCH_SIZE_BOUNDS, SampleRing } from './inference-stats.js';
import { RemoteCode, packr, subjects, type InfoReply, type ModelReply, type RemoteInfo, type SubmitReply } from './remote-protocol.js';
import {
  ShedReason,
  type InferenceLogger,
  type InferenceRequest,
  type InferenceResult,
  type InferenceService,
  type InferenceStats,
  type Shed,
} from './types.js';

/** Loading a patient model (download + weights) takes longer than answering a frame. */
const MODEL_TIMEOUT_MS = 30_000;
const LATENCY_SAMPLES = 4096;

export interface RemoteInferenceOptions {
  /** A frame not answered by then is shed (no_workers). */
  readonly timeoutMs: number;
  readonly maxInflight: number;
  readonly prefix?: string;
}

/** Connects to the infer service: asks it for its model's shape first (fails if none answers). */
export async function createRemoteInference(
  nc: NatsConnection,
  opts: RemoteInferenceOptions,
  logger: InferenceLogger,
): Promise<InferenceService & { readonly remote: true }> {
  const s = subjects(opts.prefix);
  let info: RemoteInfo;
  try {
    const reply = packr.unpack((await nc.request(s.info, packr.pack({}), { timeout: Math.max(opts.timeoutMs, 5000) })).data) as InfoReply;
    if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
    info = reply.info;
  } catch (cause) {
    throw new InferenceError(
      InferenceErrorCode.WORKER_START_FAILED,
      `no inference service answered on ${s.info} (is \`jepa-motion infer\` running?): ${String(cause)}`,
      {
        cause,
      },
    );
  }

  let inflight = 0;
  let closed = false;
  let rows = 0;
  const shedCounts: Record<ShedReason, number> = { queue_full: 0, stale: 0, engine_error: 0, no_workers: 0, shutdown: 0 };
  const latency = new Histogram(LATENCY_MS_BOUNDS);
  const batchSize = new Histogram(BATCH_SIZE_BOUNDS);
  const samples = new SampleRing(LATENCY_SAMPLES);
  let unreachableLogged = false;
  const shed = (req: InferenceRequest, reason: ShedReason): Shed => {
    shedCounts[reason] += 1;
    return { shed: true, reason, sessionId: req.sessionId, seq: req.seq };
  };

  const checkRow = (req: InferenceRequest): void => {
    if (!(req.x instanceof Float32Array) || req.x.length !== info.featureDim) {
      throw new InferenceError(InferenceErrorCode.BAD_INPUT, `x must be a Float32Array of length ${info.featureDim}`);
    }
    for (let i = 0; i < req.x.length; i++) {
      if (!Number.isFinite(req.x[i])) throw new InferenceError(InferenceErrorCode.BAD_INPUT, `x[${i}] is not finite`);
    }
    if (!req.sessionId || !req.patientId || !Number.isSafeInteger(req.seq) || req.seq < 0) {
      throw new InferenceError(InferenceErrorCode.BAD_INPUT, 'sessionId, patientId and an integer seq ≥ 0 are required');
    }
  };

  return {
    remote: true,
    backend: `remote:${info.backend}`,
    featureDim: info.featureDim,
    featureNames: info.featureNames,
    latentDim: info.latentDim,
    horizons: info.horizons,
    decodesPoses: info.decodesPoses,

    async submit(req): Promise<InferenceResult | Shed> {
      checkRow(req);
      if (closed) return shed(req, ShedReason.SHUTDOWN);
      if (inflight >= opts.maxInflight) return shed(req, ShedReason.QUEUE_FULL);
      inflight += 1;
      const t0 = performance.now();
      try {
        const payload = packr.pack({
          sessionId: req.sessionId,
          patientId: req.patientId,
          seq: req.seq,
          x: req.x,
          ...(info.decodesPoses && req.pose ? { pose: req.pose } : {}),
        });
        const msg = await nc.request(s.submit, payload, { timeout: opts.timeoutMs });
        unreachableLogged = false;
        const reply = packr.unpack(msg.data) as SubmitReply;
        if (reply.ok) {
          if (reply.result.shed) {
            shedCounts[reply.result.reason] += 1;
            return reply.result;
          }
          const ms = performance.now() - t0;
          rows += 1;
          latency.observe(ms);
          samples.push(ms);
          batchSize.observe(reply.result.batchSize);
          return reply.result;
        }
        if (reply.code === RemoteCode.BAD_INPUT) throw new InferenceError(InferenceErrorCode.BAD_INPUT, reply.message);
        if (reply.code === RemoteCode.OVERLOADED) return shed(req, ShedReason.QUEUE_FULL);
        if (reply.code === RemoteCode.CLOSED) return shed(req, ShedReason.NO_WORKERS);
        logger.warn('infer service refused a frame', { code: reply.code, message: reply.message });
        return shed(req, ShedReason.ENGINE_ERROR);
      } catch (cause) {
        if (cause instanceof InferenceError) throw cause;
        // Timeout, no responders, connection closed: the engine is unreachable for this frame.
        if (!unreachableLogged) logger.warn('infer service unreachable; frames are answered shed', { subject: s.submit, cause: String(cause) });
        unreachableLogged = true;
        return shed(req, ShedReason.NO_WORKERS);
      } finally {
        inflight -= 1;
      }
    },

    async ensureModel(patientId) {
      const ref = await modelRequest({ op: 'ensure', patientId });
      if (ref === undefined) throw new InferenceError(InferenceErrorCode.MODEL_LOAD_FAILED, `infer service named no model for ${patientId}`);
      return ref;
    },

    async swapModel(patientId, ref) {
      await modelRequest({ op: 'swap', patientId, ref });
    },

    endSession(sessionId) {
      if (!closed && !nc.isClosed()) nc.publish(s.end, packr.pack({ sessionId }));
    },

    stats(): InferenceStats {
      return {
        backend: `remote:${info.backend}`,
        workers: { count: 0, alive: 0, busy: 0, restarts: 0 },
        inline: { enabled: false, batches: 0, rows: 0 },
        queueDepth: inflight,
        inflightBatches: 0,
        heldForOrder: 0,
        batches: 0,
        rows,
        batchSize: batchSize.data(),
        latencyMs: latency.data(),
        // Batches run on the infer process; this node sees only its requests' round trips (latencyMs).
        engineMs: new Histogram(LATENCY_MS_BOUNDS).data(),
        waitMs: new Histogram(LATENCY_MS_BOUNDS).data(),
        batchMs: new Histogram(LATENCY_MS_BOUNDS).data(),
        latencySamples: samples.values(),
        shed: { ...shedCounts },
        models: { resident: 0, loads: 0, loadFailures: 0, swaps: 0, evictions: 0 },
      };
    },

    async close() {
      closed = true;
    },
  };

  async function modelRequest(body: { op: 'ensure' | 'swap'; patientId: string; ref?: string }): Promise<string | undefined> {
    let reply: ModelReply;
    try {
      reply = packr.unpack((await nc.request(s.model, packr.pack(body), { timeout: MODEL_TIMEOUT_MS })).data) as ModelReply;
    } catch (cause) {
      throw new InferenceError(
        InferenceErrorCode.MODEL_LOAD_FAILED,
        `infer service did not answer a model ${body.op} for ${body.patientId}: ${String(cause)}`,
        { cause },
      );
    }
    if (!reply.ok) throw new InferenceError(InferenceErrorCode.MODEL_LOAD_FAILED, `${reply.code}: ${reply.message}`);
    return reply.ref;
  }
}
