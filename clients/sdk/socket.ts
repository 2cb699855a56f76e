// The WebSocket the SDK talks through: the browser's (or Node 22's) global, or one passed in (Node 20:
// the `ws` package). Only the WHATWG surface is used (onopen/onmessage/onclose/onerror, send, close),
// which `ws` implements too. The token rides in Sec-WebSocket-Protocol (src/protocol bearerProtocols).
import { bearerProtocols, SUBPROTOCOL } from '../../src/protocol/index.js';
import { ClientError, ClientErrorCode } from './errors.js';

/**
 * A WebSocket constructor (browser `WebSocket`, `ws`'s default export). Typed loosely on purpose: the
 * DOM and `ws` event types differ in detail, and the SDK only touches the members of {@link WebSocketLike}.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => unknown;

/** The part of the WHATWG WebSocket the SDK uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  readonly protocol: string;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: { message?: string; error?: unknown }) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export const OPEN = 1;

/** Timer functions and a monotonic clock (ms), injectable so tests control time. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export const defaultTimers: Timers = {
  now: () => globalThis.performance.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>),
};

export function resolveWebSocket(ctor: WebSocketConstructor | undefined): WebSocketConstructor {
  const found = ctor ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!found) throw new ClientError(ClientErrorCode.NO_WEBSOCKET, 'no WebSocket implementation: pass { WebSocket } (Node 20: `import WebSocket from "ws"`)');
  return found;
}

/** `ws://host:port` or `ws://host:port/` → `ws://host:port/v1/<channel>`; a URL already naming the path is kept. */
export function endpointUrl(base: string, channel: 'ingest' | 'live'): string {
  const path = `/v1/${channel}`;
  const u = new URL(base);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  if (u.protocol === 'https:') u.protocol = 'wss:';
  if (!u.pathname.endsWith(path)) u.pathname = `${u.pathname.replace(/\/$/, '')}${path}`;
  return u.toString();
}

/** Bytes of a binary message, whatever the implementation delivered (ArrayBuffer, Buffer, typed array). */
export function messageBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

// `ws` reports a refused upgrade as an error "Unexpected server response: 401"; browsers hide the status.
function statusOf(ev: { message?: string; error?: unknown }): number | undefined {
  const text = ev.message ?? (ev.error instanceof Error ? ev.error.message : '');
  const m = /Unexpected server response: (\d{3})/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Opens a socket; resolves when open, rejects with a coded ClientError (UNAUTHORIZED, CONNECT_FAILED, TIMEOUT). */
export function openSocket(Ctor: WebSocketConstructor, url: string, token: string, timeoutMs: number, timers: Timers): Promise<WebSocketLike> {
  return new Promise((resolve, reject) => {
    let ws: WebSocketLike;
    try {
      ws = new Ctor(url, bearerProtocols(token)) as WebSocketLike;
    } catch (cause) {
      reject(new ClientError(ClientErrorCode.CONNECT_FAILED, `cannot open ${url}: ${String(cause)}`, { cause }));
      return;
    }
    ws.binaryType = 'arraybuffer';
    let status: number | undefined;
    let detail = '';
    const timer = timers.setTimeout(() => {
      settle(new ClientError(ClientErrorCode.TIMEOUT, `no connection to ${url} within ${timeoutMs} ms`));
      // Closing a socket that is still connecting emits an error (the `ws` package throws it when
      // nobody listens): it is the expected end of this attempt, already reported as TIMEOUT.
      ws.onerror = () => undefined;
      ws.close();
    }, timeoutMs);
    const settle = (err?: ClientError) => {
      timers.clearTimeout(timer);
      ws.onopen = ws.onerror = ws.onclose = null;
      if (err) reject(err);
      else resolve(ws);
    };
    ws.onopen = () => {
      if (ws.protocol !== '' && ws.protocol !== SUBPROTOCOL) {
        settle(new ClientError(ClientErrorCode.CONNECT_FAILED, `server selected subprotocol ${JSON.stringify(ws.protocol)}, expected ${SUBPROTOCOL}`));
        ws.close();
        return;
      }
      settle();
    };
    ws.onerror = (ev) => {
      status = statusOf(ev) ?? status;
      detail = ev.message ?? (ev.error instanceof Error ? ev.error.message : detail);
    };
    ws.onclose = (ev) => {
      if (status === 401) settle(new ClientError(ClientErrorCode.UNAUTHORIZED, `${url}: token refused (HTTP 401)`, { closeCode: ev.code }));
      else
        settle(
          new ClientError(
            ClientErrorCode.CONNECT_FAILED,
            `cannot connect to ${url}${status ? ` (HTTP ${status})` : ''} (close ${ev.code}${ev.reason ? ` ${ev.reason}` : ''})${detail ? `: ${detail}` : ''}`,
            { closeCode: ev.code },
          ),
        );
    };
  });
}
