// Acks never precede durability, with several sessions sharing the recordings' group commit: when a
// client receives `ack {seq}`, the server has already seen that session's recording durable through
// frame seq (record 0 = session, 1 = hello, 2 + s = frame s).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeServerMessage } from '../../../src/protocol/index.js';
import { Client, HELLO, startServer, syntheticFrame, token, type Harness } from '../transport/harness.js';

let h: Harness;
/** Per recording path: records durable as reported by the server's onRecordingDurable hook. */
const durable = new Map<string, number>();
beforeAll(async () => {
  h = await startServer({
    env: { FSYNC: 'batch', FSYNC_INTERVAL_MS: '15', MAX_MSGS_PER_S: '1000' },
    deps: { onRecordingDurable: (e) => durable.set(e.path, Math.max(durable.get(e.path) ?? 0, e.durableRecords)) },
  });
});
afterAll(async () => {
  await h?.close();
});

describe('acks and the shared group commit', () => {
  it('every ack a client receives is covered by a completed fdatasync of its own recording', async () => {
    const clients = await Promise.all([1, 2, 3].map(() => Client.connect(h.ws, 'ingest', token({ clinic: 'c1', role: 'device', patient: 'p1' }))));
    const violations: string[] = [];
    let checked = 0;
    for (const c of clients) {
      c.socket.on('message', (data: Buffer) => {
        const r = decodeServerMessage(new Uint8Array(data), 'ingest');
        if (!r.ok || r.message.type !== 'ack') return;
        const sessionId = c.of('ready')[0]?.sessionId ?? '?';
        const path = [...durable.keys()].find((p) => p.includes(sessionId));
        const records = path === undefined ? 0 : (durable.get(path) ?? 0);
        checked += 1;
        if (records < r.message.seq + 3) violations.push(`${sessionId}: ack ${r.message.seq} with ${records} records durable`);
      });
      c.send(HELLO);
    }
    await Promise.all(clients.map((c) => c.until('ready', () => c.of('ready').length === 1)));
    for (let s = 0; s < 40; s++) for (const c of clients) c.send(syntheticFrame(s));
    await Promise.all(clients.map((c) => c.until('ack 39', () => c.of('ack').at(-1)?.seq === 39)));
    expect(checked).toBeGreaterThanOrEqual(3);
    expect(violations).toEqual([]);
    for (const c of clients) c.send({ type: 'end' });
    await Promise.all(clients.map((c) => c.until('ended', () => c.of('ended').length === 1)));
  });
});
