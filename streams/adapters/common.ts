// Shared last step of every file adapter: joint track → checked, resampled Recording with provenance.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { AdapterError, AdapterErrorCode } from '../errors.js';
import { JOINT_COUNT, JOINT_INDEX, type JointName } from '../skeleton.js';
import type { Annotation, Assessment, PhaseLabel, Provenance, Recording, RecordingMeta, SourceFormat } from '../types.js';
import { DEFAULT_FPS, DEFAULT_MAX_GAP_S, resample, type JointTrack } from './resample.js';

export interface AdapterOptions {
  /** Output rate in Hz (default 60). */
  readonly fps?: number;
  /** Longest gap, in seconds, that is interpolated (default 0.1). */
  readonly maxGapS?: number;
}

export interface SourceFile {
  readonly path: string;
  readonly name: string;
  readonly bytes: Buffer;
  readonly sha256: string;
}

/** Files are read whole (hashing, random access in C3D): refuse anything larger than this. */
export const MAX_FILE_BYTES = 512 * 1024 * 1024;

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Reads a file with the coded errors every adapter shares (missing, directory, empty). */
export async function readSource(path: string): Promise<SourceFile> {
  const name = basename(path);
  let bytes: Buffer;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new AdapterError(AdapterErrorCode.IS_DIRECTORY, name, 'is a directory, not a recording');
    if (st.size > MAX_FILE_BYTES)
      throw new AdapterError(AdapterErrorCode.IMPLAUSIBLE, name, `is ${st.size} bytes; recordings are read whole and the limit is ${MAX_FILE_BYTES}`);
    bytes = await readFile(path);
  } catch (err) {
    if (err instanceof AdapterError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AdapterError(AdapterErrorCode.NOT_FOUND, name, `no such file (${path})`, { cause: err });
    if (code === 'EISDIR') throw new AdapterError(AdapterErrorCode.IS_DIRECTORY, name, 'is a directory, not a recording', { cause: err });
    throw new AdapterError(AdapterErrorCode.NOT_FOUND, name, `cannot be read (${code ?? 'unknown error'})`, { cause: err });
  }
  if (bytes.length === 0) throw new AdapterError(AdapterErrorCode.EMPTY, name, 'is empty');
  return { path, name, bytes, sha256: sha256(bytes) };
}

export interface BuildInput {
  readonly file: SourceFile;
  readonly format: SourceFormat;
  readonly originalFps: number;
  readonly units: string;
  readonly axes: string;
  readonly jointMap: Partial<Record<JointName, string>>;
  readonly notes: readonly string[];
  readonly track: JointTrack;
  readonly annotations?: readonly Annotation[];
  readonly phaseLabels?: readonly PhaseLabel[];
  readonly extraProvenance?: readonly Provenance[];
  readonly scores?: Readonly<Record<string, number | string>>;
  /** What the source says was recorded (e.g. from a dataset's file naming), if it says. */
  readonly assessment?: Assessment;
  readonly subject?: string;
}

/** Plausible adult thigh/shank range in metres: wide enough for children and tall adults. */
const SEGMENT_RANGE: readonly [number, number] = [0.15, 0.8];
const SCALE_SEGMENTS: readonly (readonly [JointName, JointName])[] = [
  ['left_hip', 'left_knee'],
  ['right_hip', 'right_knee'],
  ['left_knee', 'left_ankle'],
  ['right_knee', 'right_ankle'],
  ['left_shoulder', 'left_elbow'],
  ['right_shoulder', 'right_elbow'],
];

/** Median length of one segment over the frames where both ends exist (NaN if never). */
export function medianSegment(track: JointTrack, a: JointName, b: JointName): number {
  const n = track.times.length;
  const ia = JOINT_INDEX[a] * 3;
  const ib = JOINT_INDEX[b] * 3;
  const lengths: number[] = [];
  for (let i = 0; i < n; i++) {
    const o = i * JOINT_COUNT * 3;
    const d = Math.hypot(
      (track.joints[o + ia] ?? NaN) - (track.joints[o + ib] ?? NaN),
      (track.joints[o + ia + 1] ?? NaN) - (track.joints[o + ib + 1] ?? NaN),
      (track.joints[o + ia + 2] ?? NaN) - (track.joints[o + ib + 2] ?? NaN),
    );
    if (Number.isFinite(d)) lengths.push(d);
  }
  if (lengths.length === 0) return NaN;
  lengths.sort((x, y) => x - y);
  return lengths[lengths.length >> 1] ?? NaN;
}

/** Refuses data whose limbs are not human-sized in metres: usually a wrong unit or a wrong adapter. */
export function checkScale(file: string, track: JointTrack): void {
  for (const [a, b] of SCALE_SEGMENTS) {
    const len = medianSegment(track, a, b);
    if (Number.isFinite(len) && (len < SEGMENT_RANGE[0] || len > SEGMENT_RANGE[1])) {
      throw new AdapterError(
        AdapterErrorCode.IMPLAUSIBLE,
        file,
        `implausible scale: ${a}→${b} is ${len.toFixed(3)} m (expected ${SEGMENT_RANGE[0]}–${SEGMENT_RANGE[1]} m); wrong units?`,
      );
    }
  }
}

export function buildRecording(input: BuildInput, opts: AdapterOptions = {}): Recording {
  const fps = opts.fps ?? DEFAULT_FPS;
  const maxGapS = opts.maxGapS ?? DEFAULT_MAX_GAP_S;
  const name = input.file.name;
  if (!(fps > 0 && fps <= 10_000)) throw new AdapterError(AdapterErrorCode.MALFORMED, name, `output rate ${fps} Hz is not usable`);
  const { times } = input.track;
  if (times.length === 0) throw new AdapterError(AdapterErrorCode.EMPTY, name, 'has no frames');
  for (let i = 0; i < times.length; i++) {
    const t = times[i] ?? NaN;
    if (!Number.isFinite(t) || (i > 0 && !(t > (times[i - 1] ?? NaN)))) {
      throw new AdapterError(AdapterErrorCode.MALFORMED, name, `time is not strictly increasing at frame ${i + 1}`);
    }
  }
  if (!input.track.joints.some((v) => Number.isFinite(v))) {
    throw new AdapterError(AdapterErrorCode.EMPTY, name, 'has no valid position in any frame (all NaN/missing)');
  }
  checkScale(name, input.track);
  const { frames, gaps, available } = resample(input.track, fps, maxGapS);
  const t0 = times[0] ?? 0;
  const span = (times[times.length - 1] ?? t0) - t0;
  const provenance: Provenance = {
    file: input.file.path,
    sha256: input.file.sha256,
    format: input.format,
    originalFps: input.originalFps,
    units: input.units,
    axes: input.axes,
    jointMap: input.jointMap,
    notes: input.notes,
  };
  const meta: RecordingMeta = {
    provenance: [provenance, ...(input.extraProvenance ?? [])],
    fps,
    available,
    gaps,
    annotations: [...(input.annotations ?? [])].filter((a) => a.t_s >= 0 && a.t_s <= span + 1e-9).sort((a, b) => a.t_s - b.t_s),
    phaseLabels: input.phaseLabels ?? [],
    planes: [],
    ...(input.scores ? { scores: input.scores } : {}),
    ...(input.assessment ? { assessment: input.assessment } : {}),
    ...(input.subject ? { subject: input.subject } : {}),
  };
  return { meta, frames };
}

/** Empty N × JOINT_COUNT × 3 array of NaN. */
export const nanJoints = (n: number): Float64Array => new Float64Array(n * JOINT_COUNT * 3).fill(NaN);
