import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initAdapter } from '../../models/adapters.js';
import { selectBackend } from '../../models/backend.js';
import {
  checkpointFromTraining,
  exportMerged,
  loadCheckpoint,
  saveCheckpoint,
  type BaseCheckpoint,
  type LoadedCheckpoint,
  type PatientCheckpoint,
} from '../../models/checkpoint.js';
import { ModelError, ModelErrorCode } from '../../models/errors.js';
import { trainWorldModel } from '../../models/train.js';
import { WorldModel, encode } from '../../models/world-model.js';
import { sequenceSampler, sinusoidSequence } from './synthetic.js';

const F = 5;
const names = ['a', 'b', 'c', 'd', 'e'];
const norm = { names, mean: Float32Array.of(0.1, 0.2, 0.3, 1e-7, -2.5), std: Float32Array.of(1, 2, 0.3333333, 4, 5) };
const provenance = { inputs: [{ file: 'rec.trc', sha256: 'ab'.repeat(32) }] };
let root = '';
let base: BaseCheckpoint;
let baseDir = '';

beforeAll(async () => {
  await selectBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'ckpt-'));
  const seq = sinusoidSequence(200, F);
  const r = await trainWorldModel({ sampler: sequenceSampler(seq, F, { samplesPerEpoch: 128, maxDh: 10, seed: 1 }) }, { epochs: 2 });
  base = checkpointFromTraining(r, { featureNames: names, normalization: norm, backend: 'wasm', provenance }) as BaseCheckpoint;
  r.model.dispose();
  baseDir = join(root, 'base');
  await saveCheckpoint(baseDir, base);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function copyDir(name: string): Promise<string> {
  const dir = join(root, name);
  await saveCheckpoint(dir, base);
  return dir;
}

describe('checkpoint', () => {
  it('round-trips bit-exactly (weights, normalisation, loss curve, config)', async () => {
    const loaded = await loadCheckpoint(baseDir, { featureNames: names });
    expect(loaded.kind).toBe('base');
    if (loaded.kind !== 'base') return;
    expect(loaded.weights).toEqual(base.weights);
    expect(loaded.normalization.mean).toEqual(norm.mean);
    expect(loaded.normalization.std).toEqual(norm.std);
    expect(loaded.lossCurve).toEqual(base.lossCurve);
    expect(loaded.modelConfig).toEqual(base.modelConfig);
    expect(loaded.trainingConfig).toEqual(JSON.parse(JSON.stringify(base.trainingConfig)));
    expect(loaded.provenance).toEqual(provenance);
    // The same model computes the same latents after the round trip.
    const a = new WorldModel(base.modelConfig, base.weights);
    const b = new WorldModel(loaded.modelConfig, loaded.weights);
    const x = Float32Array.from({ length: 3 * F }, (_, i) => i / 7);
    expect(encode(b, x)).toEqual(encode(a, x));
    a.dispose();
    b.dispose();
  });

  it('writes the DESIGN.md field names and a weights manifest with shapes and SHA-256', async () => {
    const json = JSON.parse(await readFile(join(baseDir, 'checkpoint.json'), 'utf8'));
    for (const k of [
      'encoder_state_dict',
      'predictor_state_dict',
      'target_encoder_state_dict',
      'training_config',
      'loss_curve',
      'normalization',
      'feature_names',
      'backend',
      'provenance',
    ]) {
      expect(json).toHaveProperty(k);
    }
    expect(json.encoder_state_dict['fc1.weight'].shape).toEqual([F, 128]);
    expect(json.predictor_state_dict['fc1.weight'].shape).toEqual([65, 128]);
    const bin = await readFile(join(baseDir, 'weights.bin'));
    expect(json.weights.bytes).toBe(bin.length);
    // float32 LE at the manifest offset
    const off = json.encoder_state_dict['fc2.bias'].offset;
    expect(bin.readFloatLE(off)).toBe(base.weights.encoder.fc2.b[0]);
  });

  it('records the residual predictor; a checkpoint without the flag (written before it existed) loads as non-residual', async () => {
    const json = JSON.parse(await readFile(join(baseDir, 'checkpoint.json'), 'utf8'));
    expect(json.model_config.residual).toBe(true);
    expect(json.training_config.predictor).toEqual({ residual: true });
    const legacy = await copyDir('legacy');
    delete json.model_config.residual;
    delete json.training_config.predictor;
    await writeFile(join(legacy, 'checkpoint.json'), JSON.stringify(json));
    const old = await loadCheckpoint(legacy);
    expect(old.modelConfig.residual).toBe(false);
    const now = await loadCheckpoint(baseDir);
    expect(now.modelConfig.residual).toBe(true);
  });

  it('hash mismatch, truncation, bad JSON, missing files → coded ModelError', async () => {
    const flipped = await copyDir('flipped');
    const bin = await readFile(join(flipped, 'weights.bin'));
    bin[10] = (bin[10] ?? 0) ^ 0x01;
    await writeFile(join(flipped, 'weights.bin'), bin);
    await expect(loadCheckpoint(flipped)).rejects.toMatchObject({ name: 'ModelError', code: ModelErrorCode.CHECKPOINT_HASH_MISMATCH });

    const short = await copyDir('short');
    await truncate(join(short, 'weights.bin'), 100);
    await expect(loadCheckpoint(short)).rejects.toMatchObject({ code: ModelErrorCode.CHECKPOINT_TRUNCATED });

    const badJson = await copyDir('badjson');
    const text = await readFile(join(badJson, 'checkpoint.json'), 'utf8');
    await writeFile(join(badJson, 'checkpoint.json'), text.slice(0, text.length / 2));
    await expect(loadCheckpoint(badJson)).rejects.toMatchObject({ code: ModelErrorCode.CHECKPOINT_BAD_JSON });

    const noField = await copyDir('nofield');
    const j = JSON.parse(text);
    delete j.encoder_state_dict['fc1.bias'];
    await writeFile(join(noField, 'checkpoint.json'), JSON.stringify(j));
    await expect(loadCheckpoint(noField)).rejects.toMatchObject({ code: ModelErrorCode.CHECKPOINT_BAD_JSON });

    await expect(loadCheckpoint(join(root, 'nope'))).rejects.toMatchObject({ code: ModelErrorCode.CHECKPOINT_NOT_FOUND });
  });

  it('feature mismatch with the data → FEATURE_MISMATCH naming the feature', async () => {
    await expect(loadCheckpoint(baseDir, { featureNames: ['a', 'b', 'c', 'd'] })).rejects.toMatchObject({ code: ModelErrorCode.FEATURE_MISMATCH });
    const err = await loadCheckpoint(baseDir, { featureNames: ['a', 'b', 'X', 'd', 'e'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).message).toContain("'X'");
  });

  it('patient checkpoint: base ref + adapter; merged export equals base + A·B; wrong base → BASE_MISMATCH', async () => {
    const loadedBase = (await loadCheckpoint(baseDir)) as LoadedCheckpoint;
    const adapter = initAdapter(base.modelConfig, { rank: 3, layers: ['encoder.fc1'] }, 4);
    const l = adapter.layers['encoder.fc1'];
    if (l) for (let i = 0; i < l.b.length; i++) l.b[i] = Math.sin(i) * 0.1;
    const patient: PatientCheckpoint = { ...base, kind: 'patient', base: { weightsSha256: loadedBase.weightsSha256, ref: baseDir }, adapter };
    const pDir = join(root, 'patient');
    await saveCheckpoint(pDir, patient);
    const lp = await loadCheckpoint(pDir);
    expect(lp.kind).toBe('patient');
    if (lp.kind !== 'patient') return;
    expect(lp.adapter).toEqual(adapter);
    const json = JSON.parse(await readFile(join(pDir, 'checkpoint.json'), 'utf8'));
    expect(json.encoder_state_dict).toBeUndefined();
    expect(Object.keys(json.adapter_state_dict)).toEqual(['encoder.fc1.lora_a', 'encoder.fc1.lora_b']);

    const merged = exportMerged(loadedBase, lp);
    const w0 = base.weights.encoder.fc1.w[7] ?? 0;
    let ab = 0;
    for (let k = 0; k < 3; k++) ab += (l?.a[0 * 3 + k] ?? 0) * (l?.b[k * 128 + 7] ?? 0);
    expect(merged.weights.encoder.fc1.w[7]).toBeCloseTo(w0 + ab, 6);
    expect(merged.weights.predictor).toEqual(base.weights.predictor);
    const mDir = join(root, 'merged');
    await saveCheckpoint(mDir, merged);
    const lm = await loadCheckpoint(mDir);
    expect(lm.kind === 'base' && lm.adapter).toEqual(adapter);

    const other = await copyDir('other');
    const otherJson = JSON.parse(await readFile(join(other, 'checkpoint.json'), 'utf8'));
    otherJson.loss_curve = [1];
    await writeFile(join(other, 'checkpoint.json'), JSON.stringify(otherJson));
    const otherBase = { ...(await loadCheckpoint(other)), weightsSha256: 'cd'.repeat(32) } as LoadedCheckpoint;
    expect(() => exportMerged(otherBase, lp)).toThrow(expect.objectContaining({ code: ModelErrorCode.BASE_MISMATCH }));
  });

  it('round-trips a default (all-layer) patient adapter exactly', async () => {
    const loadedBase = await loadCheckpoint(baseDir);
    const adapter = initAdapter(base.modelConfig, {}, 9);
    for (const l of Object.values(adapter.layers)) if (l) l.b.fill(0.25);
    const dir = join(root, 'patient-all');
    await saveCheckpoint(dir, { ...base, kind: 'patient', base: { weightsSha256: loadedBase.weightsSha256, ref: baseDir }, adapter });
    const back = await loadCheckpoint(dir);
    expect(back.kind === 'patient' && back.adapter).toEqual(adapter);
    expect(Object.keys(adapter.layers)).toHaveLength(4);
  });

  it('leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    await loadCheckpoint(baseDir);
    expect(tf.memory().numTensors).toBe(before);
  });
});
