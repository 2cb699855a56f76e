// One ingest session: validate → persist → pipeline → inference → feedback, and acks after fsync.
//
// Ordering: every accepted frame yields exactly one `feedback`, in frame order (results of inference
// are answered in submission order; a shed or failed inference still answers with `shed: true`).
// `ack {seq}` is sent only when that frame's record — and every earlier one — is persisted (appends
// are awaited in order). Persistence failures stop acks; the client resumes.
// Bounds: in-flight appends are bounded by the recording log's queue (it rejects when full), in-flight
// inferences by the inference service's queue (it sheds), so nothing here grows without bound.
import { BehaviorSubject } from 'rxjs';
import type { Assessment, PlaneAnchor } from '../../streams/types.js';
import { ErrorCode, type Feedback, type Prediction, type Update } from '../protocol/index.js';
import type {
  FrameCheck,
  FrameMsg,
  Inference,
  InferenceOk,
  InferenceShed,
  Logger,
  ModelRef,
  OutMessage,
  Peer,
  PipelineFactory,
  PipelineState,
  RecordingSink,
  SessionPipeline,
  SendResult,
  WireError,
} from './types.js';
import { wireError } from './types.js';

export interface IngestSessionInfo {
  readonly sessionId: string;
  readonly clinic: string;
  readonly patientId: string;
  readonly assessment: Assessment;
  readonly fps: number;
  /** Epoch milliseconds (server clock). */
  readonly startedAt: number;
  readonly model: ModelRef;
}

export interface IngestSessionDeps {
  readonly recording: RecordingSink;
  /** A fresh validator; `after` = the last frame it must follow (after a persistence failure + resume). */
  readonly newValidator: (after?: { readonly seq: number; readonly t: number }) => FrameCheck;
  /** The session lost persistence: the transport should close so the device reconnects and resumes. */
  readonly onPersistFailure: () => void;
  readonly pipeline: PipelineFactory;
  readonly inference: Inference;
  readonly logger: Logger;
  /** Called for every feedback with the live update to fan out (throttled by the hub). */
  readonly onUpdate: (update: Update) => void;
  readonly onFrame: (outcome: 'accepted' | 'rejected' | 'duplicate') => void;
  readonly onFeedback: (shed: boolean, latencyMs: number) => void;
  readonly onError: (code: string) => void;
  readonly onSend: (result: SendResult) => void;
  readonly now: () => number;
}

/** What the recording of a session reopened after a restart already holds. */
export interface RestoredState {
  /** Frame records. */
  readonly frames: number;
  /** seq and t of the last recorded frame (−1 when none): the next frame must follow it. */
  readonly lastSeq: number;
  readonly lastT: number;
  /** The last recorded plane anchors (alignment resumes from them). */
  readonly planes: readonly PlaneAnchor[];
}

interface Tag {
  readonly seq: number;
  readonly t: number;
  readonly received: number;
}

/** A frame waiting for its answer: `result` is set once its inference settled. */
interface Outcome {
  readonly tag: Tag;
  readonly state: PipelineState | undefined;
  result: InferenceOk | InferenceShed | undefined;
}

export class IngestSession {
  private peer: Peer | undefined;
  private readonly planes$ = new BehaviorSubject<readonly PlaneAnchor[]>([]);
  private pipeline: SessionPipeline;
  /** Frames in flight in seq order; answered from the front as their results arrive (bounded by the inference queue). */
  private readonly inFlight: Outcome[] = [];
  private answering = true;
  private persistTail: Promise<void> = Promise.resolve();
  private pendingFeedback = 0;
  private feedbackIdle: (() => void) | undefined;
  /** Highest seq such that it and every earlier accepted frame are persisted (and its t). */
  persistedSeq = -1;
  private persistedT = -1;
  private validator: FrameCheck;
  /** Seqs persisted after a persistence failure (they are in the log; a resend must not re-record them). */
  private readonly persistedAfterFailure = new Set<number>();
  private persistBroken = false;
  private ackScheduled = false;
  private ackedSeq = -1;
  lastAcceptedSeq = -1;
  frames = 0;
  state: 'active' | 'detached' | 'ending' | 'ended' = 'active';
  /** Seqs ≤ this that arrive again after a resume are acknowledged, not re-recorded. */
  private resentUpTo = -1;

  constructor(
    readonly info: IngestSessionInfo,
    private readonly deps: IngestSessionDeps,
    /** A session reopened after a restart: what its recording already holds (it starts detached). */
    restored?: RestoredState,
  ) {
    this.validator = deps.newValidator(restored && restored.lastSeq >= 0 ? { seq: restored.lastSeq, t: restored.lastT } : undefined);
    if (restored) {
      this.frames = restored.frames;
      this.persistedSeq = this.lastAcceptedSeq = this.ackedSeq = restored.lastSeq;
      this.persistedT = restored.lastT;
      this.state = 'detached';
      this.planes$.next(restored.planes);
    }
    this.pipeline = this.newPipeline();
  }

  get attached(): Peer | undefined {
    return this.peer;
  }

  attach(peer: Peer): void {
    this.peer = peer;
    this.state = 'active';
  }

  detach(): void {
    this.peer = undefined;
    if (this.state === 'active') this.state = 'detached';
  }

  /** Waits until every accepted frame is persisted (or failed); returns the resume point. */
  async settle(): Promise<number> {
    await this.persistTail;
    this.resentUpTo = Math.max(this.persistedSeq, ...this.persistedAfterFailure);
    if (this.persistBroken) {
      // Frames accepted after the failure will be resent: validate them against the last persisted one.
      this.validator = this.deps.newValidator(this.persistedSeq >= 0 ? { seq: this.persistedSeq, t: this.persistedT } : undefined);
      this.persistBroken = false;
    }
    this.lastAcceptedSeq = this.persistedSeq;
    return this.persistedSeq + 1;
  }

  /** Planes from an `env` message update alignment for subsequent frames. */
  env(raw: Uint8Array, planes: readonly PlaneAnchor[]): void {
    this.persist(raw, undefined);
    this.planes$.next(planes);
  }

  /** Records a message that is not a frame (the closing `end`). */
  note(raw: Uint8Array): void {
    this.persist(raw, undefined);
  }

  frame(raw: Uint8Array, frame: FrameMsg): void {
    if (frame.seq <= this.resentUpTo && (frame.seq <= this.persistedSeq || this.persistedAfterFailure.has(frame.seq))) {
      this.deps.onFrame('duplicate');
      this.send({ type: 'ack', seq: frame.seq });
      return;
    }
    if (this.persistBroken) {
      this.reject({ code: ErrorCode.INTERNAL, message: `frame ${frame.seq}: recording is not accepting frames; reconnect and resume`, seq: frame.seq });
      return;
    }
    const problem = this.validator.check(frame);
    if (problem) {
      this.reject(problem);
      return;
    }
    this.deps.onFrame('accepted');
    this.lastAcceptedSeq = frame.seq;
    this.frames += 1;
    this.persist(raw, frame.seq, frame.t);
    const tag: Tag = { seq: frame.seq, t: frame.t, received: this.deps.now() };
    const state = this.runPipeline(frame);
    if (state) {
      const submitted = this.deps.inference.submit({
        sessionId: this.info.sessionId,
        patientId: this.info.patientId,
        seq: tag.seq,
        x: state.features,
        pose: state.joints,
      });
      this.queue(tag, state, submitted);
    } else {
      // A frame the pipeline produced no state for (or that broke it) is still answered.
      this.queue(tag, undefined, Promise.resolve({ shed: true, reason: 'no_state' }));
    }
  }

  /** Waits for everything in flight (persistence and feedback) — before `end` or shutdown. */
  async drain(): Promise<void> {
    await this.persistTail;
    if (this.pendingFeedback > 0) await new Promise<void>((resolve) => (this.feedbackIdle = resolve));
  }

  /** Stops the pipeline and finalises the recording. */
  async finalize(): Promise<{ records: number; sha256: string; location: string }> {
    await this.stop();
    const result = await this.deps.recording.finalize();
    this.state = 'ended';
    return result;
  }

  /** Whether the recording can be left resumable across a restart (see suspend). */
  get suspendable(): boolean {
    return this.deps.recording.suspend !== undefined && !this.persistBroken;
  }

  /**
   * Graceful shutdown inside the resume window: answers what is in flight, then appends `marker` and
   * closes the recording unfinished, so the next start reopens the session for its device.
   */
  async suspend(marker: Readonly<Record<string, unknown>>): Promise<void> {
    await this.stop();
    if (!this.deps.recording.suspend) throw new Error('recording cannot be suspended');
    await this.deps.recording.suspend(marker);
    this.state = 'ended';
  }

  /** Refuses further messages (state `ending`), waits for everything in flight, stops the pipeline. */
  private async stop(): Promise<void> {
    this.state = 'ending';
    await this.drain();
    this.pipeline.close();
    this.answering = false;
    this.deps.inference.endSession?.(this.info.sessionId);
  }

  send(msg: OutMessage): SendResult {
    const peer = this.peer;
    if (!peer || peer.closed) return 'closed';
    const r = peer.send(msg);
    this.deps.onSend(r);
    return r;
  }

  private reject(err: WireError): void {
    this.deps.onFrame('rejected');
    this.deps.onError(err.code);
    this.send(wireError(err.code, err.message, err.seq));
  }

  private persist(raw: Uint8Array, seq: number | undefined, t = -1): void {
    const appended = this.deps.recording.append(raw);
    this.persistTail = this.persistTail.then(() =>
      appended.then(
        () => {
          if (seq === undefined) return;
          if (this.persistBroken) {
            this.persistedAfterFailure.add(seq);
            return;
          }
          this.persistedSeq = seq;
          this.persistedT = t;
          this.scheduleAck();
        },
        (cause: unknown) => {
          if (this.persistBroken) return;
          this.persistBroken = true;
          this.deps.logger.error('recording append failed', { sessionId: this.info.sessionId, seq, cause: String(cause) });
          this.deps.onError(ErrorCode.INTERNAL);
          this.flushAck(); // what is durable is acknowledged before the connection closes
          const code = (cause as { code?: unknown } | null)?.code;
          const what = seq === undefined ? 'a message' : `frame ${seq}`;
          this.send(
            wireError(
              ErrorCode.INTERNAL,
              `${what} could not be persisted${typeof code === 'string' ? ` (${code})` : ''}; frames after it are not acknowledged until you resume`,
              seq,
            ),
          );
          this.deps.onPersistFailure();
        },
      ),
    );
  }

  /**
   * Acks are cumulative (`ack {seq}` = everything up to seq is persisted), so the records made durable
   * by one group commit are acknowledged with one message, sent after that commit's callbacks ran.
   */
  private scheduleAck(): void {
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => this.flushAck());
  }

  private flushAck(): void {
    this.ackScheduled = false;
    if (this.persistedSeq > this.ackedSeq) {
      this.ackedSeq = this.persistedSeq;
      this.send({ type: 'ack', seq: this.persistedSeq });
    }
  }

  private newPipeline(): SessionPipeline {
    return this.deps.pipeline({ assessment: this.info.assessment, fps: this.info.fps, planes$: this.planes$ });
  }

  /** One synchronous pipeline step; a stage that throws is reported and the pipeline starts afresh. */
  private runPipeline(frame: FrameMsg): PipelineState | undefined {
    try {
      return this.pipeline.step(frame);
    } catch (cause: unknown) {
      this.deps.logger.error('session pipeline failed; restarting it', { sessionId: this.info.sessionId, cause: String(cause) });
      this.deps.onError(ErrorCode.INTERNAL);
      this.send(
        wireError(
          ErrorCode.INTERNAL,
          `frame ${frame.seq}: pipeline failed (${cause instanceof Error ? cause.message : String(cause)}); state reset`,
          frame.seq,
        ),
      );
      this.pipeline.close();
      this.pipeline = this.newPipeline();
      return undefined;
    }
  }

  /**
   * The inference runs now (batched across sessions); answers leave in frame order: a result that
   * arrives before an earlier frame's waits for it. (An RxJS concatAll of one observable per frame did
   * this with a handful of subscriptions and operator objects per frame.)
   */
  private queue(tag: Tag, state: PipelineState | undefined, result: Promise<InferenceOk | InferenceShed>): void {
    this.pendingFeedback += 1;
    const outcome: Outcome = { tag, state, result: undefined };
    this.inFlight.push(outcome);
    // Inline arrows: a named closure per frame would also cost a `__name` call under tsx.
    result.then(
      (r) => this.answerReady(outcome, r),
      (cause: unknown) => this.answerReady(outcome, { shed: true, reason: `error: ${cause instanceof Error ? cause.message : String(cause)}` }),
    );
  }

  private answerReady(outcome: Outcome, result: InferenceOk | InferenceShed): void {
    outcome.result = result;
    while (this.answering && this.inFlight[0]?.result !== undefined) this.answer(this.inFlight.shift()!);
  }

  private answer({ tag, state, result }: Outcome): void {
    if (result === undefined) return;
    const ok = result.shed === true ? undefined : result;
    const metrics = finiteMetrics(state?.metrics);
    const predictions = ok ? ok.predictions.map(wirePrediction) : [];
    const feedback: Feedback = {
      type: 'feedback',
      seq: tag.seq,
      t: tag.t,
      phase: state?.phase || 'unknown',
      contacts: state ? { left: state.contacts.left, right: state.contacts.right } : { left: false, right: false },
      metrics,
      ...(state ? { joints: state.joints } : {}),
      uncertainty: finiteOrNull(ok?.uncertainty),
      surprise: finiteOrNull(ok?.surprise),
      predictions,
      ...(ok ? {} : { shed: true }),
    };
    this.send(feedback);
    this.deps.onFeedback(!ok, this.deps.now() - tag.received);
    if (state) {
      const prediction = predictions.find((p) => p.pose !== undefined)?.pose;
      this.deps.onUpdate({
        type: 'update',
        sessionId: this.info.sessionId,
        seq: tag.seq,
        t: tag.t,
        joints: state.joints,
        phase: feedback.phase,
        contacts: feedback.contacts,
        metrics,
        uncertainty: feedback.uncertainty,
        surprise: feedback.surprise,
        ...(prediction ? { prediction } : {}),
        ...(predictions.length > 0 ? { predictions } : {}),
      });
    }
    this.pendingFeedback -= 1;
    if (this.pendingFeedback === 0 && this.feedbackIdle) {
      const idle = this.feedbackIdle;
      this.feedbackIdle = undefined;
      idle();
    }
  }
}

/** One horizon's prediction on the wire (protocol Prediction): a non-finite uncertainty is left out. */
function wirePrediction(p: InferenceOk['predictions'][number]): Prediction {
  const u = finiteOrNull(p.uncertainty);
  return { h: p.horizon, ...(u !== null ? { uncertainty: u } : {}), ...(p.pose ? { pose: p.pose } : {}) };
}

/**
 * Wire metrics are finite; a metric that cannot be computed yet is omitted (protocol Metrics). The live
 * pipeline's metrics are finite already (flattenMetrics): then the record itself goes out, uncopied
 * (it is never modified after the pipeline built it).
 */
function finiteMetrics(m: Readonly<Record<string, number>> | undefined): Readonly<Record<string, number>> {
  if (!m) return {};
  for (const k in m) {
    if (Object.hasOwn(m, k) && !Number.isFinite(m[k])) {
      const out: Record<string, number> = {};
      for (const [key, v] of Object.entries(m)) if (Number.isFinite(v)) out[key] = v;
      return out;
    }
  }
  return m;
}

function finiteOrNull(v: number | null | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
}
