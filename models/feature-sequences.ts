/**
 * Real recordings → FeatureSequence (models/types.ts) through the same code the live server runs:
 * stage-0 adapter (readRecording) then the session pipeline (align → … → features). Used by
 * `jepa-motion train`/`eval`, the benchmarks and the pretrained-model builder.
 */
import { lastValueFrom, from, toArray } from 'rxjs';
import { readRecording } from '../streams/adapters/read-recording.js';
import { featureNames, type FeatureOptions } from '../streams/features.js';
import { sessionPipeline } from '../streams/session-pipeline.js';
import type { Assessment, Recording } from '../streams/types.js';
import type { FeatureSequence } from './types.js';

export interface RecordingSpec {
  readonly path: string;
  readonly assessment: Assessment;
  /** Subject id for leave-subject-out splits. */
  readonly subject: string;
}

/** Runs one recording through the session pipeline and collects x, t and the aligned world poses. */
export async function featureSequenceFromRecording(rec: Recording, spec: RecordingSpec, opts: FeatureOptions = {}): Promise<FeatureSequence> {
  const frames = await lastValueFrom(
    from(rec.frames).pipe(sessionPipeline({ assessment: spec.assessment, fps: rec.meta.fps, planes: rec.meta.planes, features: opts }), toArray()),
  );
  const names = featureNames(opts);
  const f = names.length;
  const x = new Float32Array(frames.length * f);
  const poses = new Float32Array(frames.length * 60);
  const t = new Float64Array(frames.length);
  frames.forEach((fr, i) => {
    x.set(fr.features, i * f);
    poses.set(fr.joints, i * 60);
    t[i] = fr.t;
  });
  const prov = rec.meta.provenance[0];
  return { names, x, t, poses, source: { file: spec.path, sha256: prov?.sha256 ?? '', subject: spec.subject } };
}

export async function loadFeatureSequence(spec: RecordingSpec, opts: FeatureOptions = {}): Promise<FeatureSequence> {
  return featureSequenceFromRecording(await readRecording(spec.path, { fps: 60 }), spec, opts);
}

/** Frames [a, b) of a sequence, timestamps re-based to its first frame (train/held-out splits in time). */
export function sliceSequence(s: FeatureSequence, a: number, b: number): FeatureSequence {
  const f = s.names.length;
  const t0 = s.t[a] ?? 0;
  return { ...s, x: s.x.slice(a * f, b * f), t: s.t.slice(a, b).map((v) => v - t0), poses: s.poses.slice(a * 60, b * 60) };
}
