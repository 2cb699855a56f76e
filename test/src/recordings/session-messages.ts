// Test fixture: the wire messages an iPad would send for a real mocap recording (hello, env with the
// floor plane, ARKit frames, end), encoded as the server records them. `planeChangeAt` sends a second
// `env` mid-session with the floor 20 cm higher, so replays that apply planes at the wrong frame differ.
import { arkitFrames, floorPlane } from '../../../clients/simulator/arkit-frames.js';
import type { Assessment, PlaneAnchor, Recording } from '../../../streams/types.js';
import { encodeClientMessage } from '../../../src/protocol/index.js';

export interface SessionMessagesOptions {
  readonly patientId: string;
  readonly assessment: Assessment;
  readonly maxFrames?: number;
  readonly planeChangeAt?: number;
}

export function sessionMessages(rec: Recording, o: SessionMessagesOptions): { messages: Uint8Array[]; frames: number } {
  const hello = encodeClientMessage({
    type: 'hello',
    protocol: 1,
    patientId: o.patientId,
    assessment: o.assessment,
    fps: 60,
    skeleton: 'arkit91',
    device: { model: 'iPad13,8', os: 'iPadOS 17.4' },
  });
  const messages = [hello];
  const plane = floorPlane(rec);
  if (plane) messages.push(encodeClientMessage({ type: 'env', planes: [plane] }));
  let frames = 0;
  for (const f of arkitFrames(rec, { clockOffsetS: 1000 })) {
    if (o.maxFrames !== undefined && frames >= o.maxFrames) break;
    if (plane && frames === o.planeChangeAt) messages.push(encodeClientMessage({ type: 'env', planes: [raised(plane, 0.2)] }));
    messages.push(encodeClientMessage({ type: 'frame', ...f }));
    frames++;
  }
  messages.push(encodeClientMessage({ type: 'end' }));
  return { messages, frames };
}

function raised(p: PlaneAnchor, dy: number): Omit<PlaneAnchor, 'transform' | 'extent'> & { transform: number[]; extent: [number, number] } {
  const transform = [...p.transform];
  transform[13] = (transform[13] ?? 0) + dy;
  return { ...p, transform, extent: [p.extent[0], p.extent[1]] };
}
