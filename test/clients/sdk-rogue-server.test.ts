// The SDK against servers that misbehave: never answer hello, or answer with bytes that are not protocol v1.
import { WebSocketServer } from 'ws';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientError, ClientErrorCode, connectIngest, connectLive } from '../../clients/sdk/index.js';
import { filter, firstValueFrom } from 'rxjs';
import { decodeClientMessage, encodeServerMessage, SUBPROTOCOL } from '../../src/protocol/index.js';

const HELLO = { patientId: 'p1', assessment: 'gait', fps: 60, device: { model: 'x', os: 'y' } } as const;
let wss: WebSocketServer | undefined;

async function rogue(onMessage: (send: (b: Uint8Array | string) => void) => void, protocol: string | false = SUBPROTOCOL): Promise<string> {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => protocol });
  wss.on('connection', (ws) => ws.on('message', () => onMessage((b) => ws.send(b))));
  await new Promise<void>((r) => wss?.once('listening', () => r()));
  const addr = wss.address();
  return `ws://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}

afterEach(async () => {
  for (const c of wss?.clients ?? []) c.terminate();
  await new Promise<void>((r) => (wss ? wss.close(() => r()) : r()));
  wss = undefined;
});

const fail = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('SDK against a misbehaving server', () => {
  it('times out with TIMEOUT when hello is never answered', async () => {
    const url = await rogue(() => undefined);
    const err = await fail(connectIngest({ url, token: 't', hello: HELLO, WebSocket, timeouts: { readyMs: 200 } }));
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).code).toBe(ClientErrorCode.TIMEOUT);
  });

  it('refuses non-protocol replies with BAD_SERVER_MESSAGE', async () => {
    const url = await rogue((send) => send(new Uint8Array([0xc1])));
    const err = await fail(connectIngest({ url, token: 't', hello: HELLO, WebSocket }));
    expect((err as ClientError).code).toBe(ClientErrorCode.BAD_SERVER_MESSAGE);
  });

  it('refuses a server that selects another subprotocol', async () => {
    const url = await rogue(() => undefined, 'something-else');
    const err = await fail(connectLive({ url, token: 't', WebSocket }));
    expect((err as ClientError).code).toBe(ClientErrorCode.CONNECT_FAILED);
    // `ws` itself rejects a subprotocol it did not offer; the SDK checks it too for implementations that don't.
    expect((err as ClientError).message).toMatch(/subprotocol/i);
  });

  it('reports CONNECT_FAILED when nothing listens', async () => {
    const url = await rogue(() => undefined);
    await new Promise<void>((r) => wss?.close(() => r()));
    wss = undefined;
    const err = await fail(connectLive({ url, token: 't', WebSocket }));
    expect((err as ClientError).code).toBe(ClientErrorCode.CONNECT_FAILED);
  });

  it('says NO_WEBSOCKET when no implementation is available (Node 20 without the option)', async () => {
    const err = await fail(connectLive({ url: 'ws://127.0.0.1:1', token: 't' }));
    const hasGlobal = typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function';
    if (!hasGlobal) expect((err as ClientError).code).toBe(ClientErrorCode.NO_WEBSOCKET);
    else expect(err).toBeInstanceOf(ClientError);
  });
});

describe('SDK resume after a server restart', () => {
  it('resends the frames the shutting-down server answered SESSION_NOT_FOUND, after ready.resumeFromSeq', async () => {
    // Connection 1 persists (acks) frames 0–4, answers 5–9 with SESSION_NOT_FOUND (the session was
    // being suspended) and closes 4000; connection 2 is the restarted server continuing the session.
    const received: number[][] = [];
    const hellos: unknown[] = [];
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => SUBPROTOCOL });
    wss.on('connection', (ws) => {
      const mine: number[] = [];
      const conn = received.push(mine);
      ws.on('message', (data: Buffer) => {
        const r = decodeClientMessage(new Uint8Array(data), 'ingest');
        if (!r.ok) return;
        const m = r.message;
        if (m.type === 'hello') {
          hellos.push(m.resume);
          const resume = conn === 1 ? {} : { resumeFromSeq: 5 };
          ws.send(
            encodeServerMessage({ type: 'ready', sessionId: 's1', model: { id: 'pretrained', kind: 'pretrained', version: '1' }, horizons: [1], ...resume }),
          );
        } else if (m.type === 'frame') {
          mine.push(m.seq);
          if (conn > 1 || m.seq < 5) ws.send(encodeServerMessage({ type: 'ack', seq: m.seq }));
          else ws.send(encodeServerMessage({ type: 'error', code: 'SESSION_NOT_FOUND', message: 'session s1 is ending', seq: m.seq }));
          if (conn === 1 && m.seq === 9) ws.close(4000, 'server shutting down');
        } else if (m.type === 'end') {
          ws.send(encodeServerMessage({ type: 'ended', sessionId: 's1', frames: 12, jobId: 'j1' }));
        }
      });
    });
    await new Promise<void>((r) => wss?.once('listening', () => r()));
    const addr = wss.address();
    const url = `ws://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const client = await connectIngest({ url, token: 't', hello: HELLO, WebSocket, backoff: { initialMs: 10, maxMs: 20 } });
    const notFound: number[] = [];
    client.on('error', (e) => e.code === 'SESSION_NOT_FOUND' && notFound.push(e.seq ?? -1));
    const anchor = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    for (let seq = 0; seq < 10; seq++) client.sendFrame({ seq, t: seq / 60, anchor, joints: new Float32Array(273) });
    await firstValueFrom(client.state$.pipe(filter((s) => s === 'reconnecting')));
    await firstValueFrom(client.state$.pipe(filter((s) => s === 'ready')));
    for (let seq = 10; seq < 12; seq++) client.sendFrame({ seq, t: seq / 60, anchor, joints: new Float32Array(273) });
    const ended = await client.end();
    expect(ended.sessionId).toBe('s1');
    expect(notFound).toEqual([5, 6, 7, 8, 9]);
    expect(hellos[1]).toEqual({ sessionId: 's1', lastAckedSeq: 4 });
    expect(received).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      [5, 6, 7, 8, 9, 10, 11],
    ]);
    expect(client.stats).toMatchObject({ lastAckedSeq: 11, unacked: 0, framesResent: 5 });
  });
});
