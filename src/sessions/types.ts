// What the session layer needs from its collaborators, as small interfaces (STYLE §8). src/server.ts
// adapts the real modules (protocol codec, recording log, job bus, inference service, stream pipeline)
// to these; unit tests pass doubles, the integration test the real parts.
import type { Observable } from 'rxjs';
import type { Assessment, PlaneAnchor } from '../../streams/types.js';
import type { Claims } from '../auth/index.js';
import type { ErrorCode, ErrorMessage, Frame, Hello, IngestClientMessage, IngestServerMessage, LiveServerMessage, WireError } from '../protocol/index.js';

/** Claims of a verified token (src/auth), as far as sessions care. */
export type Principal = Claims;

/** Result of one socket send, from uWS's send(): 1 sent, 0 buffered (backpressure), 2 dropped. */
export type SendResult = 'sent' | 'buffered' | 'dropped' | 'closed';

/** Any message the server sends (src/protocol schemas). */
export type OutMessage = IngestServerMessage | LiveServerMessage;

/** One connected peer as the session layer sees it (transport-agnostic). */
export interface Peer {
  readonly id: number;
  readonly principal: Principal;
  send(msg: OutMessage): SendResult;
  /** Groups the sends of `fn` into one syscall where the transport supports it. */
  cork(fn: () => void): void;
  close(code: number, reason: string): void;
  readonly closed: boolean;
}

export type FrameMsg = Frame;
export type HelloMsg = Hello;
export type IngestMsg = IngestClientMessage;

export type { WireError };

/** Error messages are bounded on the wire (ErrorMessage.message ≤ 1024 chars). */
export function wireError(code: ErrorCode, message: string, seq?: number): ErrorMessage {
  const text = message.length > 1000 ? `${message.slice(0, 999)}…` : message;
  return seq === undefined ? { type: 'error', code, message: text } : { type: 'error', code, message: text, seq };
}

/** Stateful per-session frame checks (src/protocol FrameValidator). */
export interface FrameCheck {
  check(frame: FrameMsg): WireError | null;
}

/** A session's durable raw-message log (src/storage/recording-log). */
export interface RecordingSink {
  /** Location to report in `assessment.completed` (path or object-store key). */
  readonly location: string;
  /**
   * Stores `record` — one wire message exactly as received, which the protocol codec has already
   * decoded (it is stored byte for byte, not decoded again). Resolves once the record is persisted
   * (fsynced); rejects with a coded error when it cannot be.
   */
  append(record: Uint8Array): Promise<void>;
  finalize(): Promise<{ readonly records: number; readonly sha256: string; readonly location: string }>;
  /**
   * Appends `marker` (a `suspended` record) and closes WITHOUT finalising: the recording stays
   * resumable after a restart. A sink without it is finalised at shutdown instead.
   */
  suspend?(marker: Readonly<Record<string, unknown>>): Promise<void>;
}

export interface RecordingStore {
  open(sessionId: string, meta: Readonly<Record<string, unknown>>): Promise<RecordingSink>;
}

export interface EventBus {
  /** Resolves when the event is durably accepted (sent or queued in the outbox). */
  publish(subject: string, event: unknown, opts: { readonly id: string }): Promise<unknown>;
}

export interface ModelRef {
  readonly id: string;
  readonly kind: 'pretrained' | 'patient';
  readonly version: string;
}

export interface ModelChooser {
  modelFor(clinic: string, patientId: string): Promise<ModelRef>;
}

/** The per-frame state the pipeline produces, as far as feedback and live updates need it. */
export interface PipelineState {
  readonly t: number;
  /** 20×3 canonical world joints. */
  readonly joints: Float32Array;
  readonly phase: string;
  readonly contacts: { readonly left: boolean; readonly right: boolean };
  readonly metrics: Readonly<Record<string, number>>;
  /** The model input row x_t. */
  readonly features: Float32Array;
}

export interface InferenceOk {
  readonly shed?: false;
  readonly latent: Float32Array;
  /**
   * Per horizon (frames ahead): the predicted latent, its uncertainty, and the predicted world pose when the
   * engine decodes poses (protocol Prediction says how it is defined).
   */
  readonly predictions: readonly {
    readonly horizon: number;
    readonly latent?: Float32Array;
    readonly uncertainty?: number;
    readonly pose?: Float32Array;
  }[];
  readonly uncertainty: number;
  /** null until a prediction for this frame exists. */
  readonly surprise: number | null;
}
export interface InferenceShed {
  readonly shed: true;
  readonly reason: string;
}

export interface Inference {
  /** `pose`: the frame's world joints (20×3), from which predicted poses are decoded. */
  submit(req: { sessionId: string; patientId: string; seq: number; x: Float32Array; pose?: Float32Array }): Promise<InferenceOk | InferenceShed>;
  /** Forget the session's pending predictions (src/inference endSession). */
  endSession?(sessionId: string): void;
}

/** One session's pipeline, called synchronously once per accepted frame. */
export interface SessionPipeline {
  /**
   * The frame's state, or undefined when a stage dropped the frame. Throws when a stage fails: the
   * pipeline is then unusable and the session builds a fresh one.
   */
  step(frame: FrameMsg): PipelineState | undefined;
  /** Stops following plane updates. */
  close(): void;
}

/** Builds one session's pipeline: raw frames (+ plane updates) → states, one per frame. */
export type PipelineFactory = (opts: {
  readonly assessment: Assessment;
  readonly fps: number;
  readonly planes$: Observable<readonly PlaneAnchor[]>;
}) => SessionPipeline;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const h = setTimeout(fn, ms);
    h.unref?.();
    return { cancel: () => clearTimeout(h) };
  },
};

export type { Logger } from '../logger.js';
