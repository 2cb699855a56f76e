// Test fixture: a real mocap recording turned into what the server writes for a session — a .jmrl
// recording log with the session record, then hello, env (the floor plane) and ARKit wire frames
// (clients/simulator's canonicalToArkit conversion), then end — finalised like a finished session.
import { floorPlane, arkitFrames } from '../../../../clients/simulator/arkit-frames.js';
import { readRecording } from '../../../../streams/adapters/read-recording.js';
import type { Assessment, Recording } from '../../../../streams/types.js';
import { encodeClientMessage } from '../../../../src/protocol/index.js';
import { RecordingLog } from '../../../../src/storage/recording-log.js';

export interface SessionFixture {
  readonly path: string;
  readonly sha256: string;
  readonly frames: number;
}

export interface SessionFixtureOptions {
  readonly patientId: string;
  readonly sessionId: string;
  readonly assessment: Assessment;
  /** Use only the first n frames of the recording. */
  readonly maxFrames?: number;
  /** After this many frames, resend the last `resend` frames as a resumed device would. */
  readonly resumeAfter?: number;
  readonly resend?: number;
}

export async function loadMocap(path: string): Promise<Recording> {
  return readRecording(path, { fps: 60 });
}

export async function writeSessionRecording(out: string, rec: Recording, o: SessionFixtureOptions): Promise<SessionFixture> {
  const log = await RecordingLog.create(out, { fsync: { mode: 'never' } });
  await log.append({
    type: 'session',
    sessionId: o.sessionId,
    clinic: 'c1',
    patientId: o.patientId,
    assessment: o.assessment,
    fps: 60,
    startedAt: 0,
    model: { id: 'base', kind: 'pretrained', version: '0' },
  });
  await log.appendEncoded(
    encodeClientMessage({
      type: 'hello',
      protocol: 1,
      patientId: o.patientId,
      assessment: o.assessment,
      fps: 60,
      skeleton: 'arkit91',
      device: { model: 'iPad13,8', os: 'iPadOS 17.4' },
    }),
  );
  const plane = floorPlane(rec);
  if (plane) await log.appendEncoded(encodeClientMessage({ type: 'env', planes: [plane] }));
  const sent: Uint8Array[] = [];
  let frames = 0;
  for (const f of arkitFrames(rec, { clockOffsetS: 1000 })) {
    if (o.maxFrames !== undefined && frames >= o.maxFrames) break;
    const bytes = encodeClientMessage({ type: 'frame', ...f });
    await log.appendEncoded(bytes);
    sent.push(bytes);
    frames++;
    if (o.resumeAfter === frames && o.resend) {
      await log.appendEncoded(
        encodeClientMessage({
          type: 'hello',
          protocol: 1,
          patientId: o.patientId,
          assessment: o.assessment,
          fps: 60,
          skeleton: 'arkit91',
          device: { model: 'iPad13,8', os: 'iPadOS 17.4' },
          resume: { sessionId: o.sessionId, lastAckedSeq: frames - o.resend - 1 },
        }),
      );
      for (const b of sent.slice(-o.resend)) await log.appendEncoded(b);
    }
  }
  await log.appendEncoded(encodeClientMessage({ type: 'end' }));
  const fin = await log.finalize();
  return { path: out, sha256: fin.sha256, frames };
}
