// The task-pack builder keeps one background process across builds (a fork per pack stalled the
// serving event loop), fetches the recording and stores the files there, rebuilds errors across the
// boundary, replaces the process after an abort, and lets an idle process go.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIPPED_MODEL_DIR } from '../../../../src/config.js';
import { JobError } from '../../../../src/jobs/errors.js';
import { startTaskPackBuilder, type TaskPackBuilder } from '../../../../src/jobs/workers/taskpack-builder.js';
import type { PackBuild } from '../../../../src/jobs/workers/taskpack-protocol.js';
import { sha256 } from '../../../../src/pipeline/manifest.js';
import { DiskArtifactStore } from '../../../../src/storage/disk-artifact-store.js';
import { hasMotionData, motion } from '../../../helpers/motion-data.js';
import { alive } from '../../../helpers/processes.js';

// Self-contained (an OpenSim TRC needs its static trial beside it).
const WALK = motion('shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d');
const IDLE_MS = 1_500;

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.runIf(hasMotionData)('task pack builder process', () => {
  let dir: string;
  let store: DiskArtifactStore;
  let builder: TaskPackBuilder;
  let walkSha: string;
  let n = 0;
  const build = (over: Partial<PackBuild> = {}): PackBuild => ({
    recordingKey: 'recordings/c1/walk.c3d',
    recordingSha256: walkSha,
    scratch: join(dir, `scratch-${++n}`),
    filesPrefix: `taskpack-files/c1/p1.${n}/`,
    model: { dir: SHIPPED_MODEL_DIR, version: 'base' },
    patient: 'p1',
    session: `s-${n}`,
    clinic: 'c1',
    ...over,
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-tp-builder-'));
    store = await DiskArtifactStore.open(join(dir, 'artifacts'));
    const bytes = await readFile(WALK);
    walkSha = sha256(bytes);
    await store.put('recordings/c1/walk.c3d', bytes);
    builder = startTaskPackBuilder({ artifacts: { kind: 'disk', dir: join(dir, 'artifacts') }, idleMs: IDLE_MS });
  });
  afterAll(async () => {
    await builder?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('builds in a process that stores the files itself, and keeps it for the next build', async () => {
    const stages: string[] = [];
    let beats = 0;
    const b = build();
    const stored = await builder.build(b, new AbortController().signal, { onProgress: (s) => stages.push(s), onWorking: () => beats++ });
    const first = builder.pid;
    expect(first).toBeGreaterThan(0);
    expect(first).not.toBe(process.pid);
    expect(stored.assessment).toBe('gait');
    expect(stages.length).toBeGreaterThanOrEqual(5);
    expect(beats).toBeGreaterThan(stages.length); // stored files beat too
    expect(Object.keys(stored.files)).toContain('9-task-pack/report.html');
    for (const key of Object.values(stored.files)) {
      expect(key.startsWith(b.filesPrefix)).toBe(true);
      expect(await store.has(key)).toBe(true);
    }
    expect(stored.metrics).toBeTruthy();
    expect(Array.isArray(stored.counterfactuals)).toBe(true);
    expect(stored.sleptMs).toBe(0); // unpaced

    // Paced (as while live sessions run): the same process sleeps between stages and stored files.
    builder.setDuty(0.5);
    const paced = await builder.build(build(), new AbortController().signal);
    expect(builder.pid).toBe(first);
    expect(paced.sleptMs).toBeGreaterThan(0);
    builder.setDuty(1);

    // A recording that does not match its hash fails for good, as a JobError, in the same process.
    const bad = builder.build(build({ recordingSha256: '0'.repeat(64) }), new AbortController().signal);
    await expect(bad).rejects.toBeInstanceOf(JobError);
    await expect(bad).rejects.toMatchObject({ permanent: true, message: expect.stringContaining('does not match its SHA-256') });
    expect(builder.pid).toBe(first);
  }, 120_000);

  it('ends the process on abort and starts a new one for the next build; an idle process exits', async () => {
    const ctl = new AbortController();
    const running = builder.build(build(), ctl.signal, { onProgress: () => ctl.abort(new Error('deadline')) });
    const pid = builder.pid!;
    await expect(running).rejects.toThrow('deadline');
    await until(() => !alive(pid), 10_000);

    // A second build while one runs is refused, not queued.
    const next = builder.build(build({ recordingSha256: '1'.repeat(64) }), new AbortController().signal);
    await expect(builder.build(build(), new AbortController().signal)).rejects.toThrow('one at a time');
    await expect(next).rejects.toMatchObject({ permanent: true });
    const replacement = builder.pid!;
    expect(replacement).not.toBe(pid);
    expect(alive(replacement)).toBe(true);
    await until(() => builder.pid === undefined && !alive(replacement), IDLE_MS + 10_000);
  }, 120_000);
});
