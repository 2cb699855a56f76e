import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { selectBackend } from '../../models/backend.js';
import { checkpointFromTraining, exportMerged, loadCheckpoint, saveCheckpoint, type PatientCheckpoint } from '../../models/checkpoint.js';
import { computeNormalization, createTransitionSampler } from '../../models/dataset.js';
import { fitProbeForModel } from '../../models/evaluate.js';
import { evaluableWorldModel } from '../../models/evaluate-world-model.js';
import { probeToNpz } from '../../models/probe-decoder.js';
import { trainWorldModel, type TrainArgs } from '../../models/train.js';
import { WorldModel } from '../../models/world-model.js';
import type { Assessment } from '../../streams/types.js';
import { loadConfig } from '../config.js';
import { intFlag, parseFlags, UsageError, type CliIo } from './io.js';
import { loadSequences, progressBar } from './model-data.js';

export const trainUsage = 'jepa-motion train <recording…> --out <modelDir> [--epochs N] [--seed S] [--init <modelDir> [--full]] [--assessment A] [--json]';

/**
 * Trains the world model on recordings (cross-subject pretraining), or with --init fine-tunes a
 * model for one patient: low-rank adapters on the frozen base by default, --full for every weight.
 * The output is always a standalone checkpoint (adapters merged into the standard fields) plus the
 * probe decoder `eval` uses to measure poses in millimetres.
 */
export async function trainCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    out: { type: 'string' },
    epochs: { type: 'string' },
    seed: { type: 'string' },
    init: { type: 'string' },
    full: { type: 'boolean' },
    assessment: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (!positionals.length) throw new UsageError('no recording given');
  if (!values.out) throw new UsageError('--out <modelDir> is required');
  if (values.full && !values.init) throw new UsageError('--full fine-tunes every weight of --init; it needs --init <modelDir>');
  const epochs = intFlag('epochs', values.epochs, 1, 10_000);
  const seed = intFlag('seed', values.seed, 0, 2 ** 31 - 1) ?? 0;
  const config = loadConfig([], io.env);
  const backend = await selectBackend(config.backend === 'auto' ? undefined : config.backend);

  const seqs = await loadSequences(positionals, values.assessment as Assessment | undefined);
  const init = values.init ? await loadCheckpoint(values.init, { featureNames: seqs[0]!.names }) : undefined;
  if (init && init.kind !== 'base') throw new UsageError(`--init ${values.init}: is a patient adapter checkpoint; give a standalone model directory`);
  const normalization = init?.normalization ?? computeNormalization(seqs);
  const sampler = createTransitionSampler(seqs, normalization, { seed });
  const initModel = init?.kind === 'base' ? new WorldModel(init.modelConfig, init.weights) : undefined;
  const trainArgs: TrainArgs = { seed, ...(epochs ? { epochs } : {}), ...(initModel ? { mode: values.full ? 'full' : 'adapter' } : {}) };
  const bar = progressBar(io.isTty, io.err, epochs ?? 50);
  const result = await trainWorldModel(
    { sampler, ...(initModel ? { init: initModel } : {}), onEpoch: (epoch, loss) => bar.update(epoch + 1, `loss ${loss.toFixed(4)}`) },
    trainArgs,
  ).finally(() => {
    bar.end();
    initModel?.dispose();
  });
  try {
    const provenance = { inputs: seqs.map((s) => ({ file: s.source.file, sha256: s.source.sha256 })) };
    let ckpt = checkpointFromTraining(result, { featureNames: seqs[0]!.names, normalization, backend, provenance, ...(init ? { base: init } : {}) });
    if (ckpt.kind === 'patient' && init) ckpt = exportMerged(init, ckpt as PatientCheckpoint);
    await mkdir(values.out, { recursive: true });
    await saveCheckpoint(values.out, ckpt);
    // The probe is fitted on the training recordings with the trained encoder, never on evaluation data.
    const trained = ckpt.kind === 'base' ? new WorldModel(ckpt.modelConfig, ckpt.weights) : result.model;
    try {
      await writeFile(join(values.out, 'probe.npz'), probeToNpz(fitProbeForModel(evaluableWorldModel(trained, { backend }), seqs, normalization)));
    } finally {
      if (trained !== result.model) trained.dispose();
    }
    const summary = {
      backend,
      frames: seqs.reduce((n, s) => n + s.t.length, 0),
      transitions: sampler.samplesPerEpoch * result.lossCurve.length,
      epochs: result.lossCurve.length,
      seconds: Math.round(result.seconds * 1000) / 1000,
      final_loss: result.lossCurve[result.lossCurve.length - 1] ?? null,
    };
    io.out(
      values.json
        ? `${JSON.stringify(summary)}\n`
        : `trained on ${summary.frames} frames (${summary.transitions} transitions, ${summary.epochs} epochs) in ${summary.seconds} s on ${backend}; final loss ${summary.final_loss}; model in ${values.out}\n`,
    );
    return 0;
  } finally {
    result.model.dispose();
  }
}
