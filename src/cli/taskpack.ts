import { basename, extname, join, resolve } from 'node:path';
import type { Assessment } from '../../streams/types.js';
import { buildTaskPack } from '../taskpack/build-taskpack.js';
import { parseFlags, UsageError, type CliIo } from './io.js';
import { loadCheckpoint } from '../../models/checkpoint.js';
import { SHIPPED_MODEL_DIR } from '../config.js';

export const taskpackUsage =
  'jepa-motion taskpack <recording…> --out <dir> [--model <dir>] [--base <dir>] [--assessment gait|balance|sit_to_stand|squat] [--patient P] [--session S] [--clinic C] [--json]';

const ASSESSMENTS = ['gait', 'balance', 'sit_to_stand', 'squat'] as const;

/** Stages 0–9 per recording: one task pack directory each (<out>/<recording name>/), audited by `jepa-motion audit`. */
export async function taskpackCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    out: { type: 'string' },
    model: { type: 'string' },
    base: { type: 'string' },
    assessment: { type: 'string' },
    patient: { type: 'string' },
    session: { type: 'string' },
    clinic: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (!positionals.length) throw new UsageError('no recording given');
  if (!values.out) throw new UsageError('--out <dir> is required');
  if (values.assessment !== undefined && !(ASSESSMENTS as readonly string[]).includes(values.assessment)) {
    throw new UsageError(`--assessment ${values.assessment}: must be one of ${ASSESSMENTS.join(', ')}`);
  }
  if (values.session !== undefined && positionals.length > 1) throw new UsageError('--session names one session: give one recording with it');
  const modelDir = resolve(values.model ?? SHIPPED_MODEL_DIR);
  // The model's version is its weights' hash: the same model names the same packs on every machine.
  const version = `weights:${(await loadCheckpoint(modelDir)).weightsSha256.slice(0, 16)}`;
  const used = new Set<string>();
  for (const file of positionals) {
    let name = basename(file, extname(file));
    for (let k = 2; used.has(name); k++) name = `${basename(file, extname(file))}-${k}`;
    used.add(name);
    const r = await buildTaskPack({
      recordingPath: file,
      out: join(values.out, name),
      model: { dir: modelDir, version, ...(values.base ? { baseDir: resolve(values.base) } : {}) },
      patient: values.patient ?? 'unnamed-patient',
      session: values.session ?? name,
      ...(values.clinic ? { clinic: values.clinic } : {}),
      ...(values.assessment ? { assessment: values.assessment as Assessment } : {}),
    });
    const line = {
      file,
      id: r.id,
      dir: r.dir,
      assessment: r.assessment,
      patient: r.patient,
      session: r.session,
      artifacts: r.manifest.artifacts.length,
      report: join(r.dir, '9-task-pack', 'report.html'),
      seconds: r.seconds,
    };
    if (values.json) io.out(`${JSON.stringify(line)}\n`);
    else io.out(`${file}: task pack ${r.id} (${r.assessment}) in ${r.dir}, ${r.manifest.artifacts.length} artifacts; report ${line.report}\n`);
  }
  return 0;
}
