// Notifications (`model.updated`, `taskpack.ready`): facts fanned out to whoever listens, never work.
// They are at-most-once by design: the truth lives in the model registry (KV watch → hot swap) and the
// artifact store, so a lost notification delays nothing a node needs. That is why they must never sit
// in the job work queue: nothing consumes them there, and they would fill it until every job publish
// fails with BUS_FULL.
//
// NATS: published into their own limits-based stream (JEPA_NOTICES: discard old, bounded by count, age
// and bytes), which keeps a short audit history and can never refuse a publish for being full; live
// listeners get them as core messages on the same subjects. Embedded: synchronous in-process fan-out,
// nothing stored.
import { DiscardPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { nanos, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { NOTICE_SUBJECTS, checkNotice, isNoticeSubject, type NoticePayload, type NoticeSubject } from './contracts.js';
import { JobError, JobErrorCode } from './errors.js';
import { checkId, decodeEvent, encodeEvent } from './job-bus.js';

export const DEFAULT_NOTICE_STREAM = 'JEPA_NOTICES';
/** Notifications kept for audit (oldest dropped first). */
export const DEFAULT_NOTICE_MAX_MSGS = 10_000;
/** …and for at most this long. */
export const DEFAULT_NOTICE_MAX_AGE_MS = 7 * 24 * 3600_000;
/** …and in at most this many bytes. */
export const DEFAULT_NOTICE_MAX_BYTES = 64 * 1024 * 1024;
/** A notification is a few hundred bytes; anything near this is a bug. */
export const NOTICE_MAX_MSG_BYTES = 64 * 1024;
const DEFAULT_PUBLISH_TIMEOUT_MS = 5_000;

export type NoticeOutcome = 'sent' | 'dropped';

export interface NoticeBus {
  /**
   * Validates `payload` against the subject's contract (rejects with JOB_BAD_EVENT, nothing sent) and
   * fans it out. Never rejects for transport trouble: it resolves 'dropped' and logs instead.
   */
  notify<S extends NoticeSubject>(subject: S, payload: NoticePayload<S>, opts: { readonly id: string }): Promise<NoticeOutcome>;
  /** Notifications from now on (any node). Payloads failing the contract are logged and skipped. */
  subscribe<S extends NoticeSubject>(subject: S, onNotice: (n: NoticePayload<S>) => void): { stop(): void };
  close(): Promise<void>;
}

function checkSubject<S extends NoticeSubject>(subject: S): S {
  if (!isNoticeSubject(subject))
    throw new JobError(JobErrorCode.BAD_REQUEST, `unknown notification subject ${JSON.stringify(subject)} (notifications: ${NOTICE_SUBJECTS.join(', ')})`, {
      permanent: true,
    });
  return subject;
}

/** Embedded mode: subscribers are called synchronously; a throwing subscriber is logged, never propagated. */
export function createLocalNoticeBus(opts: { readonly logger?: Logger } = {}): NoticeBus {
  const logger = opts.logger ?? silentLogger;
  const subs = new Map<NoticeSubject, Set<(n: unknown) => void>>();
  let closed = false;
  return {
    async notify(subject, payload, { id }) {
      checkSubject(subject);
      checkId(id);
      const n = checkNotice(subject, payload, 'publish');
      if (closed) return 'dropped';
      for (const f of subs.get(subject) ?? []) {
        try {
          f(checkNotice(subject, n, 'consume'));
        } catch (error) {
          logger.error('notification subscriber threw', { subject, id, error });
        }
      }
      return 'sent';
    },
    subscribe(subject, onNotice) {
      checkSubject(subject);
      let set = subs.get(subject);
      if (!set) subs.set(subject, (set = new Set()));
      const f = onNotice as (n: unknown) => void;
      set.add(f);
      return { stop: () => void set.delete(f) };
    },
    async close() {
      closed = true;
      subs.clear();
    },
  };
}

export interface NatsNoticeBusOptions {
  readonly nc: NatsConnection;
  readonly logger?: Logger;
  readonly stream?: string;
  readonly maxMsgs?: number;
  readonly maxAgeMs?: number;
  readonly maxBytes?: number;
  readonly publishTimeoutMs?: number;
}

/** Creates (or brings to these limits) the JEPA_NOTICES stream. Start the job bus first: it moves
 *  notification subjects out of a JEPA_JOBS stream created by an older version. */
export async function createNatsNoticeBus(o: NatsNoticeBusOptions): Promise<NoticeBus> {
  const logger = o.logger ?? silentLogger;
  const stream = o.stream ?? DEFAULT_NOTICE_STREAM;
  const timeout = o.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  const { nc } = o;
  const js = jetstream(nc);
  const cfg = {
    subjects: [...NOTICE_SUBJECTS],
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    storage: StorageType.File,
    max_msgs: o.maxMsgs ?? DEFAULT_NOTICE_MAX_MSGS,
    max_age: nanos(o.maxAgeMs ?? DEFAULT_NOTICE_MAX_AGE_MS),
    max_bytes: o.maxBytes ?? DEFAULT_NOTICE_MAX_BYTES,
    max_msg_size: NOTICE_MAX_MSG_BYTES,
    duplicate_window: nanos(2 * 60_000),
  };
  try {
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.info(stream);
      await jsm.streams.update(stream, cfg);
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.StreamNotFound) throw err;
      await jsm.streams.add({ name: stream, ...cfg });
    }
  } catch (cause) {
    throw new JobError(JobErrorCode.NATS, `cannot create notification stream ${stream}`, { cause });
  }
  const subs = new Set<Subscription>();
  let closed = false;
  return {
    async notify(subject, payload, { id }) {
      checkSubject(subject);
      checkId(id);
      const data = encodeEvent(checkNotice(subject, payload, 'publish'));
      if (closed || nc.isClosed()) return 'dropped';
      try {
        await js.publish(subject, data, { msgID: id, timeout });
        return 'sent';
      } catch (error) {
        logger.warn('notification dropped', { subject, id, error });
        return 'dropped';
      }
    },
    subscribe(subject, onNotice) {
      checkSubject(subject);
      const sub = nc.subscribe(subject, {
        callback: (err, m) => {
          if (err) return logger.warn('notification subscription error', { subject, error: err });
          let n;
          try {
            n = checkNotice(subject, decodeEvent(m.data), 'consume');
          } catch (error) {
            return logger.warn('notification refused', { subject, error });
          }
          try {
            onNotice(n);
          } catch (error) {
            logger.error('notification subscriber threw', { subject, error });
          }
        },
      });
      subs.add(sub);
      return {
        stop: () => {
          subs.delete(sub);
          sub.unsubscribe();
        },
      };
    },
    async close() {
      closed = true;
      for (const s of subs) s.unsubscribe();
      subs.clear();
    },
  };
}
