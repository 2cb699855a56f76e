/**
 * Real recordings → FeatureSequence (models/types.ts) through the same code the live server runs:
 * stage-0 adapter (readRecording) then the session pipeline (align → … → features). Used by
 * `jepa-motion train`/`eval`, the benchmarks and the pretrained-model builder. models/ never reads the
 * server's own session recordings (that needs src/protocol and src/storage): the CLI gets those from
 * src/recordings and hands models/ finished sequences.
 */
import { count, from, lastValueFrom, tap } from 'rxjs';
import { readRecording } from '../streams/adapters/read-recording.js';
import { featureNames, type FeatureOptions } from '../streams/features.js';
import type { MetricsFrame } from '../streams/metrics.js';
import { sessionPipeline } from '../streams/session-pipeline.js';
import type { Assessment, Recording } from '../streams/types.js';
import type { FeatureSequence } from './types.js';

export interface RecordingSpec {
  readonly path: string;
  readonly assessment: Assessment;
  /** Subject id for leave-subject-out splits. */
  readonly subject: string;
}

/** World-pose columns per frame (20 canonical joints × 3). */
const POSE_DIM = 60;

/**
 * Collects pipeline frames into a FeatureSequence as they are produced, without keeping the frames:
 * the one collector behind every path (mocap files here, server session recordings in src/recordings),
 * so a sequence means the same thing whoever built it. At most `maxFrames` rows; later frames are
 * counted in `truncated`, not stored (bounds memory at ~maxFrames·(F+60)·4 B).
 */
export class FeatureSequenceBuilder {
  readonly names: readonly string[];
  private x: Float32Array;
  private poses: Float32Array;
  private t: Float64Array;
  private n = 0;
  /** Frames offered beyond `maxFrames`. */
  truncated = 0;

  constructor(
    opts: FeatureOptions = {},
    private readonly maxFrames = Number.POSITIVE_INFINITY,
  ) {
    this.names = featureNames(opts);
    const initial = 1024;
    this.x = new Float32Array(initial * this.names.length);
    this.poses = new Float32Array(initial * POSE_DIM);
    this.t = new Float64Array(initial);
  }

  get length(): number {
    return this.n;
  }

  push(fr: MetricsFrame): void {
    if (this.n >= this.maxFrames) {
      this.truncated += 1;
      return;
    }
    if (this.n === this.t.length) this.grow();
    const f = this.names.length;
    this.x.set(fr.features.subarray(0, f), this.n * f);
    this.poses.set(fr.joints.subarray(0, POSE_DIM), this.n * POSE_DIM);
    this.t[this.n] = fr.t;
    this.n += 1;
  }

  /** The sequence so far; timestamps re-based to the first frame (FeatureSequence.t's contract). */
  build(source: FeatureSequence['source']): FeatureSequence {
    const t0 = this.t[0] ?? 0;
    return {
      names: this.names,
      x: this.x.slice(0, this.n * this.names.length),
      t: this.t.slice(0, this.n).map((v) => v - t0),
      poses: this.poses.slice(0, this.n * POSE_DIM),
      source,
    };
  }

  private grow(): void {
    const cap = this.t.length * 2;
    const grown = <A extends Float32Array | Float64Array>(a: A, make: (n: number) => A, width: number): A => {
      const b = make(cap * width);
      b.set(a);
      return b;
    };
    this.x = grown(this.x, (k) => new Float32Array(k), this.names.length);
    this.poses = grown(this.poses, (k) => new Float32Array(k), POSE_DIM);
    this.t = grown(this.t, (k) => new Float64Array(k), 1);
  }
}

/**
 * Runs a stage-0 Recording (a mocap file: its planes are static, there is no `env` stream) through
 * the session pipeline. Server session recordings do not come through here: their `env` updates are
 * replayed as they arrived by src/recordings' replaySession, which feeds the same builder.
 */
export async function featureSequenceFromRecording(rec: Recording, spec: RecordingSpec, opts: FeatureOptions = {}): Promise<FeatureSequence> {
  const builder = new FeatureSequenceBuilder(opts);
  await lastValueFrom(
    from(rec.frames).pipe(
      sessionPipeline({ assessment: spec.assessment, fps: rec.meta.fps, planes: rec.meta.planes, features: opts }),
      tap((fr) => builder.push(fr)),
      count(),
    ),
  );
  const prov = rec.meta.provenance[0];
  return builder.build({ file: spec.path, sha256: prov?.sha256 ?? '', subject: spec.subject });
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
