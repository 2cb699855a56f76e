// /v1/ingest over real sockets: round trip, bad frames, auth at upgrade, oversize, flood, metrics.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeClientMessage, ErrorCode, type Frame } from '../../../src/protocol/index.js';
import { Client, HELLO, startServer, syntheticFrame, token, waitFor, type Harness } from './harness.js';

let h: Harness;
/** What a client observes when uWS refuses an oversized message (see the test below). */
const OVERSIZE_CLOSE = 1006;
beforeAll(async () => {
  h = await startServer({ env: { MAX_MSGS_PER_S: '100' } });
});
afterAll(async () => {
  await h?.close();
});

const device = () => token({ clinic: 'c1', role: 'device', patient: 'p1' });

function upgradeStatus(url: string, protocols?: string[]): Promise<number> {
  return waitFor('upgrade response', (resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('error', (e) => reject(e));
  });
}

describe('/v1/ingest', () => {
  it('hello → ready → frames → one feedback per frame in order, acks after persistence, end → ended', async () => {
    const c = await Client.connect(h.ws, 'ingest', device());
    expect(c.socket.protocol).toBe('jepa-motion.v1'); // the bearer entry is never echoed
    c.send(HELLO);
    await c.until('ready', () => c.of('ready').length === 1);
    const ready = c.of('ready')[0]!;
    expect(ready.model).toEqual({ id: 'pretrained', kind: 'pretrained', version: '1' });
    // 90 < the 100 msgs/s burst of this server's rate limit.
    for (let s = 0; s < 90; s++) c.send(syntheticFrame(s));
    await c.until('90 feedbacks and acks', () => c.of('feedback').length === 90 && c.of('ack').at(-1)?.seq === 89);
    expect(c.of('feedback').map((f) => f.seq)).toEqual([...Array(90).keys()]);
    const acks = c.of('ack').map((a) => a.seq);
    expect([...acks].sort((a, b) => a - b)).toEqual(acks);
    c.send({ type: 'end' });
    await c.until('ended', () => c.of('ended').length === 1);
    expect(c.of('ended')[0]).toEqual({ type: 'ended', sessionId: ready.sessionId, frames: 90, jobId: `assessment.completed.${ready.sessionId}` });
    expect(await c.closed).toBe(1000);
  });

  it('answers each kind of bad message with its code and the session goes on', async () => {
    const c = await Client.connect(h.ws, 'ingest', device());
    c.send(HELLO);
    await c.until('ready', () => c.of('ready').length === 1);
    c.send(syntheticFrame(0));
    const short: Frame = { ...syntheticFrame(1), joints: new Float32Array(10) };
    const nan = syntheticFrame(1);
    nan.joints![40] = Number.NaN;
    const far = syntheticFrame(1);
    far.joints![3] = 50;
    c.sendRaw(new Uint8Array([0xc1, 0xff, 0x00])); // not msgpack
    c.sendRaw(encodeClientMessage({ type: 'nope' } as never));
    c.sendRaw(encodeClientMessage({ type: 'frame', seq: 'one' } as never));
    c.send(short);
    c.send(nan);
    c.send(far);
    c.send(syntheticFrame(0)); // duplicate
    c.send(syntheticFrame(1, 0.5)); // time goes backwards
    c.send(syntheticFrame(1)); // finally good
    await c.until('feedback for 0 and 1', () => c.of('feedback').length === 2);
    expect(c.of('error').map((e) => e.code)).toEqual([
      ErrorCode.NOT_MSGPACK,
      ErrorCode.UNKNOWN_TYPE,
      ErrorCode.INVALID_MESSAGE,
      ErrorCode.JOINT_COUNT,
      ErrorCode.NON_FINITE,
      ErrorCode.ABSURD_VALUE,
      ErrorCode.DUPLICATE_SEQ,
      ErrorCode.TIME_NOT_MONOTONIC,
    ]);
    expect(c.of('feedback').map((f) => f.seq)).toEqual([0, 1]);
    expect(c.closeCode).toBeUndefined();
    await c.close();
  });

  it('a text frame gets INVALID_MESSAGE and close 4002 at once', async () => {
    const c = await Client.connect(h.ws, 'ingest', device());
    c.send(HELLO);
    await c.until('ready', () => c.of('ready').length === 1);
    c.socket.send('{"type":"frame"}');
    expect(await c.closed).toBe(4002);
    expect(c.of('error').map((e) => e.code)).toEqual([ErrorCode.INVALID_MESSAGE]);
  });

  it('16 invalid messages in the window are answered and the session goes on; the 17th closes with 4002', async () => {
    const c = await Client.connect(h.ws, 'ingest', device());
    c.send(HELLO);
    await c.until('ready', () => c.of('ready').length === 1);
    const garbage = new Uint8Array([0xc1]);
    for (let i = 0; i < 16; i++) c.sendRaw(garbage);
    c.send(syntheticFrame(0));
    await c.until('feedback after 16 invalid messages', () => c.of('feedback').length === 1);
    expect(c.of('error')).toHaveLength(16);
    expect(c.closeCode).toBeUndefined();
    c.sendRaw(garbage);
    expect(await c.closed).toBe(4002);
    expect(c.closeReason).toMatch(/more than 16 invalid messages in 10 s/);
    expect(c.of('error')).toHaveLength(17);
  });

  it('frames that decode but fail the frame checks are not counted as invalid messages', async () => {
    const c = await Client.connect(h.ws, 'ingest', device());
    c.send(HELLO);
    await c.until('ready', () => c.of('ready').length === 1);
    c.send(syntheticFrame(0));
    for (let i = 0; i < 30; i++) c.send(syntheticFrame(0)); // DUPLICATE_SEQ, 30 times
    c.send(syntheticFrame(1));
    await c.until('feedback for 1', () => c.of('feedback').some((f) => f.seq === 1));
    expect(c.of('error').filter((e) => e.code === ErrorCode.DUPLICATE_SEQ)).toHaveLength(30);
    expect(c.closeCode).toBeUndefined();
    await c.close();
  });

  it('refuses the upgrade with 401 for a missing, bad or expired token; accepts ?token=', async () => {
    const url = `${h.ws}/v1/ingest`;
    expect(await upgradeStatus(url)).toBe(401);
    expect(await upgradeStatus(url, ['jepa-motion.v1', 'bearer.not-a-jwt'])).toBe(401);
    const forged = device().slice(0, -4) + 'AAAA';
    expect(await upgradeStatus(url, ['jepa-motion.v1', `bearer.${forged}`])).toBe(401);
    const expired = token({ clinic: 'c1', role: 'device', patient: 'p1', ttlSeconds: 60 }, Date.now() - 3600_000);
    expect(await upgradeStatus(url, ['jepa-motion.v1', `bearer.${expired}`])).toBe(401);
    expect(await upgradeStatus(`${url}?token=${device()}`)).toBe(101);
  });

  it('a device cannot stream for another patient', async () => {
    const c = await Client.connect(h.ws, 'ingest', token({ clinic: 'c1', role: 'device', patient: 'p2' }));
    c.send(HELLO);
    expect(await c.closed).toBe(4001);
    expect(c.of('error')[0]?.code).toBe(ErrorCode.FORBIDDEN);
  });

  it('a message over maxPayloadLength makes uWS close the connection; the server stays up', async () => {
    const c = await Client.connect(h.ws, 'ingest', device());
    c.sendRaw(new Uint8Array(10 * 1024 * 1024));
    const code = await c.closed;
    // uWS rejects it while reading the frame header and closes the TCP connection without a close
    // frame (documented: the client sees 1006, the server's close handler "Received too big message").
    expect(code).toBe(OVERSIZE_CLOSE);
    const again = await Client.connect(h.ws, 'ingest', device());
    again.send(HELLO);
    await again.until('ready', () => again.of('ready').length === 1);
    await again.close();
  });

  it('a flood gets RATE_LIMITED, then the connection is closed with RATE_LIMIT', async () => {
    const c = await Client.connect(h.ws, 'ingest', device());
    c.send(HELLO);
    await c.until('ready', () => c.of('ready').length === 1);
    const bytes = encodeClientMessage({ type: 'env', planes: [] });
    for (let i = 0; i < 2000 && c.closeCode === undefined; i++) c.sendRaw(bytes);
    expect(await c.closed).toBe(4005);
    const limited = c.of('error').filter((e) => e.code === ErrorCode.RATE_LIMITED);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(limited.length).toBeLessThanOrEqual(3); // one per violation streak, not one per message
  });

  it('exposes the counters on /metrics', async () => {
    const text = await (await fetch(`${h.http}/metrics`)).text();
    expect(text).toMatch(/jepa_frames_total\{outcome="accepted"\} \d+/);
    expect(text).toMatch(/jepa_errors_total\{code="RATE_LIMITED"\} \d+/);
    expect(text).toMatch(/jepa_errors_total\{code="MISSING"\} \d+/);
    expect(text).toContain('jepa_inference_backend{backend="js"} 1');
  });
});
