// The SDK against servers that misbehave: never answer hello, or answer with bytes that are not protocol v1.
import { WebSocketServer } from 'ws';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientError, ClientErrorCode, connectIngest, connectLive } from '../../clients/sdk/index.js';
import { SUBPROTOCOL } from '../../src/protocol/index.js';

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
