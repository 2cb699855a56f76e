// The dashboard side of /v1/live: subscribe to a session or a clinic, receive snapshot/update/session
// events. Subscriptions are remembered (bounded, MAX_SUBSCRIPTIONS) and re-sent after a reconnect, so
// a dashboard survives a server restart; the server sends a fresh snapshot on each subscribe.
import { BehaviorSubject, Subject, filter, type Observable } from 'rxjs';
import {
  decodeServerMessage,
  encodeClientMessage,
  type ErrorMessage,
  type LiveServerMessage,
  type SessionEnded,
  type SessionStarted,
  type Snapshot,
  type Update,
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

/** Remembered subscriptions per client (the server has its own SUBSCRIPTION_LIMIT too). */
export const MAX_SUBSCRIPTIONS = 256;

export type LiveTarget = { readonly sessionId: string } | { readonly clinic: string };
export type LiveState = 'open' | 'reconnecting' | 'failed' | 'closed';

export interface LiveOptions {
  /** Server base URL (`ws://host:port`) or the full `/v1/live` URL. */
  readonly url: string;
  /** Therapist/admin JWT. */
  readonly token: string;
  readonly WebSocket?: WebSocketConstructor;
  readonly backoff?: BackoffOptions;
  readonly timeouts?: { readonly connectMs?: number };
  readonly timers?: Timers;
  readonly random?: () => number;
}

const key = (t: LiveTarget): string => ('sessionId' in t ? `s:${t.sessionId}` : `c:${t.clinic}`);

export class LiveClient {
  readonly messages$: Observable<LiveServerMessage>;
  readonly updates$: Observable<Update>;
  readonly snapshots$: Observable<Snapshot>;
  readonly sessionEvents$: Observable<SessionStarted | SessionEnded>;
  /** Wire errors (FORBIDDEN, SESSION_NOT_FOUND, ...): the connection goes on. */
  readonly errors$: Observable<ErrorMessage>;
  readonly state$: Observable<LiveState>;
  /** Resolves when closed by the caller; rejects with a ClientError when the connection fails for good. */
  readonly closed: Promise<void>;

  private readonly messages = new Subject<LiveServerMessage>();
  private readonly state = new BehaviorSubject<LiveState>('open');
  private readonly targets = new Map<string, LiveTarget>();
  private readonly backoff: Required<BackoffOptions>;
  private readonly timers: Timers;
  private readonly Ctor: WebSocketConstructor;
  private readonly endpoint: string;
  private ws: WebSocketLike | undefined;
  private sleepTimer: unknown;
  private settleClosed!: { resolve: () => void; reject: (e: ClientError) => void };
  reconnects = 0;

  private constructor(private readonly opts: LiveOptions) {
    this.Ctor = resolveWebSocket(opts.WebSocket);
    this.endpoint = endpointUrl(opts.url, 'live');
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.timers = opts.timers ?? defaultTimers;
    this.messages$ = this.messages.asObservable();
    this.updates$ = this.messages$.pipe(filter((m): m is Update => m.type === 'update'));
    this.snapshots$ = this.messages$.pipe(filter((m): m is Snapshot => m.type === 'snapshot'));
    this.sessionEvents$ = this.messages$.pipe(filter((m): m is SessionStarted | SessionEnded => m.type === 'session.started' || m.type === 'session.ended'));
    this.errors$ = this.messages$.pipe(filter((m): m is ErrorMessage => m.type === 'error'));
    this.state$ = this.state.asObservable();
    this.closed = new Promise<void>((resolve, reject) => (this.settleClosed = { resolve, reject }));
    this.closed.catch(() => undefined);
  }

  static async connect(opts: LiveOptions): Promise<LiveClient> {
    const c = new LiveClient(opts);
    c.attach(await openSocket(c.Ctor, c.endpoint, opts.token, opts.timeouts?.connectMs ?? 10_000, c.timers));
    return c;
  }

  get currentState(): LiveState {
    return this.state.value;
  }

  /** Follow a session or a clinic; throws ClientError CLOSED after close, BUFFER_FULL past MAX_SUBSCRIPTIONS. */
  subscribe(target: LiveTarget): void {
    this.assertUsable();
    const k = key(target);
    if (!this.targets.has(k) && this.targets.size >= MAX_SUBSCRIPTIONS) {
      throw new ClientError(ClientErrorCode.BUFFER_FULL, `at most ${MAX_SUBSCRIPTIONS} subscriptions per client`);
    }
    this.targets.set(k, target);
    this.send({ type: 'subscribe', ...target });
  }

  unsubscribe(target: LiveTarget): void {
    this.assertUsable();
    this.targets.delete(key(target));
    this.send({ type: 'unsubscribe', ...target });
  }

  close(): void {
    if (this.state.value === 'closed' || this.state.value === 'failed') return;
    this.finish('closed');
  }

  private assertUsable(): void {
    if (this.state.value === 'closed' || this.state.value === 'failed') throw new ClientError(ClientErrorCode.CLOSED, `live client is ${this.state.value}`);
  }

  private send(msg: Parameters<typeof encodeClientMessage>[0]): void {
    // While reconnecting the remembered targets are sent on reopen.
    if (this.ws?.readyState === OPEN) this.ws.send(encodeClientMessage(msg));
  }

  private attach(ws: WebSocketLike): void {
    this.ws = ws;
    ws.onmessage = (ev) => {
      const bytes = messageBytes(ev.data);
      const r = bytes ? decodeServerMessage(bytes, 'live') : undefined;
      if (r?.ok) this.messages.next(r.message);
      else this.fail(new ClientError(ClientErrorCode.BAD_SERVER_MESSAGE, `invalid message from the server: ${r ? r.error.message : 'text frame'}`));
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.ws = undefined;
      const fatal = fatalClose(ev.code, ev.reason);
      if (fatal) return this.fail(fatal);
      this.state.next('reconnecting');
      void this.reconnect(0);
    };
    ws.onerror = () => undefined;
    for (const t of this.targets.values()) ws.send(encodeClientMessage({ type: 'subscribe', ...t }));
    if (this.state.value !== 'open') this.state.next('open');
  }

  private async reconnect(attempt: number): Promise<void> {
    if (this.state.value !== 'reconnecting') return;
    if (attempt >= this.backoff.maxAttempts)
      return this.fail(new ClientError(ClientErrorCode.CONNECT_FAILED, `connection lost; ${attempt} reconnect attempts failed`));
    await new Promise<void>((resolve) => {
      this.sleepTimer = this.timers.setTimeout(resolve, backoffDelay(attempt, this.backoff, this.opts.random));
    });
    if (this.state.value !== 'reconnecting') return;
    try {
      const ws = await openSocket(this.Ctor, this.endpoint, this.opts.token, this.opts.timeouts?.connectMs ?? 10_000, this.timers);
      if (this.state.value !== 'reconnecting') return ws.close(1000);
      this.reconnects++;
      this.attach(ws);
    } catch (error) {
      if (error instanceof ClientError && error.code === ClientErrorCode.UNAUTHORIZED) return this.fail(error);
      return this.reconnect(attempt + 1);
    }
  }

  private fail(error: ClientError): void {
    if (this.state.value === 'closed' || this.state.value === 'failed') return;
    this.finish('failed', error);
  }

  private finish(state: 'closed' | 'failed', error?: ClientError): void {
    this.timers.clearTimeout(this.sleepTimer);
    this.state.next(state);
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      ws.onmessage = ws.onclose = null;
      ws.close(1000);
    }
    if (error) this.settleClosed.reject(error);
    else this.settleClosed.resolve();
    this.messages.complete();
    this.state.complete();
  }
}

/** Opens a live (dashboard) connection. See {@link LiveClient}. */
export function connectLive(opts: LiveOptions): Promise<LiveClient> {
  return LiveClient.connect(opts);
}
