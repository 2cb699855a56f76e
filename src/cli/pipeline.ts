import type { Assessment, SourceFormat } from '../../streams/types.js';
import { runPipeline } from '../pipeline/run-pipeline.js';
import { parseFlags, UsageError, type CliIo } from './io.js';

export const pipelineUsage =
  'jepa-motion pipeline <recording…> --out <dir> [--assessment gait|balance|sit_to_stand|squat] [--format auto|trc|c3d|bvh|uiprmd-kinect|uiprmd-vicon|videopose3d|csv|json] [--fps 60] [--json]';

const ASSESSMENTS = ['gait', 'balance', 'sit_to_stand', 'squat'] as const;
const FORMATS = ['auto', 'arkit', 'bvh', 'trc', 'c3d', 'uiprmd-kinect', 'uiprmd-vicon', 'videopose3d', 'csv', 'json'] as const;

/** Stages 0–3 on recordings: artifacts per stage, a manifest, and with --json one summary object per recording (one per line). */
export async function pipelineCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    out: { type: 'string' },
    assessment: { type: 'string' },
    format: { type: 'string', default: 'auto' },
    fps: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (!positionals.length) throw new UsageError('no recording given');
  if (!values.out) throw new UsageError('--out <dir> is required');
  if (values.assessment !== undefined && !(ASSESSMENTS as readonly string[]).includes(values.assessment)) {
    throw new UsageError(`--assessment ${values.assessment}: must be one of ${ASSESSMENTS.join(', ')}`);
  }
  if (!(FORMATS as readonly string[]).includes(values.format)) throw new UsageError(`--format ${values.format}: must be one of ${FORMATS.join(', ')}`);
  const fps = values.fps === undefined ? undefined : Number(values.fps);
  if (fps !== undefined && !(fps >= 1 && fps <= 1000)) throw new UsageError(`--fps ${values.fps}: must be a number from 1 to 1000`);
  const results = await runPipeline(positionals, {
    out: values.out,
    format: values.format as 'auto' | SourceFormat,
    ...(values.assessment ? { assessment: values.assessment as Assessment } : {}),
    ...(fps ? { fps } : {}),
  });
  for (const r of results) {
    if (values.json) io.out(`${JSON.stringify(r.summary, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}\n`);
    else {
      const s = r.summary;
      io.out(
        `${r.file}: ${s.frames} frames at ${s.fps} Hz (${s.duration_s.toFixed(2)} s), ${r.assessment}; quality ${s.quality.passed ? 'passed' : 'FAILED'}; ` +
          `steps ${s.steps}, cadence ${s.overall_cadence_spm?.toFixed(1) ?? '–'} steps/min; phases ${s.phases.length}\n`,
      );
    }
  }
  if (!values.json) io.out(`artifacts and manifest.json written to ${values.out}\n`);
  return results.every((r) => r.summary.quality.passed) ? 0 : 3;
}
