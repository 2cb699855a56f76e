// Stages 0–3 of one recording for `pipeline` (and `scripts/pipeline-report`): a motion-capture file
// through its stage-0 adapter and the session pipeline, or a session the server recorded
// (`.jmrl`) through src/recordings' replaySession — the live stages with `env` planes replayed as
// they arrived, exactly as the live session and the retrain job see it.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { AdapterError, AdapterErrorCode } from '../../streams/errors.js';
import { readRecording as readMocap, type ReadRecordingOptions } from '../../streams/adapters/read-recording.js';
import type { MetricsFrame } from '../../streams/metrics.js';
import { sessionPipeline } from '../../streams/session-pipeline.js';
import { JOINTS } from '../../streams/skeleton.js';
import type { Assessment, PoseFrame, Recording } from '../../streams/types.js';
import { RecordingError, RecordingErrorCode } from '../recordings/errors.js';
import { replaySession } from '../recordings/replay-session.js';
import { RECORDING_KEY_EXT } from '../storage/keys.js';

export const SESSION_RECORDING_EXT = RECORDING_KEY_EXT;

export interface AnalysedRecording {
  /** Stage 0: the adapted poses and what the source says about itself. */
  readonly recording: Recording;
  readonly assessment: Assessment;
  /** Stages 1–3, one per frame the pipeline produced. */
  readonly states: MetricsFrame[];
}

/** The assessment to analyse a recording as: what the user said, else what the source says, else gait. */
export const assessmentFor = (recording: Recording, asked?: Assessment): Assessment => asked ?? recording.meta.assessment ?? 'gait';

/** Stages 1–3 of a motion-capture Recording (static planes: a mocap file has no `env` stream). */
export async function processRecording(recording: Recording, assessment: Assessment): Promise<MetricsFrame[]> {
  return lastValueFrom(from(recording.frames).pipe(sessionPipeline({ assessment, fps: recording.meta.fps, planes: recording.meta.planes }), toArray()));
}

/** Stages 0–3 of any recording: a server session (`.jmrl`) or a file the stage-0 adapters read. */
export async function analyseRecording(path: string, opts: ReadRecordingOptions & { readonly assessment?: Assessment } = {}): Promise<AnalysedRecording> {
  if (path.endsWith(SESSION_RECORDING_EXT)) return analyseSession(path, opts.assessment);
  const recording = await readMocap(path, opts);
  const assessment = assessmentFor(recording, opts.assessment);
  return { recording, assessment, states: await processRecording(recording, assessment) };
}

/** Stage 0 of any recording (its adapted poses and metadata). */
export async function readAnyRecording(path: string, opts: ReadRecordingOptions = {}): Promise<Recording> {
  return (await analyseRecording(path, opts)).recording;
}

/** A recording failure as the CLI's input error. */
export const ADAPTER_CODE: Readonly<Record<RecordingErrorCode, AdapterErrorCode>> = {
  [RecordingErrorCode.NOT_FOUND]: AdapterErrorCode.NOT_FOUND,
  [RecordingErrorCode.UNREADABLE]: AdapterErrorCode.MALFORMED,
  [RecordingErrorCode.DAMAGED]: AdapterErrorCode.TRUNCATED,
  [RecordingErrorCode.MISMATCH]: AdapterErrorCode.MALFORMED,
  [RecordingErrorCode.IO]: AdapterErrorCode.MALFORMED,
  [RecordingErrorCode.PUBLISH_FAILED]: AdapterErrorCode.MALFORMED,
};

async function analyseSession(path: string, asked: Assessment | undefined): Promise<AnalysedRecording> {
  const name = basename(path);
  if ((await stat(path).catch(() => undefined))?.isDirectory()) throw new AdapterError(AdapterErrorCode.IS_DIRECTORY, name, 'is a directory, not a recording');
  const poses: PoseFrame[] = [];
  const states: MetricsFrame[] = [];
  let replay;
  try {
    // A recording without its trailer is a session still being written (or one the server repairs at
    // start): readable up to its last intact record, which is what a user inspecting it wants.
    replay = await replaySession(path, {
      onState: (s) => states.push(s),
      onPose: (p) => poses.push(p),
      allowUnfinished: true,
      ...(asked ? { assessment: asked } : {}),
    });
  } catch (cause) {
    if (!(cause instanceof RecordingError)) throw cause;
    throw new AdapterError(ADAPTER_CODE[cause.code], name, `is not a readable session recording: ${cause.message}`, { cause });
  }
  const { hello } = replay;
  if (poses.length === 0) throw new AdapterError(AdapterErrorCode.EMPTY, name, 'has no frame the ARKit adapter accepts');
  const available = JOINTS.filter((_, j) => poses.some((p) => Number.isFinite(p.joints[3 * j]!)));
  const duration = poses[poses.length - 1]!.t - poses[0]!.t;
  const recording: Recording = {
    meta: {
      provenance: [
        {
          file: path,
          sha256: replay.sha256,
          format: 'arkit',
          originalFps: hello.fps,
          units: 'm',
          axes: 'ARKit world: y up, right-handed (anchor × model-space joints)',
          jointMap: {},
          notes: [
            `session recording of patient ${hello.patientId}, ${replay.wireFrames} frames, ${replay.envUpdates} env updates replayed as they arrived`,
            `device ${hello.device.model} ${hello.device.os}`,
          ],
        },
      ],
      fps: poses.length > 1 && duration > 0 ? Math.round((poses.length - 1) / duration) : hello.fps,
      available,
      gaps: [],
      annotations: [],
      phaseLabels: [],
      planes: replay.lastPlanes,
      assessment: hello.assessment,
      subject: hello.patientId,
    },
    frames: poses,
  };
  return { recording, assessment: asked ?? hello.assessment, states };
}
