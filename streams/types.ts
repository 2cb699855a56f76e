import type { JointName, Side } from './skeleton.js';

/** One pose in a source's own frame after stage 0: metres, y up, right-handed; NaN = not available. */
export interface PoseFrame {
  /** Seconds from the recording's first frame (from the source's own timestamps). */
  readonly t: number;
  /** JOINT_COUNT × 3 positions (see skeleton.ts for the order). */
  readonly joints: Float32Array;
}

/** An ARKit plane anchor as the iPad reports it (also what `env` messages carry). */
export interface PlaneAnchor {
  /** Column-major 4×4 transform of the plane in ARKit world coordinates (metres, y up). */
  readonly transform: readonly number[];
  /** Plane size in metres along its local x and z. */
  readonly extent: readonly [number, number];
  readonly alignment: 'horizontal' | 'vertical';
  readonly classification: 'floor' | 'wall' | 'ceiling' | 'table' | 'seat' | 'window' | 'door' | 'none';
}

export type SourceFormat = 'arkit' | 'bvh' | 'trc' | 'c3d' | 'uiprmd-kinect' | 'uiprmd-vicon' | 'videopose3d' | 'csv' | 'json' | 'scores';

export type Assessment = 'gait' | 'balance' | 'sit_to_stand' | 'squat';

/** Where a recording came from, kept with every artifact derived from it. */
export interface Provenance {
  readonly file: string;
  readonly sha256: string;
  readonly format: SourceFormat;
  readonly originalFps: number;
  /** Units and axes of the source, as read (e.g. "mm", "z up, +x forward, +y left"). */
  readonly units: string;
  readonly axes: string;
  /** Canonical joint → how it was obtained from the source (marker names, regression, FK joint). */
  readonly jointMap: Partial<Record<JointName, string>>;
  readonly notes: readonly string[];
}

/** A stretch of missing data for one joint, in seconds from the first frame. */
export interface Gap {
  readonly joint: JointName;
  readonly start_s: number;
  readonly end_s: number;
  /** Short gaps are interpolated; long ones stay NaN and are flagged. */
  readonly filled: boolean;
}

/** A gait event stored in the source (C3D EVENT group, force plates): ground truth, not a detection. */
export interface Annotation {
  readonly type: 'heel_strike' | 'toe_off';
  readonly side: Side;
  readonly t_s: number;
  readonly source: string;
}

/** A phase label that came with the source (generic CSV/JSON). */
export interface PhaseLabel {
  readonly name: string;
  readonly start_s: number;
  readonly end_s: number;
}

export interface RecordingMeta {
  readonly provenance: readonly Provenance[];
  /** Rate the frames were resampled to. */
  readonly fps: number;
  readonly available: readonly JointName[];
  readonly gaps: readonly Gap[];
  readonly annotations: readonly Annotation[];
  readonly phaseLabels: readonly PhaseLabel[];
  readonly planes: readonly PlaneAnchor[];
  readonly assessment?: Assessment;
  readonly subject?: string;
  /** Assessment scores that came with or beside the source, by name. */
  readonly scores?: Readonly<Record<string, number | string>>;
}

/** Stage 0 output: standard states plus metadata and provenance. */
export interface Recording {
  readonly meta: RecordingMeta;
  readonly frames: readonly PoseFrame[];
}
