// Fan-out of live session state to dashboards (/v1/live).
//
// Policy (DESIGN "slow dashboards are dropped to latest-state, never buffered without bound"):
// - Throttle: at most `updateHz` updates per session are emitted; between emissions only the latest
//   state is kept (latest wins), so a 60 Hz session costs dashboards ≤ updateHz messages/s.
// - Snapshot: the last `snapshotSeconds × updateHz` emitted updates per session live in a ring buffer
//   and are sent on subscribe.
// - Slow subscribers: before each send the subscriber's buffered amount is checked; above
//   `slowThresholdBytes` the update is skipped and counted (droppedUpdates), the session is marked
//   stale for that subscriber, and on `drain` it gets the newest update of each stale session. What a
//   subscriber can have buffered is therefore ≤ threshold + one message; uWS's maxBackpressure (with
//   closeOnBackpressureLimit) closes a connection only if a single burst (e.g. a snapshot) overshoots.
// Updates are encoded once and the same bytes go to every recipient.
// Cross-node (distributed mode): every message about a local session is also published on the fan-out
// (NATS `live.<clinic>.<sessionId>`, lossy by design); while a dashboard here follows a clinic, that
// clinic's messages from other nodes are forwarded to it under the same slow-subscriber rule (a slow
// dashboard skips them; the next one brings it up to date). Snapshots and session subscriptions cover
// sessions of this node only.
// Presence: every `presenceIntervalMs` each live session's `session.started` is repeated, to other
// nodes and to this node's clinic subscribers, so a dashboard that subscribed after a session began on
// another node still lists it, and a dashboard can drop a session it has not heard of for a few
// intervals (its node died without `session.ended`). Dashboards treat `session.started` idempotently.
import { RingBuffer } from './ring-buffer.js';
import type { Update } from '../protocol/index.js';
import type { Assessment } from '../../streams/types.js';
import type { Clock, OutMessage, Principal, SendResult } from './types.js';

export interface LiveSubscriber {
  readonly id: number;
  readonly principal: Principal;
  bufferedAmount(): number;
  sendBytes(bytes: Uint8Array): SendResult;
  /** Mirrors hub membership into transport topics (uWS subscribe/unsubscribe) for lifecycle publishes. */
  topic(topic: string, on: boolean): void;
}

export interface LiveSessionInfo {
  readonly sessionId: string;
  readonly clinic: string;
  readonly patientId: string;
  readonly assessment: Assessment;
  /** Epoch milliseconds (server clock). */
  readonly startedAt: number;
}

export interface LiveHubOptions {
  readonly updateHz: number;
  readonly snapshotSeconds: number;
  readonly slowThresholdBytes: number;
  /** Subscriptions one connection may hold (SUBSCRIPTION_LIMIT beyond). */
  readonly maxSubscriptions: number;
  /** Repeat each live session's `session.started` this often (ms); 0 = never. */
  readonly presenceIntervalMs?: number;
}

/** Cross-node fan-out (src/jobs/live-fanout.ts LiveFanout). */
export interface LiveFanoutLike {
  publish(clinic: string, sessionId: string, data: Uint8Array): void;
  subscribe(
    filter: { readonly clinic: string },
    onMessage: (m: { readonly clinic: string; readonly sessionId: string; readonly data: Uint8Array }) => void,
  ): { stop(): void };
}

export interface LiveHubDeps {
  readonly fanout?: LiveFanoutLike;
  readonly clock: Clock;
  readonly encode: (msg: OutMessage) => Uint8Array;
  /** Lifecycle events go through transport pub/sub (uWS app.publish on the topic). */
  readonly publish: (topic: string, bytes: Uint8Array) => void;
  readonly onDropped: (reason: 'slow_subscriber' | 'fanout') => void;
  readonly onSend: (result: SendResult) => void;
}

export type SubscribeTarget = { readonly sessionId: string } | { readonly clinic: string };

interface LiveSession {
  readonly info: LiveSessionInfo;
  readonly ring: RingBuffer<Update>;
  lastEmitMs: number;
  pending: Update | undefined;
  timer: { cancel(): void } | undefined;
  /** The newest emitted update, and its bytes once someone needed them (encoded at most once). */
  latest: Update | undefined;
  latestBytes: Uint8Array | undefined;
  /** The encoded `session.started`, repeated for presence. */
  readonly started: Uint8Array;
}

export const sessionTopic = (id: string): string => `session/${id}`;
export const clinicTopic = (clinic: string): string => `clinic/${clinic}`;

export class LiveHub {
  private readonly sessions = new Map<string, LiveSession>();
  private readonly topics = new Map<string, Set<LiveSubscriber>>();
  private readonly stale = new Map<LiveSubscriber, Set<string>>();
  private readonly held = new Map<LiveSubscriber, Set<string>>();
  private readonly remote = new Map<string, { stop(): void }>();
  private readonly intervalMs: number;
  private readonly ringSize: number;
  private presenceTimer: { cancel(): void } | undefined;

  constructor(
    private readonly opts: LiveHubOptions,
    private readonly deps: LiveHubDeps,
  ) {
    if (!(opts.updateHz > 0)) throw new RangeError(`updateHz must be > 0, got ${opts.updateHz}`);
    this.intervalMs = 1000 / opts.updateHz;
    this.ringSize = Math.max(1, Math.ceil(opts.snapshotSeconds * opts.updateHz));
  }

  list(clinic: string): LiveSessionInfo[] {
    return [...this.sessions.values()].filter((s) => s.info.clinic === clinic).map((s) => s.info);
  }

  get(sessionId: string): LiveSessionInfo | undefined {
    return this.sessions.get(sessionId)?.info;
  }

  sessionStarted(info: LiveSessionInfo): void {
    if (this.sessions.has(info.sessionId)) return; // a resumed session keeps its history
    const bytes = this.deps.encode({ type: 'session.started', ...info });
    this.sessions.set(info.sessionId, {
      info,
      ring: new RingBuffer(this.ringSize),
      lastEmitMs: -Infinity,
      pending: undefined,
      timer: undefined,
      latest: undefined,
      latestBytes: undefined,
      started: bytes,
    });
    this.deps.publish(clinicTopic(info.clinic), bytes);
    this.toOtherNodes(info.clinic, info.sessionId, bytes);
    this.schedulePresence();
  }

  /** Offers the newest state of a session; emitted now or at the next throttle slot (latest wins). */
  update(sessionId: string, update: Update): void {
    const s = this.sessions.get(sessionId);
    if (!s) return;
    const now = this.deps.clock.now();
    if (now - s.lastEmitMs >= this.intervalMs) {
      s.pending = undefined;
      this.emit(s, update, now);
      return;
    }
    s.pending = update;
    s.timer ??= this.deps.clock.setTimeout(
      () => {
        s.timer = undefined;
        const p = s.pending;
        s.pending = undefined;
        if (p && this.sessions.get(sessionId) === s) this.emit(s, p, this.deps.clock.now());
      },
      s.lastEmitMs + this.intervalMs - now,
    );
  }

  sessionEnded(sessionId: string, result: { readonly frames: number; readonly jobId?: string }): void {
    const s = this.sessions.get(sessionId);
    if (!s) return;
    s.timer?.cancel();
    if (s.pending) this.emit(s, s.pending, this.deps.clock.now());
    // Sent directly rather than with uWS publish: uWS drains published messages on the next loop
    // iteration, after the unsubscribe below would already have removed the recipients.
    const bytes = this.deps.encode({ type: 'session.ended', sessionId, ...result });
    const recipients = new Set<LiveSubscriber>([...(this.topics.get(sessionTopic(sessionId)) ?? []), ...(this.topics.get(clinicTopic(s.info.clinic)) ?? [])]);
    for (const sub of recipients) this.deps.onSend(sub.sendBytes(bytes));
    this.toOtherNodes(s.info.clinic, sessionId, bytes);
    this.sessions.delete(sessionId);
    for (const sub of this.topics.get(sessionTopic(sessionId)) ?? []) {
      sub.topic(sessionTopic(sessionId), false);
      this.held.get(sub)?.delete(sessionTopic(sessionId));
    }
    this.topics.delete(sessionTopic(sessionId));
    for (const set of this.stale.values()) set.delete(sessionId);
  }

  /**
   * A task pack was stored (`taskpack.ready` notification, which every node receives itself — so it is
   * not relayed to other nodes): told to this node's subscribers of that clinic only, skipping slow ones
   * (the dashboard's periodic GET /v1/taskpacks still lists it).
   */
  taskpackReady(n: { readonly taskpackId: string; readonly sessionId: string; readonly patientId: string; readonly clinic: string }): void {
    if (!this.topics.get(clinicTopic(n.clinic))?.size) return;
    const { taskpackId, sessionId, patientId, clinic } = n;
    this.toClinic(clinic, this.deps.encode({ type: 'taskpack.ready', taskpackId, sessionId, patientId, clinic }), true);
  }

  /** Adds a subscription (authorisation is the caller's job) and sends the snapshot(s). */
  subscribe(sub: LiveSubscriber, target: SubscribeTarget): 'ok' | 'not_found' | 'limit' {
    const sessions =
      'sessionId' in target
        ? [this.sessions.get(target.sessionId)].filter((s) => s !== undefined)
        : [...this.sessions.values()].filter((s) => s.info.clinic === target.clinic);
    if ('sessionId' in target && sessions.length === 0) return 'not_found';
    const topic = 'sessionId' in target ? sessionTopic(target.sessionId) : clinicTopic(target.clinic);
    let held = this.held.get(sub);
    if (!held) this.held.set(sub, (held = new Set()));
    if (!held.has(topic) && held.size >= this.opts.maxSubscriptions) return 'limit';
    held.add(topic);
    let set = this.topics.get(topic);
    if (!set) this.topics.set(topic, (set = new Set()));
    set.add(sub);
    sub.topic(topic, true);
    if ('clinic' in target) this.followOtherNodes(target.clinic);
    for (const s of sessions) {
      if ('clinic' in target) this.deps.onSend(sub.sendBytes(this.deps.encode({ type: 'session.started', ...s.info })));
      const updates = s.ring.toArray();
      this.deps.onSend(sub.sendBytes(this.deps.encode({ type: 'snapshot', sessionId: s.info.sessionId, updates })));
    }
    return 'ok';
  }

  unsubscribe(sub: LiveSubscriber, target: SubscribeTarget): void {
    const topic = 'sessionId' in target ? sessionTopic(target.sessionId) : clinicTopic(target.clinic);
    this.topics.get(topic)?.delete(sub);
    this.held.get(sub)?.delete(topic);
    sub.topic(topic, false);
    if ('clinic' in target) this.unfollowIfUnwatched(target.clinic);
  }

  /** A subscriber's connection closed. */
  remove(sub: LiveSubscriber): void {
    const held = [...(this.held.get(sub) ?? [])];
    for (const topic of held) this.topics.get(topic)?.delete(sub);
    this.held.delete(sub);
    this.stale.delete(sub);
    for (const topic of held) if (topic.startsWith('clinic/')) this.unfollowIfUnwatched(topic.slice('clinic/'.length));
  }

  /** The subscriber's socket drained: send the newest update of every session it missed. */
  drain(sub: LiveSubscriber): void {
    const missed = this.stale.get(sub);
    if (!missed) return;
    for (const id of [...missed]) {
      if (sub.bufferedAmount() > this.opts.slowThresholdBytes) return;
      missed.delete(id);
      const session = this.sessions.get(id);
      const latest = session ? this.latestBytes(session) : undefined;
      if (latest) this.deps.onSend(sub.sendBytes(latest));
    }
    if (missed.size === 0) this.stale.delete(sub);
  }

  /** Cancels throttle timers (shutdown). */
  close(): void {
    this.presenceTimer?.cancel();
    this.presenceTimer = undefined;
    for (const s of this.sessions.values()) s.timer?.cancel();
    for (const r of this.remote.values()) r.stop();
    this.remote.clear();
  }

  private schedulePresence(): void {
    const every = this.opts.presenceIntervalMs ?? 0;
    if (!(every > 0) || this.presenceTimer) return;
    this.presenceTimer = this.deps.clock.setTimeout(() => {
      this.presenceTimer = undefined;
      if (this.sessions.size === 0) return; // the next session.started restarts the beat
      for (const s of this.sessions.values()) {
        this.toOtherNodes(s.info.clinic, s.info.sessionId, s.started);
        this.toClinic(s.info.clinic, s.started, false);
      }
      this.schedulePresence();
    }, every);
  }

  /**
   * To this node's subscribers of a clinic, skipping slow ones (the next beat or update catches up).
   * A skipped presence beat is not a dropped update, so only `countDrops` sends are counted.
   */
  private toClinic(clinic: string, bytes: Uint8Array, countDrops: boolean): void {
    for (const sub of this.topics.get(clinicTopic(clinic)) ?? []) {
      if (sub.bufferedAmount() > this.opts.slowThresholdBytes) {
        if (countDrops) this.deps.onDropped('slow_subscriber');
        continue;
      }
      this.deps.onSend(sub.sendBytes(bytes));
    }
  }

  private latestBytes(s: LiveSession): Uint8Array | undefined {
    if (s.latest === undefined) return undefined;
    return (s.latestBytes ??= this.deps.encode(s.latest));
  }

  private toOtherNodes(clinic: string, sessionId: string, bytes: Uint8Array): void {
    if (!this.deps.fanout) return;
    try {
      this.deps.fanout.publish(clinic, sessionId, bytes);
    } catch {
      this.deps.onDropped('fanout'); // e.g. an id that is not a valid subject token
    }
  }

  private followOtherNodes(clinic: string): void {
    if (!this.deps.fanout || this.remote.has(clinic)) return;
    try {
      this.remote.set(
        clinic,
        this.deps.fanout.subscribe({ clinic }, (m) => this.fromOtherNode(m.clinic, m.data)),
      );
    } catch {
      this.deps.onDropped('fanout');
    }
  }

  private unfollowIfUnwatched(clinic: string): void {
    if ((this.topics.get(clinicTopic(clinic))?.size ?? 0) > 0) return;
    this.remote.get(clinic)?.stop();
    this.remote.delete(clinic);
  }

  private fromOtherNode(clinic: string, bytes: Uint8Array): void {
    this.toClinic(clinic, bytes, true);
  }

  private emit(s: LiveSession, update: Update, now: number): void {
    s.lastEmitMs = now;
    s.latest = update;
    s.latestBytes = undefined;
    s.ring.push(historyOf(update));
    const bySession = this.topics.get(sessionTopic(s.info.sessionId));
    const byClinic = this.topics.get(clinicTopic(s.info.clinic));
    // Nobody follows this session here and there is no other node: nothing to encode (≈ 10 µs per
    // update, 30 times a second per session); a dashboard that subscribes later gets the snapshot.
    if (!bySession?.size && !byClinic?.size && !this.deps.fanout) return;
    const recipients = new Set<LiveSubscriber>([...(bySession ?? []), ...(byClinic ?? [])]);
    const bytes = this.latestBytes(s)!;
    this.toOtherNodes(s.info.clinic, s.info.sessionId, bytes);
    for (const sub of recipients) {
      if (sub.bufferedAmount() > this.opts.slowThresholdBytes) {
        let missed = this.stale.get(sub);
        if (!missed) this.stale.set(sub, (missed = new Set()));
        missed.add(s.info.sessionId);
        this.deps.onDropped('slow_subscriber');
        continue;
      }
      this.deps.onSend(sub.sendBytes(bytes));
    }
  }
}

/**
 * What the snapshot keeps of an update: everything but the per-horizon predicted poses (their
 * uncertainties stay; `prediction`, the first horizon's pose, stays). The ghost is live state; the
 * poses of every horizon would make a clinic's snapshots (one per session) ~2.5× larger and push a
 * dashboard on a clinic of a dozen sessions past MAX_BACKPRESSURE_BYTES in one burst.
 */
function historyOf(u: Update): Update {
  if (!u.predictions?.some((p) => p.pose !== undefined)) return u;
  return { ...u, predictions: u.predictions.map(({ h, uncertainty }) => (uncertainty === undefined ? { h } : { h, uncertainty })) };
}
