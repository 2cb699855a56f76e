import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';
import { captureIo } from './cli-helpers.js';

describe.runIf(hasMotionData)('jepa-motion train and eval', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-train-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('trains on one recording, fine-tunes on another and evaluates with every baseline', async () => {
    const env = { JEPA_BACKEND: 'wasm' };
    const train = captureIo(env);
    const base = join(dir, 'base');
    expect(await main(['train', motion('opensim-gait', 'subject01_walk1.trc'), '--out', base, '--epochs', '2', '--seed', '3', '--json'], train)).toBe(0);
    const summary = JSON.parse(train.stdout());
    expect(summary).toMatchObject({ backend: 'wasm', frames: 151, epochs: 2 });
    expect(summary.transitions).toBeGreaterThan(0);
    expect(Number.isFinite(summary.final_loss)).toBe(true);
    expect((await readdir(base)).sort()).toEqual(['checkpoint.json', 'probe.npz', 'weights.bin']);

    const tuned = join(dir, 'tuned');
    const fine = captureIo(env);
    expect(
      await main(['train', motion('shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d'), '--init', base, '--out', tuned, '--epochs', '1', '--json'], fine),
    ).toBe(0);

    const evaluation = captureIo(env);
    expect(await main(['eval', '--model', tuned, motion('shida-pd-gait', 'figshare_pd_SUB07_off_walk_7.c3d'), '--json'], evaluation)).toBe(0);
    const report = JSON.parse(evaluation.stdout());
    expect(Object.keys(report.horizons)).toEqual(['1', '5', '10', '30']);
    for (const h of Object.values(report.horizons) as Record<string, number>[]) {
      for (const key of ['latent_mse', 'normalized_mse', 'identity_normalized_mse', 'pose_mm', 'zero_velocity_mm', 'constant_velocity_mm']) {
        expect(Number.isFinite(h[key])).toBe(true);
      }
    }
    expect(report.collapse.effective_rank).toBeGreaterThan(1);
  });

  it('refuses a model directory without a model, naming it', async () => {
    const io = captureIo();
    expect(await main(['eval', '--model', join(dir, 'nothing'), motion('opensim-gait', 'subject01_walk1.trc')], io)).toBe(1);
    expect(io.stderr()).toMatch(/nothing.*\[MODEL_CHECKPOINT_NOT_FOUND\]/);
  });
});
