// Protocol v1 in the browser, without a build step: msgpack via msgpackr's ES-module build (served by
// the server from node_modules under /vendor/msgpackr/), same options as src/protocol/codec.ts (plain
// maps, no records extension). Float arrays arrive as msgpack bin of little-endian float32.
import { Packr } from './vendor/msgpackr/index.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, bundleStrings: false, structuredClone: false });

/** Subprotocol the server echoes, and the prefix of the entry carrying the token (src/protocol/subprotocol.ts). */
export const SUBPROTOCOL = 'jepa-motion.v1';
export const bearerProtocols = (token) => [SUBPROTOCOL, `bearer.${token}`];

/** Little-endian float32 bytes → Float32Array (a copy; DataView so any offset/endianness works). */
export function float32(bytes) {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength % 4 !== 0) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function decodeUpdate(u) {
  if (!u || typeof u !== 'object' || u.type !== 'update' || typeof u.sessionId !== 'string') return undefined;
  const joints = float32(u.joints);
  if (!joints || joints.length !== 60) return undefined;
  const prediction = u.prediction === undefined ? undefined : float32(u.prediction);
  return { ...u, joints, prediction: prediction && prediction.length === 60 ? prediction : undefined };
}

/**
 * One /v1/live server message → a plain object, or undefined when it is not a message this page
 * understands (the server's zod schemas are the authority; the page only checks what it draws).
 */
export function decodeLive(data) {
  let msg;
  try {
    msg = packr.unpack(new Uint8Array(data));
  } catch {
    return undefined;
  }
  if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return undefined;
  if (msg.type === 'update') return decodeUpdate(msg);
  if (msg.type === 'snapshot') {
    const updates = Array.isArray(msg.updates) ? msg.updates.map(decodeUpdate).filter(Boolean) : [];
    return { type: 'snapshot', sessionId: msg.sessionId, updates };
  }
  if (msg.type === 'session.started' || msg.type === 'session.ended' || msg.type === 'error') return msg;
  return undefined;
}

export const encodeLive = (msg) => packr.pack(msg);
