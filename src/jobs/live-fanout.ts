// Cross-node fan-out of live dashboard updates on `live.<clinic>.<sessionId>`: plain core NATS,
// lossy by design (a dashboard wants the latest state, not a replay). Never blocks, never buffers
// while NATS is down: those updates are dropped and counted.
import { headers, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { JobError, JobErrorCode } from './errors.js';

export interface LiveMessage {
  readonly clinic: string;
  readonly sessionId: string;
  readonly data: Uint8Array;
}

export interface LiveFanoutStats {
  readonly published: number;
  readonly dropped: number;
  readonly received: number;
}

export interface LiveFanout {
  /** Fire and forget; drops (and counts) when the transport is down. */
  publish(clinic: string, sessionId: string, data: Uint8Array): void;
  /** Updates from OTHER nodes for a clinic (all its sessions) or one session. */
  subscribe(filter: { readonly clinic: string; readonly sessionId?: string }, onMessage: (m: LiveMessage) => void): { stop(): void };
  readonly stats: LiveFanoutStats;
  close(): Promise<void>;
}

export const LIVE_PREFIX = 'live';
const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;
const ORIGIN_HEADER = 'Jm-Origin';

export function liveSubject(clinic: string, sessionId?: string): string {
  for (const t of sessionId === undefined ? [clinic] : [clinic, sessionId]) {
    if (!TOKEN.test(t)) throw new JobError(JobErrorCode.BAD_REQUEST, `live subject token ${JSON.stringify(t)} must be 1..128 chars of [A-Za-z0-9_-]`);
  }
  return `${LIVE_PREFIX}.${clinic}.${sessionId ?? '*'}`;
}

export interface NatsLiveFanoutOptions {
  /** This node's id: a node does not receive its own updates back (its local hub already has them). */
  readonly nodeId: string;
  readonly logger?: Logger;
}

export function createNatsLiveFanout(nc: NatsConnection, o: NatsLiveFanoutOptions): LiveFanout {
  const logger = o.logger ?? silentLogger;
  const subs = new Set<Subscription>();
  let up = !nc.isClosed();
  let published = 0;
  let dropped = 0;
  let received = 0;
  const statusIter = nc.status();
  void (async () => {
    for await (const s of statusIter) {
      if (s.type === 'disconnect' || s.type === 'close') up = false;
      else if (s.type === 'reconnect') up = true;
    }
  })();

  return {
    publish(clinic, sessionId, data) {
      const subject = liveSubject(clinic, sessionId);
      if (!up || nc.isClosed()) {
        dropped += 1;
        return;
      }
      const h = headers();
      h.set(ORIGIN_HEADER, o.nodeId);
      try {
        nc.publish(subject, data, { headers: h });
        published += 1;
      } catch (error) {
        dropped += 1;
        logger.debug('live update dropped', { subject, error });
      }
    },
    subscribe(filter, onMessage) {
      const sub = nc.subscribe(liveSubject(filter.clinic, filter.sessionId), {
        callback: (err, m) => {
          if (err) return logger.warn('live subscription error', { error: err });
          if (m.headers?.get(ORIGIN_HEADER) === o.nodeId) return;
          const [, clinic = '', sessionId = ''] = m.subject.split('.');
          received += 1;
          try {
            onMessage({ clinic, sessionId, data: m.data });
          } catch (error) {
            logger.error('live subscriber threw', { subject: m.subject, error });
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
    get stats() {
      return { published, dropped, received };
    },
    async close() {
      for (const s of subs) s.unsubscribe();
      subs.clear();
      (statusIter as Partial<{ stop(): void }>).stop?.();
    },
  };
}

/** Single-node stand-in: there are no other nodes, so nothing is ever received. */
export function createLocalLiveFanout(): LiveFanout {
  let published = 0;
  return {
    publish(clinic, sessionId) {
      liveSubject(clinic, sessionId);
      published += 1;
    },
    subscribe(filter) {
      liveSubject(filter.clinic, filter.sessionId);
      return { stop: () => undefined };
    },
    get stats() {
      return { published, dropped: 0, received: 0 };
    },
    close: async () => undefined,
  };
}
