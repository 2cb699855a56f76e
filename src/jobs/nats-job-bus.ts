// JetStream work-queue implementation of JobBus. Publish never fails because NATS is down: the
// event lands in the fsynced outbox ("queued") and is flushed in order once NATS is back.
import {
  AckPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type JsMsg,
  type Consumer,
  type ConsumerMessages,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { JobError, JobErrorCode } from './errors.js';
import {
  JOB_SUBJECTS,
  checkId,
  checkSubject,
  encodeJob,
  resolveConsumeOptions,
  type JobBus,
  type JobHandler,
  type JobSubject,
  type PublishResult,
  type ResolvedConsumeOptions,
} from './job-bus.js';
import type { Outbox } from './outbox.js';
import { describeReason, runAttempt } from './run-attempt.js';

export const DEFAULT_STREAM = 'JEPA_JOBS';
/** Long enough to cover an outage the outbox rides out; ids are small, jobs are few. */
export const DEFAULT_DUPLICATE_WINDOW_MS = 60 * 60_000;
export const DEFAULT_MAX_STREAM_JOBS = 100_000;
/** ack_wait = ackWaitMs + this, so the local deadline naks before the server redelivers. */
const ACK_WAIT_GRACE_MS = 2_000;
/** A pull request lives this long; `stop()` may wait up to this for the open one to expire (messages
 *  delivered into it meanwhile are naked at once, so none sits out an ack_wait). */
export const DEFAULT_POLL_MS = 2_000;
const RETRY_MIN_MS = 100;
/** JetStream err_code for "maximum messages/bytes exceeded" on a discard-new stream. */
const STREAM_STORE_FAILED = 10077;
const RETRY_MAX_MS = 5_000;

export interface NatsJobBusOptions {
  readonly nc: NatsConnection;
  /** Where events wait while NATS is unreachable. */
  readonly outbox: Outbox;
  readonly logger?: Logger;
  readonly stream?: string;
  readonly duplicateWindowMs?: number;
  /** Stream bound (discard new): a full stream rejects publishes with BUS_FULL. Default 100 000. */
  readonly maxStreamJobs?: number;
  /** How long a publish waits for the JetStream ack before the event goes to the outbox. Default 5 s. */
  readonly publishTimeoutMs?: number;
  /** Replicas when the stream is created (JetStream cluster size, 1–5). Default 1. */
  readonly replicas?: number;
  /** Lifetime of one pull request (upper bound on `stop()` latency). Default 2 s. */
  readonly pollMs?: number;
}

export interface NatsJobBus extends JobBus {
  /** Events waiting in the outbox. */
  readonly queued: number;
  /** Resolves when the outbox is empty (or rejects after `timeoutMs`). For shutdown and tests. */
  flushed(timeoutMs: number): Promise<void>;
}

/** Creates the `JEPA_JOBS` work-queue stream when missing. NATS must be reachable at start. */
export async function createNatsJobBus(o: NatsJobBusOptions): Promise<NatsJobBus> {
  const logger = o.logger ?? silentLogger;
  const stream = o.stream ?? DEFAULT_STREAM;
  const publishTimeout = o.publishTimeoutMs ?? 5_000;
  const pollMs = o.pollMs ?? DEFAULT_POLL_MS;
  const { nc, outbox } = o;
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc).catch((cause: unknown) => {
    throw new JobError(JobErrorCode.NATS, 'JetStream is not available', { cause });
  });

  const ensureStream = async (): Promise<void> => {
    try {
      const info = await jsm.streams.info(stream);
      // A stream from before notifications left the work queue also holds `model.updated`: nothing
      // consumes those there, so drop them and narrow the stream to job subjects.
      const stray = info.config.subjects.filter((s) => !(JOB_SUBJECTS as readonly string[]).includes(s));
      if (stray.length > 0) {
        for (const filter of stray) await jsm.streams.purge(stream, { filter });
        await jsm.streams.update(stream, { subjects: [...JOB_SUBJECTS] });
        logger.info('job stream narrowed to job subjects', { stream, removed: stray });
      }
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.StreamNotFound) throw err;
      await jsm.streams.add({
        name: stream,
        subjects: [...JOB_SUBJECTS],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        discard: DiscardPolicy.New,
        max_msgs: o.maxStreamJobs ?? DEFAULT_MAX_STREAM_JOBS,
        duplicate_window: nanos(o.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS),
        num_replicas: o.replicas ?? 1,
      });
    }
  };
  await ensureStream().catch((cause: unknown) => {
    throw new JobError(JobErrorCode.NATS, `cannot create stream ${stream}`, { cause });
  });

  let up = !nc.isClosed();
  let closed = false;
  let flushing = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryDelay = RETRY_MIN_MS;
  const flushWaiters = new Set<() => void>();
  const consumers = new Set<{ stop(): Promise<void> }>();
  const wakers = new Set<() => void>();

  const notifyFlushed = (): void => {
    if (outbox.size === 0) for (const f of flushWaiters) f();
  };

  const flush = async (): Promise<void> => {
    if (flushing || closed) return;
    flushing = true;
    try {
      let ensured = false;
      for (let e = outbox.peek(); e && up && !closed; e = outbox.peek()) {
        try {
          if (!ensured) await ensureStream();
          ensured = true;
          const ack = await js.publish(e.subject, e.payload, { msgID: e.id, timeout: publishTimeout });
          await outbox.remove(e.seq);
          retryDelay = RETRY_MIN_MS;
          logger.info('outbox event sent', { id: e.id, subject: e.subject, duplicate: ack.duplicate, queuedMs: Date.now() - e.queuedAt });
        } catch (error) {
          logger.warn('outbox flush failed, will retry', { id: e.id, delayMs: retryDelay, error });
          scheduleRetry();
          return;
        }
      }
    } finally {
      flushing = false;
      notifyFlushed();
    }
  };

  const scheduleRetry = (): void => {
    if (retryTimer !== undefined || closed) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void flush();
    }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
  };

  // Connection state drives the fast path: while disconnected, publishes go straight to the
  // outbox instead of waiting out the ack timeout in the client's reconnect buffer.
  const statusIter = nc.status();
  void (async () => {
    for await (const s of statusIter) {
      if (s.type === 'disconnect') up = false;
      else if (s.type === 'reconnect') {
        up = true;
        retryDelay = RETRY_MIN_MS;
        void flush();
        // Workers sleeping in their fetch backoff retry now instead of after up to RETRY_MAX_MS.
        for (const w of wakers) w();
      } else if (s.type === 'close') up = false;
    }
  })();

  const enqueue = async (subject: JobSubject, id: string, payload: Uint8Array): Promise<PublishResult> => {
    await outbox.append({ subject, id, payload });
    void flush();
    return { status: 'queued', duplicate: false };
  };

  const bus: NatsJobBus = {
    get queued() {
      return outbox.size;
    },

    async publish(subject, event, { id }) {
      if (closed) throw new JobError(JobErrorCode.CLOSED, 'bus is closed');
      const s = checkSubject(subject);
      checkId(id);
      const payload = encodeJob(s, event);
      // Anything already waiting goes first: order is preserved across an outage.
      if (!up || nc.isClosed() || outbox.size > 0) return enqueue(s, id, payload);
      try {
        const ack = await js.publish(s, payload, { msgID: id, timeout: publishTimeout });
        return { status: 'sent', duplicate: ack.duplicate };
      } catch (err) {
        if (err instanceof JetStreamApiError && (err.status !== 503 || err.code === STREAM_STORE_FAILED)) {
          // The server is up and refused (stream full, limits): not an outage, so not queued either.
          const code = err.code === STREAM_STORE_FAILED ? JobErrorCode.BUS_FULL : JobErrorCode.NATS;
          throw new JobError(code, `JetStream refused the job: ${err.message}`, { cause: err });
        }
        logger.warn('publish failed, event queued in outbox', { id, subject: s, error: err });
        // The event may have landed before the failure; the same Nats-Msg-Id makes the replay a no-op.
        return enqueue(s, id, payload);
      }
    },

    async consume(subject, handler, opts) {
      if (closed) throw new JobError(JobErrorCode.CLOSED, 'bus is closed');
      const s = checkSubject(subject);
      const r = resolveConsumeOptions(opts);
      const durable = `jobs_${s.replaceAll('.', '_')}`;
      try {
        await ensureStream();
        const ackWait = r.redeliverAfterMs ?? r.ackWaitMs + ACK_WAIT_GRACE_MS;
        const cfg = { ack_wait: nanos(ackWait), max_deliver: r.maxDeliver, max_ack_pending: Math.max(r.concurrency * 4, 100) };
        try {
          await jsm.consumers.info(stream, durable);
          await jsm.consumers.update(stream, durable, cfg);
        } catch (err) {
          if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.ConsumerNotFound) throw err;
          await jsm.consumers.add(stream, { durable_name: durable, filter_subject: s, ack_policy: AckPolicy.Explicit, ...cfg });
        }
      } catch (cause) {
        throw new JobError(JobErrorCode.NATS, `cannot create consumer ${durable}`, { cause });
      }
      // Deliveries are checked against `subject`'s contract before the handler runs (runAttempt).
      const c = startWorker(s, durable, handler as JobHandler, r);
      consumers.add(c);
      return {
        stop: async () => {
          consumers.delete(c);
          await c.stop();
        },
      };
    },

    async depth(subject) {
      const s = checkSubject(subject);
      const info = await jsm.streams.info(stream, { subjects_filter: s });
      return info.state.subjects?.[s] ?? 0;
    },

    flushed(timeoutMs) {
      if (outbox.size === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const done = (): void => {
          clearTimeout(t);
          flushWaiters.delete(done);
          resolve();
        };
        const t = setTimeout(() => {
          flushWaiters.delete(done);
          reject(new JobError(JobErrorCode.TIMEOUT, `outbox not flushed within ${timeoutMs} ms (${outbox.size} left)`));
        }, timeoutMs);
        flushWaiters.add(done);
      });
    },

    async close() {
      closed = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      await Promise.all([...consumers].map((c) => c.stop()));
      consumers.clear();
      // The connection belongs to the caller; only our status listener is detached (typed as a
      // plain AsyncIterable, it is a QueuedIterator at runtime).
      (statusIter as Partial<{ stop(): void }>).stop?.();
    },
  };

  function startWorker(subject: JobSubject, durable: string, handler: JobHandler, r: ResolvedConsumeOptions): { stop(): Promise<void> } {
    const inflight = new Set<Promise<void>>();
    let stopping = false;
    let batch: ConsumerMessages | undefined;
    let wake: (() => void) | undefined;

    const handle = async (m: JsMsg): Promise<void> => {
      const attempt = m.info.deliveryCount;
      const id = m.headers?.get('Nats-Msg-Id') || `${stream}:${m.seq}`;
      // With redeliverAfterMs, a running job's ack_wait is renewed from here, not only when the handler
      // reports progress: a dead process stops renewing it, a live one never lets it lapse.
      const beat = r.redeliverAfterMs === undefined ? undefined : setInterval(() => m.working(), r.redeliverAfterMs / 3);
      const out = await runAttempt({ id, subject, attempt, payload: m.data, working: () => m.working() }, handler, r, logger).finally(() =>
        clearInterval(beat),
      );
      try {
        if (out.kind === 'ack') await m.ackAck();
        else if (out.kind === 'nak') m.nak(out.delayMs);
        else {
          m.term(describeReason(out.error).slice(0, 200));
          // Older servers (2.9) keep a terminated message in a work-queue stream forever, where it
          // counts against max_msgs; the failure is already logged and reported via onSettled.
          await jsm.streams.deleteMessage(stream, m.seq, false).catch(() => false);
        }
      } catch (error) {
        // Lost ack: the job is redelivered after ack_wait and the worker's idempotency check skips it.
        logger.warn('job ack failed', { id, subject, outcome: out.kind, error });
      }
      try {
        r.onSettled({ id, subject, attempt, outcome: out.kind, ...(out.kind === 'ack' ? {} : { error: out.error }) });
      } catch (error) {
        logger.error('onSettled threw', { id, error });
      }
    };

    // Sleeps `ms`, or until a reconnect / stop wakes it.
    const pause = (ms: number): Promise<void> =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(t);
          wakers.delete(done);
          wake = undefined;
          resolve();
        };
        const t = setTimeout(done, ms);
        wake = done;
        wakers.add(done);
      });

    const loop = (async () => {
      let delay = RETRY_MIN_MS;
      let consumer: Consumer | undefined;
      while (!stopping) {
        while (inflight.size >= r.concurrency) await Promise.race(inflight);
        if (stopping) break;
        // While disconnected a pull would sit in the client's buffer and die on a request timeout
        // after the server is back; wait for the reconnect instead.
        if (!up) {
          await pause(RETRY_MAX_MS);
          continue;
        }
        try {
          consumer ??= await js.consumers.get(stream, durable);
          // Pull only as many as there are free slots: no job waits unstarted in this process.
          batch = await consumer.fetch({ max_messages: r.concurrency - inflight.size, expires: pollMs });
          for await (const m of batch) {
            if (stopping) {
              m.nak();
              continue;
            }
            const p: Promise<void> = handle(m).finally(() => inflight.delete(p));
            inflight.add(p);
          }
          delay = RETRY_MIN_MS;
        } catch (error) {
          consumer = undefined;
          if (stopping) break;
          logger.warn('job fetch failed, retrying', { subject, delayMs: delay, error });
          await pause(delay);
          delay = Math.min(delay * 2, RETRY_MAX_MS);
        } finally {
          batch = undefined;
        }
      }
    })();

    return {
      stop: async () => {
        stopping = true;
        wake?.();
        await batch?.close();
        await loop;
        await Promise.all(inflight);
      },
    };
  }

  void flush();
  return bus;
}
