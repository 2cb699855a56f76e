/**
 * Checkpoint directory: checkpoint.json (config, loss curve, normalisation, provenance, weights
 * manifest) + weights.bin (float32 little-endian, tensors back to back at the manifest's offsets).
 * checkpoint.json is written last via rename, so its presence means the directory is complete; the
 * weights file's SHA-256 is checked on every load. Field names follow DESIGN.md.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { checkAdapter, mergeAdapter, type AdapterLayer, type AdapterWeights, type LowRankWeights } from './adapters.js';
import { ModelError, ModelErrorCode } from './errors.js';
import type { Normalization } from './types.js';
import type { TrainResult } from './train.js';
import { resolveModelConfig, type LinearWeights, type MlpWeights, type WorldModelConfig, type WorldModelWeights } from './world-model.js';

export const CHECKPOINT_FORMAT = 'jepa-motion.checkpoint';
export const CHECKPOINT_VERSION = 1;
export const CHECKPOINT_JSON = 'checkpoint.json';
export const WEIGHTS_BIN = 'weights.bin';

/** Where the model came from: every input file's SHA-256 (recordings, datasets, base checkpoints). */
export interface Provenance {
  readonly inputs: readonly { readonly file: string; readonly sha256: string }[];
}

interface CheckpointCommon {
  readonly featureNames: readonly string[];
  readonly normalization: Normalization;
  readonly modelConfig: WorldModelConfig;
  /** Resolved training settings (train.ts TrainingConfig, or anything serialisable). */
  readonly trainingConfig: unknown;
  readonly lossCurve: readonly number[];
  /** Backend the model was trained on. */
  readonly backend: string;
  readonly provenance: Provenance;
}

/** A full model: encoder, predictor, target encoder (and, for a merged patient export, the adapter it merged). */
export interface BaseCheckpoint extends CheckpointCommon {
  readonly kind: 'base';
  readonly weights: WorldModelWeights;
  readonly adapter?: AdapterWeights;
}

/** A patient model: a reference to its base (by weights SHA-256) plus adapter weights only. */
export interface PatientCheckpoint extends CheckpointCommon {
  readonly kind: 'patient';
  readonly base: { readonly weightsSha256: string; readonly ref: string };
  readonly adapter: AdapterWeights;
}

export type Checkpoint = BaseCheckpoint | PatientCheckpoint;
/** A loaded checkpoint also knows the SHA-256 of its weights.bin (what patient checkpoints reference). */
export type LoadedCheckpoint = Checkpoint & { readonly weightsSha256: string; readonly dir: string };

const Entry = z.object({ shape: z.array(z.number().int().nonnegative()), offset: z.number().int().nonnegative() });
const StateDict = z.record(z.string(), Entry);
const Finite = z.number().refine(Number.isFinite, 'must be finite');
const ManifestJson = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.literal(CHECKPOINT_VERSION),
  kind: z.enum(['base', 'patient']),
  feature_names: z.array(z.string()),
  normalization: z.object({ names: z.array(z.string()), mean: z.array(Finite), std: z.array(Finite) }),
  model_config: z.object({
    featureDim: z.number(),
    hiddenDim: z.number(),
    latentDim: z.number(),
    dropout: z.number(),
    horizonScaling: z.object({ kind: z.enum(['log1p', 'linear']), maxHorizon: z.number() }),
    residual: z.boolean().optional(),
  }),
  training_config: z.unknown(),
  loss_curve: z.array(z.number()),
  backend: z.string(),
  provenance: z.object({ inputs: z.array(z.object({ file: z.string(), sha256: z.string() })) }),
  weights: z.object({
    file: z.literal(WEIGHTS_BIN),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    bytes: z.number().int().nonnegative(),
    dtype: z.literal('float32'),
    byte_order: z.literal('little'),
  }),
  encoder_state_dict: StateDict.optional(),
  predictor_state_dict: StateDict.optional(),
  target_encoder_state_dict: StateDict.optional(),
  adapter_state_dict: StateDict.optional(),
  adapter: z.object({ rank: z.number().int().positive(), alpha: z.number() }).optional(),
  base: z.object({ weights_sha256: z.string(), ref: z.string() }).optional(),
});
type ManifestJson = z.infer<typeof ManifestJson>;

/** Collects named float32 arrays into one buffer and a manifest of shapes/offsets. */
class WeightsWriter {
  private readonly parts: Float32Array[] = [];
  private offset = 0;
  add(data: Float32Array, shape: number[]): z.infer<typeof Entry> {
    const e = { shape, offset: this.offset };
    this.parts.push(data);
    this.offset += data.byteLength;
    return e;
  }
  bytes(): Buffer {
    const out = Buffer.alloc(this.offset);
    let o = 0;
    for (const p of this.parts) {
      // Explicit little-endian writes: the file format does not depend on the host's byte order.
      for (let i = 0; i < p.length; i++, o += 4) out.writeFloatLE(p[i] ?? 0, o);
    }
    return out;
  }
}

function mlpDict(w: WeightsWriter, m: MlpWeights): Record<string, z.infer<typeof Entry>> {
  const lin = (l: LinearWeights, name: string) => ({
    [`${name}.weight`]: w.add(l.w, [l.inDim, l.outDim]),
    [`${name}.bias`]: w.add(l.b, [l.outDim]),
  });
  return { ...lin(m.fc1, 'fc1'), ...lin(m.fc2, 'fc2') };
}

function adapterDict(w: WeightsWriter, a: AdapterWeights): Record<string, z.infer<typeof Entry>> {
  const out: Record<string, z.infer<typeof Entry>> = {};
  for (const [name, l] of Object.entries(a.layers) as [AdapterLayer, LowRankWeights | undefined][]) {
    if (!l) continue;
    out[`${name}.lora_a`] = w.add(l.a, [l.inDim, a.rank]);
    out[`${name}.lora_b`] = w.add(l.b, [a.rank, l.outDim]);
  }
  return out;
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Writes the checkpoint directory (created if missing). Returns the SHA-256 of weights.bin. */
export async function saveCheckpoint(dir: string, ckpt: Checkpoint): Promise<string> {
  if (ckpt.featureNames.length !== ckpt.modelConfig.featureDim) {
    throw new ModelError(ModelErrorCode.FEATURE_MISMATCH, `${ckpt.featureNames.length} feature names for a model with ${ckpt.modelConfig.featureDim} features`);
  }
  const w = new WeightsWriter();
  const dicts: Partial<ManifestJson> = {};
  if (ckpt.kind === 'base') {
    dicts.encoder_state_dict = mlpDict(w, ckpt.weights.encoder);
    dicts.predictor_state_dict = mlpDict(w, ckpt.weights.predictor);
    dicts.target_encoder_state_dict = mlpDict(w, ckpt.weights.targetEncoder);
  }
  if (ckpt.adapter) {
    checkAdapter(ckpt.modelConfig, ckpt.adapter);
    dicts.adapter_state_dict = adapterDict(w, ckpt.adapter);
    dicts.adapter = { rank: ckpt.adapter.rank, alpha: ckpt.adapter.alpha };
  }
  const bytes = w.bytes();
  const hash = sha256(bytes);
  const manifest: ManifestJson = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    kind: ckpt.kind,
    feature_names: [...ckpt.featureNames],
    normalization: { names: [...ckpt.normalization.names], mean: Array.from(ckpt.normalization.mean), std: Array.from(ckpt.normalization.std) },
    model_config: ckpt.modelConfig,
    training_config: ckpt.trainingConfig,
    loss_curve: [...ckpt.lossCurve],
    backend: ckpt.backend,
    provenance: { inputs: ckpt.provenance.inputs.map((i) => ({ file: i.file, sha256: i.sha256 })) },
    weights: { file: WEIGHTS_BIN, sha256: hash, bytes: bytes.length, dtype: 'float32', byte_order: 'little' },
    ...dicts,
    ...(ckpt.kind === 'patient' ? { base: { weights_sha256: ckpt.base.weightsSha256, ref: ckpt.base.ref } } : {}),
  };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${WEIGHTS_BIN}.tmp`), bytes);
  await rename(join(dir, `${WEIGHTS_BIN}.tmp`), join(dir, WEIGHTS_BIN));
  await writeFile(join(dir, `${CHECKPOINT_JSON}.tmp`), JSON.stringify(manifest, null, 2));
  await rename(join(dir, `${CHECKPOINT_JSON}.tmp`), join(dir, CHECKPOINT_JSON));
  return hash;
}

async function readOrThrow(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new ModelError(ModelErrorCode.CHECKPOINT_NOT_FOUND, `cannot read ${path}`, { cause });
  }
}

export interface LoadOptions {
  /** Feature names of the data the model will be used with; a difference is FEATURE_MISMATCH. */
  readonly featureNames?: readonly string[];
}

/** Reads and verifies a checkpoint directory. */
export async function loadCheckpoint(dir: string, opts: LoadOptions = {}): Promise<LoadedCheckpoint> {
  const jsonPath = join(dir, CHECKPOINT_JSON);
  const text = (await readOrThrow(jsonPath)).toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new ModelError(ModelErrorCode.CHECKPOINT_BAD_JSON, `${jsonPath} is not valid JSON`, { cause });
  }
  const parsed = ManifestJson.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ModelError(ModelErrorCode.CHECKPOINT_BAD_JSON, `${jsonPath}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`, {
      cause: parsed.error,
    });
  }
  const m = parsed.data;
  const bytes = await readOrThrow(join(dir, WEIGHTS_BIN));
  if (bytes.length !== m.weights.bytes) {
    throw new ModelError(ModelErrorCode.CHECKPOINT_TRUNCATED, `${join(dir, WEIGHTS_BIN)} has ${bytes.length} bytes, manifest says ${m.weights.bytes}`);
  }
  const hash = sha256(bytes);
  if (hash !== m.weights.sha256) {
    throw new ModelError(
      ModelErrorCode.CHECKPOINT_HASH_MISMATCH,
      `${join(dir, WEIGHTS_BIN)} SHA-256 ${hash} does not match the manifest's ${m.weights.sha256}`,
    );
  }
  // Checkpoints from before the residual predictor carry no flag: they were trained non-residual.
  const config = badJson(jsonPath, () => resolveModelConfig({ ...m.model_config, residual: m.model_config.residual ?? legacyResidual(m.training_config) }));
  checkFeatureNames(m.feature_names, config.featureDim, opts.featureNames);
  if (m.normalization.mean.length !== config.featureDim || m.normalization.std.length !== config.featureDim) {
    throw new ModelError(
      ModelErrorCode.CHECKPOINT_BAD_JSON,
      `${jsonPath}: normalization has ${m.normalization.mean.length} columns, model has ${config.featureDim}`,
    );
  }
  const read = (dict: Record<string, z.infer<typeof Entry>> | undefined, name: string, shape: number[]): Float32Array => {
    const e = dict?.[name];
    if (!e || e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) {
      throw new ModelError(ModelErrorCode.CHECKPOINT_BAD_JSON, `${jsonPath}: tensor ${name} missing or not of shape [${shape.join(', ')}]`);
    }
    const n = shape.reduce((a, b) => a * b, 1);
    if (e.offset + 4 * n > bytes.length)
      throw new ModelError(ModelErrorCode.CHECKPOINT_TRUNCATED, `${jsonPath}: tensor ${name} runs past the end of weights.bin`);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = bytes.readFloatLE(e.offset + 4 * i);
    return out;
  };
  const mlp = (dict: Record<string, z.infer<typeof Entry>> | undefined, what: string, inDim: number, hid: number, outDim: number): MlpWeights => {
    const lin = (name: string, i: number, o: number): LinearWeights => ({
      w: read(dict, `${name}.weight`, [i, o]),
      b: read(dict, `${name}.bias`, [o]),
      inDim: i,
      outDim: o,
    });
    if (!dict) throw new ModelError(ModelErrorCode.CHECKPOINT_BAD_JSON, `${jsonPath}: ${what} missing`);
    return { fc1: lin('fc1', inDim, hid), fc2: lin('fc2', hid, outDim) };
  };
  let adapter: AdapterWeights | undefined;
  if (m.adapter_state_dict && m.adapter) {
    const { rank, alpha } = m.adapter;
    const layers: Partial<Record<AdapterLayer, LowRankWeights>> = {};
    for (const key of Object.keys(m.adapter_state_dict)) {
      if (!key.endsWith('.lora_a')) continue;
      const name = key.slice(0, -'.lora_a'.length) as AdapterLayer;
      const a = m.adapter_state_dict[key];
      const inDim = a?.shape[0] ?? 0;
      const outDim = m.adapter_state_dict[`${name}.lora_b`]?.shape[1] ?? 0;
      layers[name] = {
        a: read(m.adapter_state_dict, `${name}.lora_a`, [inDim, rank]),
        b: read(m.adapter_state_dict, `${name}.lora_b`, [rank, outDim]),
        inDim,
        outDim,
      };
    }
    adapter = { rank, alpha, layers };
    badJson(jsonPath, () => checkAdapter(config, adapter as AdapterWeights));
  }
  const common = {
    featureNames: m.feature_names,
    normalization: { names: m.normalization.names, mean: Float32Array.from(m.normalization.mean), std: Float32Array.from(m.normalization.std) },
    modelConfig: config,
    trainingConfig: m.training_config,
    lossCurve: m.loss_curve,
    backend: m.backend,
    provenance: m.provenance,
    weightsSha256: hash,
    dir,
  };
  if (m.kind === 'patient') {
    if (!m.base || !adapter) throw new ModelError(ModelErrorCode.CHECKPOINT_BAD_JSON, `${jsonPath}: a patient checkpoint needs base and adapter_state_dict`);
    return { ...common, kind: 'patient', base: { weightsSha256: m.base.weights_sha256, ref: m.base.ref }, adapter };
  }
  const { featureDim: F, hiddenDim: H, latentDim: L } = config;
  const weights: WorldModelWeights = {
    encoder: mlp(m.encoder_state_dict, 'encoder_state_dict', F, H, L),
    predictor: mlp(m.predictor_state_dict, 'predictor_state_dict', L + 1, H, L),
    targetEncoder: mlp(m.target_encoder_state_dict, 'target_encoder_state_dict', F, H, L),
  };
  return { ...common, kind: 'base', weights, ...(adapter ? { adapter } : {}) };
}

/** FEATURE_MISMATCH unless the data's feature names equal the checkpoint's, in order. */
export function checkFeatureNames(stored: readonly string[], featureDim: number, data?: readonly string[]): void {
  if (stored.length !== featureDim) {
    throw new ModelError(ModelErrorCode.CHECKPOINT_BAD_JSON, `checkpoint lists ${stored.length} feature names for ${featureDim} features`);
  }
  if (!data) return;
  if (data.length !== stored.length) {
    throw new ModelError(ModelErrorCode.FEATURE_MISMATCH, `the model was trained on ${stored.length} features, the data has ${data.length}`);
  }
  const i = data.findIndex((n, k) => n !== stored[k]);
  if (i >= 0) throw new ModelError(ModelErrorCode.FEATURE_MISMATCH, `feature ${i} is '${data[i]}' in the data but '${stored[i]}' in the model`);
}

/** Verifies a patient checkpoint belongs to this base (BASE_MISMATCH otherwise). */
export function checkPatientBase(base: LoadedCheckpoint, patient: PatientCheckpoint): void {
  if (patient.base.weightsSha256 !== base.weightsSha256) {
    throw new ModelError(
      ModelErrorCode.BASE_MISMATCH,
      `patient adapter was trained on base ${patient.base.weightsSha256.slice(0, 12)}…, given base is ${base.weightsSha256.slice(0, 12)}…`,
    );
  }
  checkFeatureNames(base.featureNames, base.modelConfig.featureDim, patient.featureNames);
}

function badJson<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    const msg = cause instanceof Error ? cause.message : String(cause);
    throw new ModelError(ModelErrorCode.CHECKPOINT_BAD_JSON, `${path}: ${msg}`, { cause });
  }
}

/** The standard checkpoint for a training run (patient kind when the run trained an adapter). */
export function checkpointFromTraining(
  result: TrainResult,
  meta: {
    readonly featureNames: readonly string[];
    readonly normalization: Normalization;
    readonly backend: string;
    readonly provenance: Provenance;
    /** For adapter runs: the loaded base checkpoint the run started from. */
    readonly base?: LoadedCheckpoint;
  },
): Checkpoint {
  const common = {
    featureNames: meta.featureNames,
    normalization: meta.normalization,
    modelConfig: result.model.config,
    trainingConfig: result.trainingConfig,
    lossCurve: result.lossCurve,
    backend: meta.backend,
    provenance: meta.provenance,
  };
  if (result.adapter) {
    if (!meta.base) throw new ModelError(ModelErrorCode.INVALID_ARGS, 'an adapter checkpoint needs the base checkpoint it refers to');
    return { ...common, kind: 'patient', base: { weightsSha256: meta.base.weightsSha256, ref: meta.base.dir }, adapter: result.adapter };
  }
  return { ...common, kind: 'base', weights: result.model.getWeights() };
}

/**
 * A patient model as a standalone base-kind checkpoint: adapter folded into the standard
 * encoder/predictor fields (target encoder = the base's), adapter kept in adapter_state_dict for audit,
 * and the base's weights hash added to provenance.
 */
export function exportMerged(base: LoadedCheckpoint, patient: PatientCheckpoint): BaseCheckpoint {
  if (base.kind !== 'base') throw new ModelError(ModelErrorCode.INVALID_ARGS, 'exportMerged needs a base-kind checkpoint as base');
  checkPatientBase(base, patient);
  return {
    kind: 'base',
    featureNames: patient.featureNames,
    normalization: patient.normalization,
    modelConfig: patient.modelConfig,
    trainingConfig: patient.trainingConfig,
    lossCurve: patient.lossCurve,
    backend: patient.backend,
    provenance: { inputs: [...patient.provenance.inputs, { file: `${base.dir}/${WEIGHTS_BIN}`, sha256: base.weightsSha256 }] },
    weights: mergeAdapter(base.weights, patient.adapter),
    adapter: patient.adapter,
  };
}

/** training_config.predictor.residual when a writer recorded it only there; otherwise false (pre-residual checkpoints). */
function legacyResidual(trainingConfig: unknown): boolean {
  const p = (trainingConfig as { predictor?: { residual?: unknown } } | null | undefined)?.predictor;
  return p?.residual === true;
}
