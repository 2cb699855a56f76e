// The iPad side of /v1/ingest: hello → ready, frames out, feedback/ack/error in, end → ended.
// A lost connection is resumed: reconnect with backoff, hello {resume: {sessionId, lastAckedSeq}}, then
// resend every frame the server has not acknowledged, in order. Unacked frames live in a bounded buffer
// (UnackedBuffer: full → new frames refused with BUFFER_FULL); duplicate feedback after a resend is
// dropped (feedback is delivered once per seq, in seq order).
import { BehaviorSubject, Subject, filter, map, type Observable } from 'rxjs';
import {
  PROTOCOL_VERSION,
  decodeServerMessage,
  encodeClientMessage,
  type Ack,
  type Ended,
  type ErrorMessage,
  type Feedback,
  type Frame,
  type Hello,
  type IngestServerMessage,
  type PlaneAnchor,
  type Ready,
} from '../../src/protocol/index.js';
import { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from './backoff.js';
import { fatalClose } from './close-policy.js';
import { ClientError, ClientErrorCode } from './errors.js';
import {
  OPEN,
  defaultTimers,
  endpointUrl,
  messageBytes,
  openSocket,
  resolveWebSocket,
  type Timers,
  type WebSocketConstructor,
  type WebSocketLike,
} from './socket.js';
import { DEFAULT_MAX_UNACKED, UnackedBuffer } from './unacked-buffer.js';

/** What the device says about the session in `hello` (protocol, skeleton and resume are filled in). */
export type HelloInfo = Pick<Hello, 'patientId' | 'assessment' | 'fps' | 'device'>;

/** A frame as the app hands it over (`type` is added). */
export type FrameInput = Omit<Frame, 'type'>;

export type IngestState = 'connecting' | 'ready' | 'reconnecting' | 'ending' | 'ended' | 'failed' | 'closed';

export interface IngestOptions {
  /** Server base URL (`ws://host:port`) or the full `/v1/ingest` URL. */
  readonly url: string;
  /** Device JWT (sent as the `bearer.<JWT>` subprotocol). */
  readonly token: string;
  readonly hello: HelloInfo;
  /** WebSocket constructor; default `globalThis.WebSocket` (browsers, Node 22). Node 20: `ws`. */
  readonly WebSocket?: WebSocketConstructor;
  /** Capacity of the unacked-frame buffer (default 1024 ≈ 17 s at 60 Hz). */
  readonly maxUnacked?: number;
  readonly backoff?: BackoffOptions;
  /**
   * Client-side send pacing (token bucket): the server limits messages per connection (MAX_MSGS_PER_S,
   * default 240/s, burst 240), so resending a long backlog after a reconnect must not arrive as one
   * burst. Live 60 Hz traffic never waits. Default 200/s, burst 120.
   */
  readonly sendRate?: { readonly perS?: number; readonly burst?: number };
  /** Stop writing while the socket holds more than this many bytes (default 1 MiB); resumes shortly. */
  readonly maxSocketBufferBytes?: number;
  /** Open timeout per attempt (default 10 s), wait for `ready` (10 s) and for `ended` (30 s). */
  readonly timeouts?: { readonly connectMs?: number; readonly readyMs?: number; readonly endMs?: number };
  readonly timers?: Timers;
  /** Jitter source for backoff (tests pass a fixed one). */
  readonly random?: () => number;
}

export interface IngestStats {
  readonly framesSent: number;
  readonly framesResent: number;
  readonly lastAckedSeq: number;
  readonly unacked: number;
  readonly reconnects: number;
  readonly feedback: number;
  readonly duplicateFeedback: number;
}

export class IngestClient {
  /** Every valid server message, in arrival order (duplicates after a resume included). */
  readonly messages$: Observable<IngestServerMessage>;
  /** One feedback per frame, in seq order, duplicates from resends removed. */
  readonly feedback$: Observable<Feedback>;
  readonly acks$: Observable<Ack>;
  /** Wire errors (bad frame, rate limited, ...): the session goes on. */
  readonly errors$: Observable<ErrorMessage>;
  /** Session state; emits the current state on subscribe (BehaviorSubject semantics). */
  readonly state$: Observable<IngestState>;
  /** Resolves with `ended`; rejects with a ClientError if the session fails or is closed first. */
  readonly ended: Promise<Ended>;

  private readonly messages = new Subject<IngestServerMessage>();
  private readonly feedbackOut = new Subject<Feedback>();
  private readonly state = new BehaviorSubject<IngestState>('connecting');
  private readonly buffer: UnackedBuffer;
  private readonly backoff: Required<BackoffOptions>;
  private readonly timers: Timers;
  private readonly Ctor: WebSocketConstructor;
  private readonly endpoint: string;
  private ws: WebSocketLike | undefined;
  private readyMsg: Ready | undefined;
  private lastSentSeq = -1;
  private lastAcked = -1;
  private lastFeedbackSeq = -1;
  private planes: readonly PlaneAnchor[] | undefined;
  private counts = { framesSent: 0, framesResent: 0, reconnects: 0, feedback: 0, duplicateFeedback: 0 };
  private settleEnded!: { resolve: (e: Ended) => void; reject: (e: ClientError) => void };
  private pendingTimer: unknown;
  private sleepTimer: unknown;
  private pumpTimer: unknown;
  /** Ends a handshake waiting for `ready` (set while one waits). */
  private abortHandshake: (() => void) | undefined;
  /** Highest seq written to the CURRENT socket (reset to resumeFromSeq − 1 on a resume). */
  private sentUpTo = -1;
  /** Highest seq ever written (to tell resends from first sends). */
  private maxWrittenSeq = -1;
  private endRequested = false;
  private endSent = false;
  private tokens: number;
  private tokensAt = 0;
  private readonly rate: { perS: number; burst: number };

  private constructor(private readonly opts: IngestOptions) {
    this.Ctor = resolveWebSocket(opts.WebSocket);
    this.endpoint = endpointUrl(opts.url, 'ingest');
    this.buffer = new UnackedBuffer(opts.maxUnacked ?? DEFAULT_MAX_UNACKED);
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.timers = opts.timers ?? defaultTimers;
    this.rate = { perS: opts.sendRate?.perS ?? 200, burst: opts.sendRate?.burst ?? 120 };
    this.tokens = this.rate.burst;
    this.tokensAt = this.timers.now();
    this.messages$ = this.messages.asObservable();
    this.feedback$ = this.feedbackOut.asObservable();
    this.acks$ = this.messages$.pipe(filter((m): m is Ack => m.type === 'ack'));
    this.errors$ = this.messages$.pipe(filter((m): m is ErrorMessage => m.type === 'error'));
    this.state$ = this.state.asObservable();
    this.ended = new Promise<Ended>((resolve, reject) => (this.settleEnded = { resolve, reject }));
    // A failure nobody awaits must not become an unhandled rejection; awaiting callers still see it.
    this.ended.catch(() => undefined);
  }

  /** Opens the session: resolves once `ready` arrived. */
  static async connect(opts: IngestOptions): Promise<IngestClient> {
    const c = new IngestClient(opts);
    try {
      await c.handshake(undefined);
    } catch (error) {
      c.fail(error instanceof ClientError ? error : new ClientError(ClientErrorCode.CONNECT_FAILED, String(error), { cause: error }));
      throw error;
    }
    return c;
  }

  get sessionId(): string {
    return this.readyMsg?.sessionId ?? '';
  }

  /** The latest `ready` (after a resume: the resumed one). */
  get ready(): Ready | undefined {
    return this.readyMsg;
  }

  get currentState(): IngestState {
    return this.state.value;
  }

  get stats(): IngestStats {
    return { ...this.counts, lastAckedSeq: this.lastAcked, unacked: this.buffer.size };
  }

  /** Registers a callback; returns the function that removes it. */
  on(event: 'feedback', fn: (m: Feedback) => void): () => void;
  on(event: 'ack', fn: (m: Ack) => void): () => void;
  on(event: 'error', fn: (m: ErrorMessage) => void): () => void;
  on(event: 'state', fn: (s: IngestState) => void): () => void;
  on(event: 'feedback' | 'ack' | 'error' | 'state', fn: (v: never) => void): () => void {
    const source: Observable<unknown> = event === 'feedback' ? this.feedback$ : event === 'ack' ? this.acks$ : event === 'error' ? this.errors$ : this.state$;
    const sub = source.pipe(map((v) => v as never)).subscribe(fn);
    return () => sub.unsubscribe();
  }

  /**
   * Sends one frame (kept until acked, resent after a reconnect). Throws ClientError BUFFER_FULL when
   * the unacked buffer is full (the frame is not sent), BAD_FRAME when seq does not increase, CLOSED
   * after end/close/failure.
   */
  sendFrame(frame: FrameInput): void {
    this.assertOpen();
    if (frame.seq <= this.lastSentSeq)
      throw new ClientError(ClientErrorCode.BAD_FRAME, `frame seq ${frame.seq} is not above the last sent ${this.lastSentSeq}`);
    const bytes = encodeClientMessage({ type: 'frame', ...frame });
    this.buffer.push(frame.seq, bytes);
    this.lastSentSeq = frame.seq;
    // While reconnecting (or paced) the frame waits in the buffer; pump() writes it when it may.
    this.pump();
  }

  /** Sends the current plane anchors (kept and re-sent after a resume). */
  sendEnv(planes: readonly PlaneAnchor[]): void {
    this.assertOpen();
    this.planes = planes;
    if (this.state.value === 'ready' && this.ws?.readyState === OPEN) this.ws.send(encodeClientMessage({ type: 'env', planes: [...planes] }));
  }

  /** Ends the assessment: resolves with `ended` once every frame is in and the recording is final. */
  end(): Promise<Ended> {
    const s = this.state.value;
    if (s === 'ready' || s === 'reconnecting') {
      this.state.next('ending');
      this.endRequested = true;
      this.pump();
      const endMs = this.opts.timeouts?.endMs ?? 30_000;
      this.pendingTimer = this.timers.setTimeout(() => this.fail(new ClientError(ClientErrorCode.TIMEOUT, `no ended within ${endMs} ms`)), endMs);
    }
    return this.ended;
  }

  /** Closes the connection without ending the session (it can still be resumed server-side). */
  close(): void {
    if (this.isFinal()) return;
    this.finish('closed', new ClientError(ClientErrorCode.CLOSED, 'client closed before the session ended'));
  }

  private assertOpen(): void {
    const s = this.state.value;
    if (s !== 'ready' && s !== 'reconnecting') throw new ClientError(ClientErrorCode.CLOSED, `cannot send: session is ${s}`);
  }

  private isFinal(): boolean {
    const s = this.state.value;
    return s === 'ended' || s === 'failed' || s === 'closed';
  }

  /**
   * Opens a socket, sends hello (with resume when given) and waits for ready. Until `ready` the socket
   * belongs to the handshake, and every way out of it that is not `ready` closes the socket: one left
   * open would keep the app (or `jepa-motion replay`) alive after the failure was reported.
   */
  private async handshake(resume: Hello['resume']): Promise<void> {
    const timeouts = this.opts.timeouts ?? {};
    const ws = await openSocket(this.Ctor, this.endpoint, this.opts.token, timeouts.connectMs ?? 10_000, this.timers);
    if (this.isFinal()) {
      ws.close(1000);
      return;
    }
    let ready: Ready;
    try {
      ready = await new Promise<Ready>((resolve, reject) => {
        const readyMs = timeouts.readyMs ?? 10_000;
        const timer = this.timers.setTimeout(() => done(new ClientError(ClientErrorCode.TIMEOUT, `no ready within ${readyMs} ms`)), readyMs);
        const done = (err: ClientError | undefined, r?: Ready) => {
          this.timers.clearTimeout(timer);
          this.abortHandshake = undefined;
          if (err) reject(err);
          else if (r) resolve(r);
        };
        // finish() (end timeout, close()) while we wait for ready ends the wait at once.
        this.abortHandshake = () => done(new ClientError(ClientErrorCode.CLOSED, `session ${this.state.value} while waiting for ready`));
        ws.onmessage = (ev) => {
          const msg = this.decode(ev.data);
          if (msg instanceof ClientError) return done(new ClientError(msg.code, `${msg.message} (before ready)`));
          if (msg.type === 'ready') {
            done(undefined, msg);
          } else if (msg.type === 'error') {
            const code =
              msg.code === 'RESUME_FAILED' || msg.code === 'SESSION_NOT_FOUND'
                ? ClientErrorCode.RESUME_FAILED
                : msg.code === 'FORBIDDEN'
                  ? ClientErrorCode.UNAUTHORIZED
                  : ClientErrorCode.SERVER_ERROR;
            done(new ClientError(code, `hello refused: ${msg.code}: ${msg.message}`, { wire: msg }));
          }
        };
        ws.onclose = (ev) =>
          done(
            fatalClose(ev.code, ev.reason) ??
              new ClientError(ClientErrorCode.CONNECT_FAILED, `connection closed before ready (${ev.code})`, { closeCode: ev.code }),
          );
        ws.onerror = () => undefined;
        const hello: Hello = { type: 'hello', protocol: PROTOCOL_VERSION, skeleton: 'arkit91', ...this.opts.hello, ...(resume ? { resume } : {}) };
        ws.send(encodeClientMessage(hello));
      });
    } catch (error) {
      ws.onmessage = ws.onclose = null;
      ws.close(1000);
      throw error;
    }
    if (this.isFinal()) {
      ws.onmessage = ws.onclose = null;
      ws.close(1000);
      return;
    }
    this.ws = ws;
    this.readyMsg = ready;
    ws.onmessage = (ev) => this.onMessage(ev.data);
    ws.onclose = (ev) => this.onClose(ws, ev.code, ev.reason);
    this.endSent = false;
    if (resume) {
      // The server has everything before resumeFromSeq persisted: those frames are acked in effect;
      // everything after goes out again, in order, paced by pump().
      const from = ready.resumeFromSeq ?? this.lastAcked + 1;
      this.ack(from - 1);
      this.sentUpTo = from - 1;
      if (this.planes) ws.send(encodeClientMessage({ type: 'env', planes: [...this.planes] }));
    }
    if (this.state.value !== 'ending') this.state.next('ready');
    this.pump();
  }

  /**
   * Writes buffered frames not yet written to this socket, oldest first, within the send rate and the
   * socket's buffer limit; schedules itself when it has to wait. `end` goes last, after every frame.
   */
  private pump(): void {
    const ws = this.ws;
    const s = this.state.value;
    if (!ws || ws.readyState !== OPEN || (s !== 'ready' && s !== 'ending') || this.pumpTimer !== undefined) return;
    const now = this.timers.now();
    this.tokens = Math.min(this.rate.burst, this.tokens + ((now - this.tokensAt) / 1000) * this.rate.perS);
    this.tokensAt = now;
    for (const { seq, bytes } of this.buffer.from(this.sentUpTo + 1)) {
      const maxBuffered = this.opts.maxSocketBufferBytes ?? 1 << 20;
      if (this.tokens < 1 || ws.bufferedAmount > maxBuffered) {
        const waitMs = this.tokens < 1 ? Math.ceil(((1 - this.tokens) / this.rate.perS) * 1000) : 10;
        this.pumpTimer = this.timers.setTimeout(() => {
          this.pumpTimer = undefined;
          this.pump();
        }, waitMs);
        return;
      }
      ws.send(bytes);
      this.tokens -= 1;
      if (seq <= this.maxWrittenSeq) this.counts.framesResent++;
      else this.counts.framesSent++;
      this.maxWrittenSeq = Math.max(this.maxWrittenSeq, seq);
      this.sentUpTo = seq;
    }
    if (this.endRequested && !this.endSent) {
      ws.send(encodeClientMessage({ type: 'end' }));
      this.endSent = true;
    }
  }

  /** A server message, or the BAD_SERVER_MESSAGE error that ends the session (a server that speaks something else cannot be trusted with it). */
  private decode(data: unknown): IngestServerMessage | ClientError {
    const bytes = messageBytes(data);
    const r = bytes ? decodeServerMessage(bytes, 'ingest') : undefined;
    if (r?.ok) return r.message;
    return new ClientError(ClientErrorCode.BAD_SERVER_MESSAGE, `invalid message from the server: ${r ? r.error.message : 'text frame'}`);
  }

  private ack(seq: number): void {
    if (seq <= this.lastAcked) return;
    this.lastAcked = seq;
    this.buffer.release(seq);
  }

  private onMessage(data: unknown): void {
    const msg = this.decode(data);
    if (msg instanceof ClientError) return this.fail(msg);
    this.messages.next(msg);
    switch (msg.type) {
      case 'feedback':
        if (msg.seq <= this.lastFeedbackSeq) {
          this.counts.duplicateFeedback++;
          return;
        }
        this.lastFeedbackSeq = msg.seq;
        this.counts.feedback++;
        this.feedbackOut.next(msg);
        return;
      case 'ack':
        this.ack(msg.seq);
        return;
      case 'ended':
        this.finish('ended', undefined, msg);
        return;
      default:
        return;
    }
  }

  private onClose(ws: WebSocketLike, code: number, reason: string): void {
    if (ws !== this.ws || this.isFinal()) return;
    this.ws = undefined;
    this.timers.clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    const fatal = fatalClose(code, reason);
    if (fatal) return this.fail(fatal);
    if (this.state.value === 'ready') this.state.next('reconnecting');
    void this.reconnect(0);
  }

  private async reconnect(attempt: number): Promise<void> {
    if (this.isFinal()) return;
    if (attempt >= this.backoff.maxAttempts) {
      return this.fail(new ClientError(ClientErrorCode.CONNECT_FAILED, `connection lost; ${attempt} reconnect attempts failed`));
    }
    await new Promise<void>((resolve) => {
      this.sleepTimer = this.timers.setTimeout(resolve, backoffDelay(attempt, this.backoff, this.opts.random));
    });
    if (this.isFinal()) return;
    this.counts.reconnects++;
    try {
      await this.handshake({ sessionId: this.sessionId, lastAckedSeq: this.lastAcked });
    } catch (error) {
      const e = error instanceof ClientError ? error : new ClientError(ClientErrorCode.CONNECT_FAILED, String(error), { cause: error });
      if (
        e.code === ClientErrorCode.RESUME_FAILED ||
        e.code === ClientErrorCode.UNAUTHORIZED ||
        e.code === ClientErrorCode.CLOSED_BY_SERVER ||
        e.code === ClientErrorCode.SERVER_ERROR ||
        e.code === ClientErrorCode.BAD_SERVER_MESSAGE ||
        e.code === ClientErrorCode.CLOSED
      )
        return this.fail(e);
      return this.reconnect(attempt + 1);
    }
  }

  private fail(error: ClientError): void {
    if (this.isFinal()) return;
    this.finish('failed', error);
  }

  private finish(state: 'ended' | 'failed' | 'closed', error: ClientError | undefined, ended?: Ended): void {
    this.timers.clearTimeout(this.pendingTimer);
    this.timers.clearTimeout(this.sleepTimer);
    this.timers.clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    this.state.next(state);
    this.abortHandshake?.();
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      ws.onmessage = ws.onclose = null;
      ws.close(1000);
    }
    if (ended) this.settleEnded.resolve(ended);
    else this.settleEnded.reject(error ?? new ClientError(ClientErrorCode.CLOSED, 'session closed'));
    this.messages.complete();
    this.feedbackOut.complete();
    this.state.complete();
  }
}

/** Opens an ingest session (hello → ready). See {@link IngestClient}. */
export function connectIngest(opts: IngestOptions): Promise<IngestClient> {
  return IngestClient.connect(opts);
}
