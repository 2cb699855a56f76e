// A session's recording holds every wire message byte for byte as the iPad sent it: the server decodes a
// message once (the codec, on receipt) and stores the received bytes, never a re-encoding of what it
// decoded. The frames here use a valid but non-canonical msgpack encoding (seq as uint32) that any
// decode → encode round trip would change, so a re-encoding server fails this test.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeClientMessage } from '../../../src/protocol/index.js';
import { SESSION_RECORD_TYPE } from '../../../src/sessions/recording-store.js';
import { packr } from '../../../src/storage/recording-format.js';
import { readRecording } from '../../../src/storage/recording-reader.js';
import { Client, HELLO, startServer, syntheticFrame, token, type Harness } from '../transport/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startServer();
});
afterAll(async () => {
  await h?.close();
});

/** The frame's msgpack map with `seq` appended as a 5-byte uint32 (canonical msgpack would use 1 byte). */
function nonCanonicalFrame(seq: number): Uint8Array {
  const { seq: _omit, ...rest } = syntheticFrame(seq);
  const body = encodeClientMessage(rest as never);
  // msgpackr writes a fixmap (0x8N) or a map16 (0xde + 2 bytes) header: bump the entry count.
  const head = Buffer.from(body.subarray(0, body[0] === 0xde ? 3 : 1));
  if (head[0] === 0xde) head.writeUInt16BE(head.readUInt16BE(1) + 1, 1);
  else if ((head[0]! & 0xf0) === 0x80) head[0] = head[0]! + 1;
  else throw new Error(`unexpected map header 0x${head[0]!.toString(16)}`);
  const key = packr.pack('seq');
  const value = Buffer.from([0xce, 0, 0, 0, 0]);
  value.writeUInt32BE(seq, 1);
  return Buffer.concat([head, body.subarray(head.length), key, value]);
}

describe('recording bytes', () => {
  it('stores each received message exactly as received (hello, frames, end)', async () => {
    const c = await Client.connect(h.ws, 'ingest', token({ clinic: 'c1', role: 'device', patient: 'p1' }));
    const sent: Uint8Array[] = [encodeClientMessage(HELLO)];
    c.sendRaw(sent[0]!);
    await c.until('ready', () => c.of('ready').length === 1);
    for (let s = 0; s < 20; s++) {
      const bytes = nonCanonicalFrame(s);
      sent.push(bytes);
      c.sendRaw(bytes);
    }
    await c.until('20 acks', () => c.of('ack').at(-1)?.seq === 19);
    // The encoding really is one a re-encode would change.
    expect(Buffer.from(packr.pack(packr.unpack(sent[1]!))).equals(Buffer.from(sent[1]!))).toBe(false);
    const end = encodeClientMessage({ type: 'end' });
    sent.push(end);
    c.sendRaw(end);
    await c.until('ended', () => c.of('ended').length === 1);
    const { sessionId } = c.of('ready')[0]!;
    const files = await readdir(join(h.dataDir, 'recordings'));
    const file = files.find((f) => f.startsWith(sessionId));
    expect(file).toBeDefined();
    const { entries, end: scan } = await readRecording(join(h.dataDir, 'recordings', file!));
    expect(scan.status).toBe('complete');
    expect((entries[0]!.value as { type: string }).type).toBe(SESSION_RECORD_TYPE);
    expect(entries.slice(1).map((e) => Buffer.from(e.payload).toString('hex'))).toEqual(sent.map((b) => Buffer.from(b).toString('hex')));
  });
});
