// The default bus for the embedded server: same contract as JetStream, in memory. A process crash
// loses queued jobs (there is nothing durable here); use the NATS bus where that matters.
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { JobError, JobErrorCode } from './errors.js';
import {
  checkId,
  checkSubject,
  encodeJob,
  resolveConsumeOptions,
  type ConsumeOptions,
  type Consumption,
  type JobBus,
  type JobHandler,
  type JobSubject,
  type PublishResult,
  type ResolvedConsumeOptions,
} from './job-bus.js';
import { runAttempt } from './run-attempt.js';

export const DEFAULT_MAX_QUEUED = 10_000;
export const DEFAULT_DEDUP_IDS = 10_000;

export interface InProcessBusOptions {
  /**
   * Jobs held (queued + waiting for retry + running), all subjects together. When full, `publish`
   * rejects with BUS_FULL: jobs are never dropped silently. Default 10 000.
   */
  readonly maxQueued?: number;
  /** Recent ids remembered for duplicate detection (oldest forgotten first). Default 10 000. */
  readonly dedupIds?: number;
  readonly logger?: Logger;
}

interface Msg {
  readonly id: string;
  readonly subject: JobSubject;
  readonly payload: Uint8Array;
  deliveries: number;
}

interface Worker {
  readonly subject: JobSubject;
  readonly handler: JobHandler;
  readonly opts: ResolvedConsumeOptions;
  active: number;
  stopped: boolean;
  readonly idle: Array<() => void>;
}

export function createInProcessBus(options: InProcessBusOptions = {}): JobBus {
  const maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
  const dedupIds = options.dedupIds ?? DEFAULT_DEDUP_IDS;
  const logger = options.logger ?? silentLogger;
  const queues = new Map<JobSubject, Msg[]>();
  const held = new Map<JobSubject, number>();
  const seen = new Set<string>();
  const workers: Worker[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let total = 0;
  let closed = false;

  const queueOf = (s: JobSubject): Msg[] => {
    let q = queues.get(s);
    if (!q) queues.set(s, (q = []));
    return q;
  };
  const adjust = (s: JobSubject, by: number): void => {
    held.set(s, (held.get(s) ?? 0) + by);
    total += by;
  };

  const pump = (subject: JobSubject): void => {
    const q = queueOf(subject);
    let progressed = true;
    while (q.length > 0 && progressed) {
      progressed = false;
      for (const w of workers) {
        if (w.subject !== subject || w.stopped || w.active >= w.opts.concurrency || q.length === 0) continue;
        start(w, q.shift() as Msg);
        progressed = true;
      }
    }
  };

  const start = (w: Worker, m: Msg): void => {
    w.active += 1;
    m.deliveries += 1;
    const attempt = m.deliveries;
    void runAttempt({ id: m.id, subject: m.subject, attempt, payload: m.payload }, w.handler, w.opts, logger).then((out) => {
      w.active -= 1;
      if (out.kind === 'nak') {
        // Like JetStream: the job is invisible for the backoff, then goes back to the head.
        const t = setTimeout(() => {
          timers.delete(t);
          queueOf(m.subject).unshift(m);
          pump(m.subject);
        }, out.delayMs);
        timers.add(t);
      } else {
        adjust(m.subject, -1);
      }
      const info = { id: m.id, subject: m.subject, attempt, outcome: out.kind, ...(out.kind === 'ack' ? {} : { error: out.error }) };
      try {
        w.opts.onSettled(info);
      } catch (error) {
        logger.error('onSettled threw', { id: m.id, error });
      }
      if (w.active === 0) for (const f of w.idle.splice(0)) f();
      pump(m.subject);
    });
  };

  return {
    publish(subject, event, { id }): Promise<PublishResult> {
      try {
        if (closed) throw new JobError(JobErrorCode.CLOSED, 'bus is closed');
        const s = checkSubject(subject);
        checkId(id);
        const payload = encodeJob(s, event);
        if (seen.has(id)) return Promise.resolve({ status: 'sent', duplicate: true });
        if (total >= maxQueued) throw new JobError(JobErrorCode.BUS_FULL, `in-process bus holds ${total} jobs (limit ${maxQueued})`);
        seen.add(id);
        if (seen.size > dedupIds) seen.delete(seen.values().next().value as string);
        queueOf(s).push({ id, subject: s, payload, deliveries: 0 });
        adjust(s, 1);
        pump(s);
        return Promise.resolve({ status: 'sent', duplicate: false });
      } catch (err) {
        return Promise.reject(err);
      }
    },

    consume(subject, handler, opts?: ConsumeOptions): Promise<Consumption> {
      try {
        if (closed) throw new JobError(JobErrorCode.CLOSED, 'bus is closed');
        // Deliveries are checked against `subject`'s contract before the handler runs (runAttempt).
        const w: Worker = {
          subject: checkSubject(subject),
          handler: handler as JobHandler,
          opts: resolveConsumeOptions(opts),
          active: 0,
          stopped: false,
          idle: [],
        };
        workers.push(w);
        pump(w.subject);
        const stop = async (): Promise<void> => {
          w.stopped = true;
          if (w.active > 0) await new Promise<void>((r) => w.idle.push(r));
          const i = workers.indexOf(w);
          if (i >= 0) workers.splice(i, 1);
        };
        return Promise.resolve({ stop });
      } catch (err) {
        return Promise.reject(err);
      }
    },

    async depth(subject) {
      return held.get(checkSubject(subject)) ?? 0;
    },

    async close() {
      closed = true;
      await Promise.all(
        workers.slice().map(async (w) => {
          w.stopped = true;
          if (w.active > 0) await new Promise<void>((r) => w.idle.push(r));
        }),
      );
      workers.length = 0;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
