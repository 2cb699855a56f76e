// The inference service answering over NATS (`jepa-motion infer`): every serve node's rows land in this
// process's one InferenceService, so its micro-batcher batches across nodes. In-flight requests are
// bounded (maxInflight): beyond it a submit is answered OVERLOADED at once instead of queueing in this
// process; the service's own queue limit sheds below that. Never throws on a bad request: it replies
// with a code.
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { InferenceError, InferenceErrorCode } from './errors.js';
import { EndRequest, INFER_QUEUE, ModelRequest, RemoteCode, SubmitRequest, packr, subjects, type RemoteInfo, type RemoteReply } from './remote-protocol.js';
import type { InferenceLogger, InferenceService } from './types.js';

export interface RemoteInferenceServerOptions {
  readonly maxInflight: number;
  /** Subject prefix (default jepa.infer.v1). */
  readonly prefix?: string;
}

export interface RemoteInferenceServer {
  /** Requests answered OVERLOADED so far. */
  readonly overloaded: number;
  /** Stops taking requests (in-flight ones are still answered), then resolves. */
  close(): Promise<void>;
}

export function serveInferenceOverNats(
  nc: NatsConnection,
  service: InferenceService,
  opts: RemoteInferenceServerOptions,
  logger: InferenceLogger,
): RemoteInferenceServer {
  const s = subjects(opts.prefix);
  let inflight = 0;
  let overloaded = 0;
  let idle: (() => void) | undefined;
  const reply = <T extends object>(m: Msg, r: RemoteReply<T>): void => {
    if (m.reply) m.respond(packr.pack(r));
  };
  const fail = (m: Msg, cause: unknown): void => {
    const code =
      cause instanceof InferenceError
        ? cause.code === InferenceErrorCode.BAD_INPUT
          ? RemoteCode.BAD_INPUT
          : cause.code === InferenceErrorCode.MODEL_LOAD_FAILED
            ? RemoteCode.MODEL_LOAD_FAILED
            : cause.code === InferenceErrorCode.CLOSED
              ? RemoteCode.CLOSED
              : RemoteCode.INTERNAL
        : RemoteCode.INTERNAL;
    if (code === RemoteCode.INTERNAL) logger.error('infer request failed', { subject: m.subject, cause: String(cause) });
    reply(m, { ok: false, code, message: cause instanceof Error ? cause.message : String(cause) });
  };
  const decode = <T>(m: Msg, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } } }): T | undefined => {
    let raw: unknown;
    try {
      raw = packr.unpack(m.data);
    } catch (cause) {
      reply(m, { ok: false, code: RemoteCode.BAD_REQUEST, message: `not msgpack: ${String(cause)}` });
      return undefined;
    }
    const r = schema.safeParse(raw);
    if (!r.success) {
      reply(m, { ok: false, code: RemoteCode.BAD_REQUEST, message: r.error.message });
      return undefined;
    }
    return r.data;
  };

  const subs: Subscription[] = [
    nc.subscribe(s.submit, {
      queue: INFER_QUEUE,
      callback: (err, m) => {
        if (err) return;
        if (inflight >= opts.maxInflight) {
          overloaded += 1;
          reply(m, { ok: false, code: RemoteCode.OVERLOADED, message: `${inflight} requests in flight (limit ${opts.maxInflight})` });
          return;
        }
        const req = decode(m, SubmitRequest);
        if (!req) return;
        inflight += 1;
        const { pose, ...row } = req;
        service
          .submit(pose ? { ...row, pose } : row)
          .then(
            (result) => reply(m, { ok: true, result }),
            (cause: unknown) => fail(m, cause),
          )
          .finally(() => {
            inflight -= 1;
            if (inflight === 0) idle?.();
          });
      },
    }),
    nc.subscribe(s.info, {
      queue: INFER_QUEUE,
      callback: (err, m) => {
        if (err) return;
        const st = service.stats();
        const info: RemoteInfo = {
          backend: service.backend,
          featureDim: service.featureDim,
          featureNames: service.featureNames,
          latentDim: service.latentDim,
          horizons: service.horizons,
          decodesPoses: service.decodesPoses,
          rows: st.rows,
          batches: st.batches,
        };
        reply(m, { ok: true, info });
      },
    }),
    nc.subscribe(s.model, {
      queue: INFER_QUEUE,
      callback: (err, m) => {
        if (err) return;
        const req = decode(m, ModelRequest);
        if (!req) return;
        const done =
          req.op === 'swap' && req.ref !== undefined ? service.swapModel(req.patientId, req.ref).then(() => req.ref) : service.ensureModel(req.patientId);
        done.then(
          (ref) => reply(m, { ok: true, ...(ref === undefined ? {} : { ref }) }),
          (cause: unknown) => fail(m, cause),
        );
      },
    }),
    // Not a queue subscription: every infer process forgets the session (it may have served some rows).
    nc.subscribe(s.end, {
      callback: (err, m) => {
        if (err) return;
        try {
          const r = EndRequest.safeParse(packr.unpack(m.data));
          if (r.success) service.endSession(r.data.sessionId);
        } catch {
          // A malformed publish has no reply subject to answer; ignoring it loses nothing.
        }
      },
    }),
  ];

  return {
    get overloaded() {
      return overloaded;
    },
    async close() {
      for (const sub of subs) sub.unsubscribe();
      if (inflight > 0) await new Promise<void>((resolve) => (idle = resolve));
    },
  };
}
