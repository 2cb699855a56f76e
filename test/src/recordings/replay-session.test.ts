// replaySession is the one reader of session recordings: it must give exactly what the live session's
// stages gave (env plane updates applied from the frame they arrived at), and the pipeline CLI and
// `train` must see the same frames as the job.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapt } from '../../../streams/adapt.js';
import type { MetricsFrame } from '../../../streams/metrics.js';
import type { PlaneAnchor, Recording } from '../../../streams/types.js';
import { loadSequences } from '../../../src/cli/model-data.js';
import { analyseRecording, processRecording } from '../../../src/pipeline/session-recording.js';
import { decodeClientMessage } from '../../../src/protocol/index.js';
import { RecordingError, RecordingErrorCode } from '../../../src/recordings/errors.js';
import { replaySession } from '../../../src/recordings/replay-session.js';
import { sessionFeatures } from '../../../src/recordings/session-features.js';
import { liveStages } from '../../../src/sessions/live-pipeline.js';
import type { FrameMsg } from '../../../src/sessions/types.js';
import { RecordingLog } from '../../../src/storage/recording-log.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';
import { loadMocap } from '../jobs/workers/session-recording.js';
import { sessionMessages } from './session-messages.js';

/** What a live session computes: the same messages pushed, in order, into the session's subjects. */
function live(messages: readonly Uint8Array[]): MetricsFrame[] {
  const out: MetricsFrame[] = [];
  const frames$ = new Subject<FrameMsg>();
  const planes$ = new Subject<readonly PlaneAnchor[]>();
  frames$.pipe(liveStages(() => adapt(), { assessment: 'gait', fps: 60, env: planes$ })).subscribe((f) => out.push(f));
  for (const bytes of messages) {
    const d = decodeClientMessage(bytes, 'ingest');
    if (!d.ok) throw new Error('fixture message does not decode');
    if (d.message.type === 'env') planes$.next(d.message.planes as readonly PlaneAnchor[]);
    else if (d.message.type === 'frame') frames$.next(d.message);
  }
  frames$.complete();
  return out;
}

describe.runIf(hasMotionData)('replaySession', () => {
  let dir: string;
  let walk: Recording;
  let messages: Uint8Array[];
  let path: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-replay-'));
    walk = await loadMocap(motion('opensim-gait', 'subject01_walk1.trc'));
    ({ messages } = sessionMessages(walk, { patientId: 'p1', assessment: 'gait', planeChangeAt: 60 }));
    path = join(dir, 's1.jmrl');
    const log = await RecordingLog.create(path, { fsync: { mode: 'never' } });
    await log.append({
      type: 'session',
      sessionId: 's1',
      clinic: 'c1',
      patientId: 'p1',
      assessment: 'gait',
      fps: 60,
      startedAt: 0,
      model: { id: 'pretrained', kind: 'pretrained', version: '0' },
    });
    for (const m of messages) await log.appendEncoded(m);
    await log.finalize();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives frame for frame what the live stages gave, the floor changing at the frame its env arrived', async () => {
    const replayed: MetricsFrame[] = [];
    const r = await replaySession(path, { onState: (f) => replayed.push(f) });
    expect(r).toMatchObject({ envUpdates: 2, droppedFrames: 0, rejectedRecords: 0, session: { clinic: 'c1', sessionId: 's1' } });
    const expected = live(messages);
    expect(replayed.length).toBe(expected.length);
    expect(replayed.map((f) => Array.from(f.features))).toEqual(expected.map((f) => Array.from(f.features)));
    // The update mid-session moved the floor: frames before it were aligned to the first plane.
    const floorY = (f: MetricsFrame) => JSON.stringify(f.floor);
    expect(floorY(replayed[10]!)).not.toBe(floorY(replayed[replayed.length - 1]!));
  });

  it('is what the pipeline CLI, train and the job see', async () => {
    const job = await sessionFeatures(path, { subject: 'p1' });
    const [trained] = await loadSequences([path]);
    expect(trained!.names).toEqual(job.sequence.names);
    expect(trained!.x).toEqual(job.sequence.x);
    expect(trained!.t).toEqual(job.sequence.t);
    expect(trained!.poses).toEqual(job.sequence.poses);
    const { recording, states } = await analyseRecording(path);
    const liveFeatures = live(messages).map((f) => Array.from(f.features));
    expect(states.map((f) => Array.from(f.features))).toEqual(liveFeatures);
    // The old reading (the last planes applied to every frame) is not what the live session computed.
    const staticPlanes = await processRecording(recording, 'gait');
    expect(staticPlanes.slice(0, 60).map((f) => Array.from(f.features))).not.toEqual(liveFeatures.slice(0, 60));
  });

  it('refuses a missing file and a mismatching one with their codes', async () => {
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (e: unknown) => (e instanceof RecordingError ? e.code : String(e)),
      );
    expect(await code(replaySession(join(dir, 'absent.jmrl'), { onState: () => undefined }))).toBe(RecordingErrorCode.NOT_FOUND);
    expect(await code(replaySession(path, { onState: () => undefined, expectedSha256: '0'.repeat(64) }))).toBe(RecordingErrorCode.MISMATCH);
  });
});
