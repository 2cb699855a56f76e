import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processRecording } from '../../../src/pipeline/run-pipeline.js';
import { readAnyRecording } from '../../../src/pipeline/session-recording.js';
import { summarize } from '../../../streams/summary.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';
import { loadMocap, writeSessionRecording } from '../jobs/workers/session-recording.js';

describe.runIf(hasMotionData)('session recordings (.jmrl) as pipeline input', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-session-rec-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the same gait figures as the mocap file the session was streamed from', async () => {
    const walk = await loadMocap(motion('shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d'));
    const fixture = await writeSessionRecording(join(dir, 's1.jmrl'), walk, { patientId: 'p1', sessionId: 's1', assessment: 'gait' });
    const session = await readAnyRecording(fixture.path);
    expect(session.meta).toMatchObject({ assessment: 'gait', subject: 'p1', fps: 60 });
    expect(session.meta.provenance[0]).toMatchObject({ format: 'arkit', sha256: fixture.sha256 });
    expect(session.meta.planes.length).toBeGreaterThan(0);
    const fromSession = summarize(await processRecording(session, 'gait'), session.meta);
    const fromFile = summarize(await processRecording(walk, 'gait'), walk.meta);
    expect(fromSession.steps).toBe(fromFile.steps);
    expect(fromSession.overall_cadence_spm!).toBeCloseTo(fromFile.overall_cadence_spm!, 0);
  });

  it('refuses a file that is not a session recording, naming it', async () => {
    const bad = join(dir, 'garbage.jmrl');
    await writeFile(bad, 'not a recording log');
    await expect(readAnyRecording(bad)).rejects.toMatchObject({ name: 'AdapterError', message: expect.stringMatching(/^garbage\.jmrl: /) });
  });
});
