import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { selectBackend } from '../../models/backend.js';
import { loadCheckpoint } from '../../models/checkpoint.js';
import { evaluateWorldModel, EVAL_HORIZONS } from '../../models/evaluate.js';
import { evaluableWorldModel } from '../../models/evaluate-world-model.js';
import { probeFromNpz } from '../../models/probe-decoder.js';
import { WorldModel } from '../../models/world-model.js';
import type { Assessment } from '../../streams/types.js';
import { loadConfig } from '../config.js';
import { parseFlags, UsageError, type CliIo } from './io.js';
import { loadSequences } from './model-data.js';

export const evalUsage = 'jepa-motion eval --model <modelDir> <recording…> [--assessment A] [--json]';

/** Evaluates a model on recordings it should not have seen; every figure beside its baseline. */
export async function evalCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(args, { model: { type: 'string' }, assessment: { type: 'string' }, json: { type: 'boolean' } });
  if (!values.model) throw new UsageError('--model <modelDir> is required');
  if (!positionals.length) throw new UsageError('no recording given');
  const config = loadConfig([], io.env);
  const backend = await selectBackend(config.backend === 'auto' ? undefined : config.backend);
  const seqs = await loadSequences(positionals, values.assessment as Assessment | undefined);
  const ckpt = await loadCheckpoint(values.model, { featureNames: seqs[0]!.names });
  if (ckpt.kind !== 'base') throw new UsageError(`--model ${values.model}: is a patient adapter checkpoint; give a standalone model directory`);
  let probeBytes: Buffer;
  try {
    probeBytes = await readFile(join(values.model, 'probe.npz'));
  } catch (cause) {
    throw new UsageError(`--model ${values.model}: has no probe.npz (written by jepa-motion train) to decode poses with`, { cause });
  }
  const model = new WorldModel(ckpt.modelConfig, ckpt.weights);
  try {
    const report = evaluateWorldModel(evaluableWorldModel(model, { backend }), seqs, ckpt.normalization, probeFromNpz(probeBytes));
    if (values.json) io.out(`${JSON.stringify(report)}\n`);
    else {
      io.out(
        `${report.frames} frames on ${report.backend}; uncertainty–error Spearman ρ ${report.uncertainty_spearman.toFixed(3)}; effective rank ${report.collapse.effective_rank.toFixed(1)}, min dim std ${report.collapse.min_dim_std.toFixed(4)}\n`,
      );
      io.out('Δh   latent_mse  normalized_mse  identity_nmse  pose_mm  zero_vel_mm  const_vel_mm\n');
      for (const h of EVAL_HORIZONS) {
        const r = report.horizons[String(h)];
        if (!r) continue;
        io.out(
          `${String(h).padEnd(5)}${[r.latent_mse, r.normalized_mse, r.identity_normalized_mse, r.pose_mm, r.zero_velocity_mm, r.constant_velocity_mm].map((v) => v.toFixed(4).padStart(13)).join(' ')}\n`,
        );
      }
    }
    return 0;
  } finally {
    model.dispose();
  }
}
