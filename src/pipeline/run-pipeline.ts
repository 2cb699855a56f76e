// Offline stages 0–3 through the same stream stages the live server runs:
// analyseRecording (stage 0: mocap files or the server's session recordings; stages 1–3 through the session pipeline, a session's env replayed as it arrived) → artifacts + manifest.
import { basename, extname } from 'node:path';
import { encodeNpy, encodeNpz } from '../../models/npz.js';
import { featureNames } from '../../streams/features.js';
import type { MetricsFrame } from '../../streams/metrics.js';
import { JOINT_COUNT, JOINTS } from '../../streams/skeleton.js';
import { summarize, type PipelineSummary } from '../../streams/summary.js';
import type { Assessment, SourceFormat } from '../../streams/types.js';
import { ArtifactWriter, type ManifestEntry } from './manifest.js';
import { analyseRecording } from './session-recording.js';

export interface PipelineRunOptions {
  readonly out: string;
  readonly assessment?: Assessment;
  readonly format?: 'auto' | SourceFormat;
  readonly fps?: number;
}

export interface RecordingResult {
  readonly file: string;
  readonly assessment: Assessment;
  readonly summary: PipelineSummary;
  readonly artifacts: readonly ManifestEntry[];
}

// Stages 0–3 of one recording live in session-recording.ts (the one place that knows how each kind of
// recording is replayed); re-exported for the scripts that import them from here.
export { assessmentFor, processRecording } from './session-recording.js';

function stack(states: readonly MetricsFrame[], pick: (s: MetricsFrame) => ArrayLike<number>, width: number): Float32Array {
  const out = new Float32Array(states.length * width);
  states.forEach((s, i) => out.set(pick(s), i * width));
  return out;
}

/** Writes every stage's artifact for the given recordings under `out`, then `out/manifest.json`. */
export async function runPipeline(files: readonly string[], opts: PipelineRunOptions): Promise<RecordingResult[]> {
  const writer = new ArtifactWriter(opts.out, 'jepa-motion pipeline');
  const results: RecordingResult[] = [];
  const used = new Set<string>();
  for (const file of files) {
    const { recording, assessment, states } = await analyseRecording(file, {
      format: opts.format ?? 'auto',
      ...(opts.fps ? { fps: opts.fps } : {}),
      ...(opts.assessment ? { assessment: opts.assessment } : {}),
    });
    const summary = summarize(states, recording.meta);
    // One folder per recording, named after the file (suffixed when two inputs share a name).
    let name = basename(file, extname(file));
    for (let k = 2; used.has(name); k++) name = `${basename(file, extname(file))}-${k}`;
    used.add(name);
    const T = states.length;
    const last = states[T - 1];
    const artifacts = [
      await writer.write('0-adapter', `${name}/0-adapter/recording.json`, json({ meta: recording.meta, frames: recording.frames.length, joints: JOINTS })),
      await writer.write(
        '0-adapter',
        `${name}/0-adapter/poses.npy`,
        encodeNpy({
          dtype: '<f4',
          shape: [recording.frames.length, JOINT_COUNT, 3],
          data: stack(recording.frames as MetricsFrame[], (f) => f.joints, JOINT_COUNT * 3),
        }),
      ),
      await writer.write(
        '1-alignment',
        `${name}/1-alignment/alignment.json`,
        json({
          floor: last?.floor,
          forward: last?.forward,
          forward_source: last?.forwardSource,
          forward_fixed_at_frame: last?.forwardFixedAt,
          transform: last?.transform,
          quality: summary.quality,
          dropped_frames: last?.dropped ?? 0,
        }),
      ),
      await writer.write(
        '2-physical-state',
        `${name}/2-physical-state/states.npz`,
        encodeNpz({
          t: { dtype: '<f8', shape: [T], data: Float64Array.from(states, (s) => s.t) },
          joints: { dtype: '<f4', shape: [T, JOINT_COUNT, 3], data: stack(states, (s) => s.joints, JOINT_COUNT * 3) },
          velocities: { dtype: '<f4', shape: [T, JOINT_COUNT, 3], data: stack(states, (s) => s.velocities, JOINT_COUNT * 3) },
          com: { dtype: '<f4', shape: [T, 3], data: stack(states, (s) => s.com ?? [NaN, NaN, NaN], 3) },
          contacts: { dtype: '|u1', shape: [T, 2], data: Uint8Array.from(states.flatMap((s) => [Number(s.contacts.left), Number(s.contacts.right)])) },
          features: { dtype: '<f4', shape: [T, last?.features.length ?? 0], data: stack(states, (s) => s.features, last?.features.length ?? 0) },
        }),
      ),
      await writer.write(
        '2-physical-state',
        `${name}/2-physical-state/columns.json`,
        json({ joints: JOINTS, features: featureNames(), units: { position: 'm', velocity: 'm/s', angle: 'deg', time: 's' } }),
      ),
      await writer.write(
        '3-physics-labels',
        `${name}/3-physics-labels/labels.json`,
        json({
          assessment,
          phases: summary.phases,
          events: summary.events,
          reps: states.flatMap((s) => (s.repCompleted ? [s.repCompleted] : [])),
          metrics: summary.metrics,
          event_timing: summary.event_timing ?? null,
        }),
      ),
      await writer.write('summary', `${name}/summary.json`, json({ file, assessment, ...summary })),
    ];
    results.push({ file, assessment, summary, artifacts });
  }
  await writer.finish();
  return results;
}

const json = (value: unknown): string => `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
