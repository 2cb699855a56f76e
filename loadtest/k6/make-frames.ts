// Writes the frame template the k6 script streams: a recording (default: the OpenSim walk) as ARKit
// frames (the simulator's conversion), binary so k6 can open() it without npm packages:
//   uint32 LE frame count, float32 LE fps, then per frame: float64 t, 16 float32 anchor, 273 float32
//   joints, 91 bytes tracked flags (1 = tracked; joints the recording lacks are 0 and untracked).
//   npx tsx loadtest/k6/make-frames.ts [recording] > /tmp/jepa-frames.bin
import { readRecording } from '../../streams/adapters/read-recording.js';
import { arkitFrames } from '../../clients/simulator/arkit-frames.js';
import { DEFAULT_RECORDING } from '../harness.js';

export const FRAME_BYTES = 8 + 16 * 4 + 273 * 4 + 91;

export async function frameTemplate(path: string): Promise<Uint8Array> {
  const rec = await readRecording(path);
  const frames = [...arkitFrames(rec, { clockOffsetS: 0 })];
  const out = new Uint8Array(8 + frames.length * FRAME_BYTES);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, frames.length, true);
  dv.setFloat32(4, rec.meta.fps, true);
  frames.forEach((f, i) => {
    let o = 8 + i * FRAME_BYTES;
    dv.setFloat64(o, f.t, true);
    o += 8;
    for (const v of f.anchor) (dv.setFloat32(o, v, true), (o += 4));
    for (const v of f.joints ?? new Float32Array(273)) (dv.setFloat32(o, v, true), (o += 4));
    out.set(f.tracked ?? new Uint8Array(91).fill(1), o);
  });
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(await frameTemplate(process.argv[2] ?? DEFAULT_RECORDING));
}
