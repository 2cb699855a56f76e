/**
 * One leave-subject-out training run, shared by lso-quick.ts (choosing settings) and build-pretrained.ts
 * (the shipped model), so the number that chose a setting and the number reported for it come from the
 * same code. With `calibrate`, a VALIDATION subject (never the held-out one) is also left out of training
 * and the residual scale α is fitted on it (train.ts fitResidualScale); the returned model is scaled.
 */
import { computeNormalization, createTransitionSampler } from '../dataset.js';
import { fitResidualScale, trainWorldModel, type ResidualScaleFit, type TrainArgs, type TrainResult } from '../train.js';
import type { FeatureSequence, Normalization } from '../types.js';
import { withResidualScale, type WorldModel } from '../world-model.js';

/** Validation subject for the residual scale: the first of these that is not the held-out subject. */
export const VALIDATION_PREFERENCE = ['shida-SUB07', 'cmu-131'];

/** Settings a leave-subject-out experiment varies; absent keys take the library defaults. */
export interface LsoConfig {
  epochs?: number;
  weightDecay?: number;
  lr?: number;
  emaTau?: number;
  hiddenDim?: number;
  dropout?: number;
  samplesPerFrame?: number;
  maxHorizon?: number;
  headingAugment?: boolean;
  stdFloor?: number;
  binaryStdFloor?: number;
  /** false = heading normalised by its training statistics (the old way). */
  circular?: boolean;
  residualBase?: 'online' | 'target';
  /** Fit the residual scale on a validation subject (see file comment). */
  calibrate?: boolean;
}

export const subjectOf = (s: FeatureSequence): string => s.source.subject ?? s.source.file;

export interface LsoRun {
  readonly train: FeatureSequence[];
  readonly norm: Normalization;
  readonly result: TrainResult;
  /** The model to evaluate/ship: result.model, or its residual-scaled copy when calibrated. Caller disposes both. */
  readonly model: WorldModel;
  readonly validation?: { readonly subject: string; readonly fit: ResidualScaleFit };
  readonly trainArgs: TrainArgs;
}

/** Trains on `seqs` minus `heldOut` (null = ship: nothing held out) and minus the validation subject. */
export async function trainLso(seqs: readonly FeatureSequence[], heldOut: string | null, cfg: LsoConfig, seed = 0): Promise<LsoRun> {
  const present = new Set(seqs.map(subjectOf));
  const val = cfg.calibrate ? VALIDATION_PREFERENCE.find((v) => v !== heldOut && present.has(v)) : undefined;
  const train = seqs.filter((s) => subjectOf(s) !== heldOut && subjectOf(s) !== val);
  const norm = computeNormalization(train, {
    ...(cfg.stdFloor !== undefined ? { stdFloor: cfg.stdFloor } : {}),
    ...(cfg.binaryStdFloor !== undefined ? { binaryStdFloor: cfg.binaryStdFloor } : {}),
    ...(cfg.circular === false ? { circular: [] } : {}),
  });
  const sampler = createTransitionSampler(train, norm, {
    seed,
    ...(cfg.samplesPerFrame !== undefined ? { samplesPerFrame: cfg.samplesPerFrame } : {}),
    ...(cfg.maxHorizon !== undefined ? { maxHorizon: cfg.maxHorizon } : {}),
    ...(cfg.headingAugment !== undefined ? { headingAugment: cfg.headingAugment } : {}),
  });
  const trainArgs: TrainArgs = {
    seed,
    ...(cfg.epochs !== undefined ? { epochs: cfg.epochs } : {}),
    ...(cfg.weightDecay !== undefined ? { weightDecay: cfg.weightDecay } : {}),
    ...(cfg.lr !== undefined ? { lr: cfg.lr } : {}),
    ...(cfg.emaTau !== undefined ? { emaTau: cfg.emaTau } : {}),
    ...(cfg.residualBase !== undefined ? { residualBase: cfg.residualBase } : {}),
  };
  const model = {
    ...(cfg.hiddenDim !== undefined ? { hiddenDim: cfg.hiddenDim } : {}),
    ...(cfg.dropout !== undefined ? { dropout: cfg.dropout } : {}),
  };
  const result = await trainWorldModel({ sampler, model }, trainArgs);
  if (!val) return { train, norm, result, model: result.model, trainArgs };
  const fit = fitResidualScale(
    result.model,
    seqs.filter((s) => subjectOf(s) === val),
    norm,
  );
  return { train, norm, result, model: withResidualScale(result.model, fit.alpha), validation: { subject: val, fit }, trainArgs };
}
