// A session the server recorded (`<data>/recordings/*.jmrl`: the wire messages as received) as a
// stage-0 Recording, so `pipeline`, `train` and `eval` run on real sessions exactly as on mocap files.
// It lives here, not in streams/adapters, because reading the log and decoding the wire are src/ parts.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { adapt, type ArkitFrame } from '../../streams/adapt.js';
import { AdapterError, AdapterErrorCode } from '../../streams/errors.js';
import { readRecording as readMocap, type ReadRecordingOptions } from '../../streams/adapters/read-recording.js';
import { JOINTS } from '../../streams/skeleton.js';
import type { PlaneAnchor, Recording } from '../../streams/types.js';
import { decodeClientMessage, type Hello } from '../protocol/index.js';
import { RecordingReader } from '../storage/recording-reader.js';
import { toArkitFrame } from '../sessions/live-pipeline.js';
import { fileSha256 } from '../storage/file-hash.js';

export const SESSION_RECORDING_EXT = '.jmrl';

/** Reads a session recording: frames through the live ARKit adapter, planes from `env`, assessment from `hello`. */
export async function readSessionRecording(path: string): Promise<Recording> {
  const name = basename(path);
  const info = await stat(path).catch((cause: unknown) => {
    throw new AdapterError(AdapterErrorCode.NOT_FOUND, name, `no such file (${path})`, { cause });
  });
  if (info.isDirectory()) throw new AdapterError(AdapterErrorCode.IS_DIRECTORY, name, 'is a directory, not a recording');
  const reader = new RecordingReader(path);
  const frames: ArkitFrame[] = [];
  const planes: PlaneAnchor[] = [];
  let hello: Hello | undefined;
  try {
    for await (const entry of reader.records()) {
      const decoded = decodeClientMessage(entry.payload, 'ingest');
      if (!decoded.ok) continue; // the session record and anything else that is not a wire message
      const m = decoded.message;
      if (m.type === 'hello') hello ??= m;
      else if (m.type === 'env') planes.splice(0, planes.length, ...(m.planes as PlaneAnchor[]));
      else if (m.type === 'frame') {
        frames.push(toArkitFrame(m));
      }
    }
  } catch (cause) {
    throw new AdapterError(AdapterErrorCode.MALFORMED, name, `is not a readable session recording: ${(cause as Error).message}`, { cause });
  }
  const end = reader.end;
  if (end && end.status !== 'complete' && end.status !== 'unfinished') {
    throw new AdapterError(
      AdapterErrorCode.TRUNCATED,
      name,
      `session recording is ${end.status} at byte ${end.badOffset ?? end.validEnd}${end.reason ? ` (${end.reason})` : ''}; the server repairs it at start`,
    );
  }
  if (!hello || frames.length === 0) throw new AdapterError(AdapterErrorCode.EMPTY, name, 'holds no hello and frames');
  const poses = await lastValueFrom(from(frames).pipe(adapt(), toArray()));
  if (poses.length === 0) throw new AdapterError(AdapterErrorCode.EMPTY, name, 'has no frame the ARKit adapter accepts');
  const available = JOINTS.filter((_, j) => poses.some((p) => Number.isFinite(p.joints[3 * j]!)));
  const duration = poses[poses.length - 1]!.t;
  return {
    meta: {
      provenance: [
        {
          file: path,
          sha256: await fileSha256(path),
          format: 'arkit',
          originalFps: hello.fps,
          units: 'm',
          axes: 'ARKit world: y up, right-handed (anchor × model-space joints)',
          jointMap: {},
          notes: [`session recording of patient ${hello.patientId}, ${frames.length} frames`, `device ${hello.device.model} ${hello.device.os}`],
        },
      ],
      fps: poses.length > 1 && duration > 0 ? Math.round((poses.length - 1) / duration) : hello.fps,
      available,
      gaps: [],
      annotations: [],
      phaseLabels: [],
      planes,
      assessment: hello.assessment,
      subject: hello.patientId,
    },
    frames: poses,
  };
}

/** Any recording: a server session (`.jmrl`) or a file the stage-0 adapters read. */
export async function readAnyRecording(path: string, opts: ReadRecordingOptions = {}): Promise<Recording> {
  return path.endsWith(SESSION_RECORDING_EXT) ? readSessionRecording(path) : readMocap(path, opts);
}
