// The dashboard's one /v1/live connection: subscribes to the therapist's clinic (every session of the
// clinic on every node, see src/sessions/live-hub.ts), reconnects with backoff and subscribes again by
// itself. Messages are decoded and validated with the server's own protocol module.
import { bearerProtocols, CloseCode, decodeServerMessage, encodeClientMessage, type LiveServerMessage } from '../../../src/protocol/index.js';

/** Reconnect delays (ms), last one repeated; reset once a connection opens. */
export const BACKOFF_MS = [250, 500, 1000, 2000, 5000] as const;
const AUTH_CLOSES: ReadonlySet<number> = new Set([CloseCode.UNAUTHORIZED, CloseCode.TOKEN_EXPIRED]);

export type ConnectionState =
  | { readonly kind: 'connecting'; readonly attempt: number }
  | { readonly kind: 'open'; readonly connects: number }
  | { readonly kind: 'reconnecting'; readonly inMs: number; readonly code: number }
  | { readonly kind: 'auth-error'; readonly message: string };

export interface LiveClientOptions {
  readonly url: string;
  readonly token: string;
  readonly clinic: string;
  readonly onState: (s: ConnectionState) => void;
  readonly onMessage: (m: LiveServerMessage) => void;
  /** Asked when a connection closes before opening: is the token refused (HTTP 401/403)? */
  readonly tokenRefused: () => Promise<string | undefined>;
}

export class LiveClient {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  /** Connections that opened (a test reads it to see a reconnect). */
  connects = 0;

  constructor(private readonly o: LiveClientOptions) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = undefined;
    ws?.close(1000);
  }

  private open(): void {
    this.o.onState({ kind: 'connecting', attempt: this.attempt });
    const ws = new WebSocket(this.o.url, bearerProtocols(this.o.token));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.connects += 1;
      ws.send(encodeClientMessage({ type: 'subscribe', clinic: this.o.clinic }));
      this.o.onState({ kind: 'open', connects: this.connects });
    };
    ws.onmessage = (ev: MessageEvent<ArrayBuffer>) => {
      if (this.ws !== ws) return;
      const r = decodeServerMessage(ev.data, 'live');
      if (r.ok) this.o.onMessage(r.message);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws || this.stopped) return;
      this.ws = undefined;
      if (AUTH_CLOSES.has(ev.code))
        return this.o.onState({ kind: 'auth-error', message: `signed out by the server (${ev.code}${ev.reason ? `: ${ev.reason}` : ''})` });
      const retry = () => {
        const inMs = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)] ?? 5000;
        this.attempt += 1;
        this.o.onState({ kind: 'reconnecting', inMs, code: ev.code });
        this.timer = setTimeout(() => !this.stopped && this.open(), inMs);
      };
      // A refused upgrade (HTTP 401) looks like a close before open; an HTTP request tells which.
      if (!opened) void this.o.tokenRefused().then((refused) => (refused ? this.o.onState({ kind: 'auth-error', message: refused }) : retry()), retry);
      else retry();
    };
  }
}
