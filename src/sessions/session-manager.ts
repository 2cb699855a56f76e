// Owns the ingest sessions: hello → ready, routing of messages, resume within RESUME_WINDOW_S, and
// finalisation (end, resume-window expiry, shutdown) → `assessment.completed` on the bus.
// A graceful shutdown suspends every session still inside its resume window instead of finalising it
// (its devices were told 4000 "resume elsewhere"); the next start restores them (restore()) so a device
// resuming on the restarted server continues the same session and recording.
//
// Bounds: at most `maxSessions` sessions (live + awaiting resume); a new hello beyond that gets
// an error and the connection is closed. Messages that arrive while a hello is being processed are
// queued per connection up to `preReadyLimit`, then rejected with HELLO_REQUIRED.
import { randomUUID } from 'node:crypto';
import type { PlaneAnchor } from '../../streams/types.js';
import { CloseCode, ErrorCode } from '../protocol/index.js';
import { IngestSession, type IngestSessionInfo, type RestoredState } from './ingest-session.js';
import { ASSESSMENT_COMPLETED, assessmentCompleted, jobIdFor, type AssessmentCompleted, type FinishReason } from './assessment-completed.js';
import type { LiveHub } from './live-hub.js';
import { SUSPENDED_RECORD_TYPE, type RecoveredSession, type ResumableSession } from './recording-store.js';
import type {
  Clock,
  EventBus,
  FrameCheck,
  HelloMsg,
  Inference,
  IngestMsg,
  Logger,
  ModelChooser,
  ModelRef,
  Peer,
  PipelineFactory,
  Principal,
  RecordingSink,
  RecordingStore,
  SendResult,
} from './types.js';
import { wireError } from './types.js';

export interface SessionManagerOptions {
  readonly resumeWindowS: number;
  readonly horizons: readonly number[];
  readonly maxSessions: number;
  readonly preReadyLimit: number;
  readonly protocolVersion: number;
  /** A connection that has not sent `hello` after this long is closed (HELLO_TIMEOUT). */
  readonly helloTimeoutS: number;
}

export interface SessionManagerDeps {
  readonly recordings: RecordingStore;
  readonly bus: EventBus;
  readonly models: ModelChooser;
  readonly newValidator: (after?: { readonly seq: number; readonly t: number }) => FrameCheck;
  readonly pipeline: PipelineFactory;
  readonly inference: Inference;
  readonly hub: LiveHub;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Authorisation of a device/admin to stream for a patient (src/auth canIngest). */
  readonly canIngest: (principal: Principal, patientId: string) => boolean;
  readonly metrics: {
    onFrame(outcome: 'accepted' | 'rejected' | 'duplicate'): void;
    onFeedback(shed: boolean, latencyMs: number): void;
    onError(code: string): void;
    onSend(result: SendResult): void;
    onFinalized(reason: FinishReason): void;
  };
}

export { ASSESSMENT_COMPLETED, type AssessmentCompleted, type FinishReason } from './assessment-completed.js';

/** The public view of a session (HTTP /v1/sessions). */
export interface SessionView {
  readonly sessionId: string;
  readonly clinic: string;
  readonly patientId: string;
  readonly assessment: string;
  readonly startedAt: string;
  readonly state: IngestSession['state'];
  readonly frames: number;
  readonly persistedSeq: number;
  readonly model: ModelRef;
}

interface Conn {
  session: IngestSession | undefined;
  helloPending: boolean;
  queued: { raw: Uint8Array; msg: IngestMsg }[];
  helloTimer: { cancel(): void } | undefined;
}

export class SessionManager {
  private readonly sessions = new Map<string, IngestSession>();
  private readonly conns = new Map<Peer, Conn>();
  private readonly expiry = new Map<string, { cancel(): void; at: number }>();
  private readonly finishing = new Map<string, Promise<AssessmentCompleted>>();
  private closing = false;

  constructor(
    private readonly opts: SessionManagerOptions,
    private readonly deps: SessionManagerDeps,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  list(clinic: string): SessionView[] {
    return [...this.sessions.values()].filter((s) => s.info.clinic === clinic).map(view);
  }

  get(sessionId: string): SessionView | undefined {
    const s = this.sessions.get(sessionId);
    return s ? view(s) : undefined;
  }

  connected(peer: Peer): void {
    const conn: Conn = { session: undefined, helloPending: false, queued: [], helloTimer: undefined };
    // uWS answers pings itself, so a socket that never says hello would never idle out: bound it here.
    conn.helloTimer = this.deps.clock.setTimeout(() => {
      conn.helloTimer = undefined;
      if (!conn.session && !conn.helloPending && !peer.closed) peer.close(CloseCode.HELLO_TIMEOUT, `no hello within ${this.opts.helloTimeoutS} s`);
    }, this.opts.helloTimeoutS * 1000);
    this.conns.set(peer, conn);
  }

  /** One decoded ingest message (raw = its bytes, copied by the transport). */
  message(peer: Peer, raw: Uint8Array, msg: IngestMsg): void {
    const conn = this.conns.get(peer);
    if (!conn) return;
    if (conn.helloPending) {
      if (conn.queued.length >= this.opts.preReadyLimit)
        return this.error(peer, ErrorCode.HELLO_REQUIRED, `${msg.type} before ready: wait for ready (more than ${this.opts.preReadyLimit} messages queued)`);
      conn.queued.push({ raw, msg });
      return;
    }
    if (msg.type === 'hello') {
      conn.helloTimer?.cancel();
      conn.helloTimer = undefined;
      if (conn.session) return this.error(peer, ErrorCode.ALREADY_STARTED, `session ${conn.session.info.sessionId} already started on this connection`);
      conn.helloPending = true;
      void this.hello(peer, conn, raw, msg).finally(() => {
        conn.helloPending = false;
        const queued = conn.queued.splice(0);
        for (const q of queued) this.message(peer, q.raw, q.msg);
      });
      return;
    }
    const s = conn.session;
    if (!s) return this.error(peer, ErrorCode.HELLO_REQUIRED, `${msg.type} before hello`);
    if (s.state !== 'active') return this.error(peer, ErrorCode.SESSION_NOT_FOUND, `session ${s.info.sessionId} is ${s.state}`);
    switch (msg.type) {
      case 'frame':
        return s.frame(raw, msg);
      case 'env':
        return s.env(raw, msg.planes as readonly PlaneAnchor[]);
      case 'end':
        void this.finish(s, 'end', raw).catch(() => undefined);
        return;
    }
  }

  /** The connection closed: keep its session for the resume window. */
  disconnected(peer: Peer): void {
    const conn = this.conns.get(peer);
    this.conns.delete(peer);
    conn?.helloTimer?.cancel();
    const s = conn?.session;
    if (!s || s.attached !== peer) return;
    s.detach();
    if (s.state !== 'detached' || this.closing) return;
    this.expireAt(s, this.deps.clock.now() + this.opts.resumeWindowS * 1000);
  }

  /** A detached session is finalised (`resume_expired`) at `at` (epoch ms) unless its device resumes first. */
  private expireAt(s: IngestSession, at: number): void {
    const id = s.info.sessionId;
    this.expiry.get(id)?.cancel();
    const timer = this.deps.clock.setTimeout(
      () => {
        this.expiry.delete(id);
        if (s.state === 'detached') void this.finish(s, 'resume_expired').catch(() => undefined);
      },
      Math.max(0, at - this.deps.clock.now()),
    );
    this.expiry.set(id, { cancel: () => timer.cancel(), at });
  }

  /**
   * Stops accepting sessions and closes peers with SHUTDOWN ("resume elsewhere"). A session inside its
   * resume window (connected: a full window from now; detached: what is left of it) is suspended, so
   * a restarted server can continue it; one that is ending, or whose recording cannot be suspended, is
   * finalised as before. In-flight frames are answered first either way.
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    const now = this.deps.clock.now();
    const deadlines = new Map([...this.expiry].map(([id, t]) => [id, t.at]));
    for (const t of this.expiry.values()) t.cancel();
    this.expiry.clear();
    const all = [...this.sessions.values()];
    await Promise.allSettled(
      all.map((s) => {
        const until = s.state === 'active' ? now + this.opts.resumeWindowS * 1000 : (deadlines.get(s.info.sessionId) ?? now);
        const resumable = (s.state === 'active' || s.state === 'detached') && until > now && s.suspendable;
        return resumable ? this.suspend(s, now, until) : this.finish(s, 'shutdown');
      }),
    );
    for (const peer of this.conns.keys()) if (!peer.closed) peer.close(CloseCode.SHUTDOWN, 'server shutting down');
  }

  /**
   * Sessions a graceful shutdown suspended, reopened at start (recording-store recover()): each waits,
   * detached, for its device to resume until its original deadline, then is finalised like any other.
   */
  restore(list: readonly ResumableSession[]): void {
    for (const r of list) {
      const m = r.meta;
      const info: IngestSessionInfo = {
        sessionId: m.sessionId,
        clinic: m.clinic,
        patientId: m.patientId,
        assessment: m.assessment as IngestSessionInfo['assessment'],
        fps: m.fps,
        startedAt: m.startedAt,
        model: { id: m.model.id, kind: m.model.kind === 'patient' ? 'patient' : 'pretrained', version: m.model.version },
      };
      const s = this.newSession(info, r.sink, { frames: r.frames, lastSeq: r.lastSeq, lastT: r.lastT, planes: r.planes });
      this.sessions.set(info.sessionId, s);
      this.deps.hub.sessionStarted({
        sessionId: info.sessionId,
        clinic: info.clinic,
        patientId: info.patientId,
        assessment: info.assessment,
        startedAt: info.startedAt,
      });
      this.expireAt(s, r.resumableUntil);
    }
  }

  /** Publishes `assessment.completed` for recordings finalised by crash recovery at start. */
  async publishRecovered(list: readonly RecoveredSession[]): Promise<number> {
    let n = 0;
    for (const r of list) {
      const m = r.meta;
      const model = { id: m.model.id, kind: m.model.kind === 'patient' ? ('patient' as const) : ('pretrained' as const), version: m.model.version };
      const event = assessmentCompleted({ ...m, model }, r, r.reason, this.deps.clock.now());
      await this.deps.bus.publish(ASSESSMENT_COMPLETED, event, { id: jobIdFor(m.sessionId) });
      this.deps.metrics.onFinalized(r.reason);
      n += 1;
    }
    return n;
  }

  private async hello(peer: Peer, conn: Conn, raw: Uint8Array, hello: HelloMsg): Promise<void> {
    if (this.closing) return this.fatal(peer, CloseCode.SHUTDOWN, 'server shutting down');
    if (hello.protocol !== this.opts.protocolVersion) {
      this.error(peer, ErrorCode.UNSUPPORTED_PROTOCOL, `protocol ${hello.protocol} not supported (server speaks ${this.opts.protocolVersion})`);
      return;
    }
    if (!this.deps.canIngest(peer.principal, hello.patientId)) {
      this.error(peer, ErrorCode.FORBIDDEN, `token may not stream for patient ${hello.patientId}`);
      return this.fatal(peer, CloseCode.UNAUTHORIZED, 'forbidden');
    }
    if (hello.resume) return this.resume(peer, conn, hello);
    if (this.sessions.size >= this.opts.maxSessions) {
      this.error(peer, ErrorCode.INTERNAL, `server at its session limit (${this.opts.maxSessions})`);
      return this.fatal(peer, CloseCode.SHUTDOWN, 'session limit');
    }
    const sessionId = randomUUID();
    const startedAt = this.deps.clock.now();
    const clinic = peer.principal.clinic;
    let session: IngestSession;
    try {
      const model = await this.deps.models.modelFor(clinic, hello.patientId);
      const recording = await this.deps.recordings.open(sessionId, {
        sessionId,
        clinic,
        patientId: hello.patientId,
        assessment: hello.assessment,
        fps: hello.fps,
        startedAt,
        model,
      });
      await recording.append(raw); // the hello opens the recording: offline replay needs fps/assessment
      session = this.newSession({ sessionId, clinic, patientId: hello.patientId, assessment: hello.assessment, fps: hello.fps, startedAt, model }, recording);
    } catch (cause) {
      this.deps.logger.error('session start failed', { sessionId, cause: String(cause) });
      this.error(peer, ErrorCode.INTERNAL, `session could not start: ${cause instanceof Error ? cause.message : String(cause)}`);
      return this.fatal(peer, CloseCode.INTERNAL_ERROR, 'session start failed');
    }
    if (peer.closed) {
      // The device went away while we were opening: keep the session resumable like any other.
      this.sessions.set(sessionId, session);
      conn.session = session;
      this.deps.hub.sessionStarted({ sessionId, clinic, patientId: hello.patientId, assessment: hello.assessment, startedAt });
      session.attach(peer);
      this.disconnected(peer);
      return;
    }
    this.sessions.set(sessionId, session);
    conn.session = session;
    session.attach(peer);
    session.send({ type: 'ready', sessionId, model: session.info.model, horizons: [...this.opts.horizons] });
    this.deps.hub.sessionStarted({ sessionId, clinic, patientId: hello.patientId, assessment: hello.assessment, startedAt });
  }

  private newSession(info: IngestSessionInfo, recording: RecordingSink, restored?: RestoredState): IngestSession {
    const session: IngestSession = new IngestSession(
      info,
      {
        recording,
        newValidator: this.deps.newValidator,
        onPersistFailure: () => {
          const p = session.attached;
          if (p && !p.closed) p.close(CloseCode.INTERNAL_ERROR, 'recording failed; reconnect and resume');
        },
        pipeline: this.deps.pipeline,
        inference: this.deps.inference,
        logger: this.deps.logger,
        onUpdate: (u) => this.deps.hub.update(info.sessionId, u),
        onFrame: this.deps.metrics.onFrame,
        onFeedback: this.deps.metrics.onFeedback,
        onError: this.deps.metrics.onError,
        onSend: this.deps.metrics.onSend,
        now: () => this.deps.clock.now(),
      },
      restored,
    );
    return session;
  }

  /** Leaves a session resumable across a restart; if that fails, its recording stays unfinished and the next start recovers it. */
  private async suspend(s: IngestSession, now: number, until: number): Promise<void> {
    const id = s.info.sessionId;
    try {
      await s.suspend({ type: SUSPENDED_RECORD_TYPE, at: now, resumableUntil: until });
      this.sessions.delete(id);
      this.deps.logger.info('session suspended for a resume after restart', { sessionId: id, resumableUntil: new Date(until).toISOString() });
    } catch (cause) {
      this.deps.logger.error('session could not be suspended; its recording is recovered at the next start', { sessionId: id, cause: String(cause) });
    }
    const peer = s.attached;
    if (peer && !peer.closed) peer.close(CloseCode.SHUTDOWN, 'server shutting down; resume');
  }

  private async resume(peer: Peer, conn: Conn, hello: HelloMsg): Promise<void> {
    const { sessionId } = hello.resume!;
    const s = this.sessions.get(sessionId);
    if (!s || s.state === 'ending' || s.state === 'ended' || s.info.clinic !== peer.principal.clinic || s.info.patientId !== hello.patientId) {
      this.error(peer, ErrorCode.RESUME_FAILED, `session ${sessionId} cannot be resumed (unknown, ended, or another patient's)`);
      return this.fatal(peer, CloseCode.RESUME_FAILED, 'resume failed');
    }
    this.expiry.get(sessionId)?.cancel();
    this.expiry.delete(sessionId);
    const old = s.attached;
    if (old && old !== peer) {
      // A half-open old connection: the new one takes over.
      s.detach();
      const oldConn = this.conns.get(old);
      if (oldConn) oldConn.session = undefined;
      old.close(CloseCode.RESUME_FAILED, 'session resumed on another connection');
    }
    const resumeFromSeq = await s.settle();
    if (peer.closed) return this.disconnectedLater(peer, conn, s);
    conn.session = s;
    s.attach(peer);
    s.send({ type: 'ready', sessionId, model: s.info.model, horizons: [...this.opts.horizons], resumeFromSeq });
  }

  private disconnectedLater(peer: Peer, conn: Conn, s: IngestSession): void {
    conn.session = s;
    s.attach(peer);
    this.conns.set(peer, conn);
    this.disconnected(peer);
  }

  private finish(s: IngestSession, reason: FinishReason, endRaw?: Uint8Array): Promise<AssessmentCompleted> {
    const id = s.info.sessionId;
    const existing = this.finishing.get(id);
    if (existing) return existing;
    const p = (async () => {
      if (endRaw) s.note(endRaw);
      const rec = await s.finalize();
      const event = assessmentCompleted(
        s.info,
        { path: rec.location, sha256: rec.sha256, frames: s.frames, records: rec.records },
        reason,
        this.deps.clock.now(),
      );
      const jobId = jobIdFor(id);
      await this.deps.bus.publish(ASSESSMENT_COMPLETED, event, { id: jobId });
      this.deps.metrics.onFinalized(reason);
      this.sessions.delete(id);
      this.deps.hub.sessionEnded(id, { frames: s.frames, jobId });
      const peer = s.attached;
      if (peer && !peer.closed) {
        peer.cork(() => {
          s.send({ type: 'ended', sessionId: id, frames: s.frames, jobId });
        });
        peer.close(reason === 'shutdown' ? CloseCode.SHUTDOWN : CloseCode.NORMAL, reason === 'shutdown' ? 'server shutting down' : 'session ended');
      }
      return event;
    })();
    this.finishing.set(id, p);
    p.then(
      () => this.finishing.delete(id),
      (cause: unknown) => {
        this.finishing.delete(id);
        this.deps.logger.error('session finalisation failed', { sessionId: id, reason, cause: String(cause) });
        this.deps.metrics.onError(ErrorCode.INTERNAL);
        s.send(wireError(ErrorCode.INTERNAL, `session ${id} could not be finalised: ${cause instanceof Error ? cause.message : String(cause)}`));
      },
    );
    return p;
  }

  private error(peer: Peer, code: ErrorCode, message: string): void {
    this.deps.metrics.onError(code);
    this.deps.metrics.onSend(peer.send(wireError(code, message)));
  }

  private fatal(peer: Peer, code: number, reason: string): void {
    if (!peer.closed) peer.close(code, reason);
  }
}

function view(s: IngestSession): SessionView {
  const { sessionId, clinic, patientId, assessment, startedAt, model } = s.info;
  return {
    sessionId,
    clinic,
    patientId,
    assessment,
    startedAt: new Date(startedAt).toISOString(),
    model,
    state: s.state,
    frames: s.frames,
    persistedSeq: s.persistedSeq,
  };
}
