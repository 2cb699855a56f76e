// `serve` paces its background jobs while it has live sessions (src/jobs/pacer.ts): the job consumers
// poll the live-session count and tell the retrain process and the task-pack builder the duty —
// JEPA_BACKGROUND_DUTY percent while any session is live, unpaced when none is.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobConsumers, type JobConsumers } from '../../src/cli/job-consumers.js';
import { loadConfig } from '../../src/config.js';
import { createInProcessBus } from '../../src/jobs/in-process-bus.js';
import { createLocalNoticeBus } from '../../src/jobs/notices.js';
import { DiskArtifactStore } from '../../src/storage/disk-artifact-store.js';
import { LocalModelRegistry } from '../../src/storage/model-registry.js';
import { captureLogger } from '../src/jobs/log-capture.js';

describe('job consumers pace their background processes while sessions are live', () => {
  let dir: string;
  let jobs: JobConsumers | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-pacing-'));
  });
  afterAll(async () => {
    await jobs?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends the configured duty while any session is live, and 1 once none is', async () => {
    const config = loadConfig(['--data', dir, '--background-duty', '40', '--backend', 'wasm'], {});
    const logger = captureLogger();
    let live = 2;
    jobs = await startJobConsumers(
      config,
      {
        bus: createInProcessBus(),
        registry: await LocalModelRegistry.open({ file: join(dir, 'registry.json') }),
        artifacts: await DiskArtifactStore.open(join(dir, 'artifacts')),
        notices: createLocalNoticeBus(),
        logger,
        liveSessions: () => live,
      },
      { kinds: ['retrain', 'taskpack'], threads: 1 },
    );
    // The retrain process confirms each duty it is told (its log lines come tagged with it).
    const paced = await logger.waitFor((l) => l.msg === 'retrain pacing', 10_000, 'the duty while sessions are live');
    expect(paced.fields).toMatchObject({ duty: 0.4, retrainThread: 0 });
    live = 0;
    const unpaced = await logger.waitFor((l) => l.msg === 'retrain pacing' && l.fields['duty'] === 1, 5_000, 'unpaced once no session is live');
    expect(unpaced.fields).toMatchObject({ retrainThread: 0 });
  }, 60_000);
});
