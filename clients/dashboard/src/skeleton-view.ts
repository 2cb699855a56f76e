// The skeleton in two views: sagittal (from the patient's side, walking to the right) and frontal (from
// in front, the patient's left on the viewer's right). Measured pose solid, the predicted pose at the
// chosen horizon as a translucent ghost over it. World frame: floor y = 0, y up, metres.
import { JOINT_INDEX, JOINTS, PARENT } from '../../../streams/skeleton.js';
import type { PredictedPose, State } from './session-state.js';

type Side = 'left' | 'right' | 'mid';
const BONES: readonly (readonly [number, number, Side])[] = JOINTS.flatMap((j) => {
  const p = PARENT[j];
  return p ? [[JOINT_INDEX[p], JOINT_INDEX[j], j.startsWith('left') ? 'left' : j.startsWith('right') ? 'right' : 'mid'] as const] : [];
});
export const COLOURS: Readonly<Record<Side, string>> = { left: '#2563eb', right: '#dc2626', mid: '#1d2430' };
const GHOST = '#7c3aed';
/** Metres of height that fill a canvas. */
const SPAN_M = 2.2;

const finite = (...v: number[]) => v.every(Number.isFinite);
const at = (j: Float32Array, i: number, k: number): number => j[i * 3 + k] ?? Number.NaN;

/**
 * Unit horizontal forward direction of the body (perpendicular to the hip line, signed by where the
 * feet point), smoothed against `previous` so the camera does not jitter with the pelvis.
 */
export function viewDirection(joints: Float32Array, previous?: readonly [number, number]): [number, number] {
  const L = JOINT_INDEX.left_hip;
  const R = JOINT_INDEX.right_hip;
  const hx = at(joints, R, 0) - at(joints, L, 0);
  const hz = at(joints, R, 2) - at(joints, L, 2);
  const len = Math.hypot(hx, hz);
  if (!finite(hx, hz) || len < 0.05) return previous ? [previous[0], previous[1]] : [1, 0];
  // forward = up × right = (hz, −hx) on the floor plane (y up, right-handed)
  let f: [number, number] = [hz / len, -hx / len];
  const toe = (side: 'left' | 'right', k: number) => at(joints, JOINT_INDEX[`${side}_toe`], k) - at(joints, JOINT_INDEX[`${side}_ankle`], k);
  const tx = toe('left', 0) + toe('right', 0);
  const tz = toe('left', 2) + toe('right', 2);
  if (finite(tx, tz) && Math.hypot(tx, tz) > 0.02) {
    if (f[0] * tx + f[1] * tz < 0) f = [-f[0], -f[1]];
  } else if (previous && f[0] * previous[0] + f[1] * previous[1] < 0) f = [-f[0], -f[1]];
  if (!previous) return f;
  const mx = previous[0] * 0.9 + f[0] * 0.1;
  const mz = previous[1] * 0.9 + f[1] * 0.1;
  const m = Math.hypot(mx, mz);
  return m > 1e-6 ? [mx / m, mz / m] : [previous[0], previous[1]];
}

export interface Drawn {
  readonly sessionId: string;
  readonly seq: number;
  /** Horizon of the ghost drawn (null = legacy unnamed first horizon), or undefined when none was drawn. */
  readonly ghostH?: number | null;
  readonly ghostJoints: number;
}

/** Two canvases; `draw(state, horizon)` repaints both; `clear()` leaves them blank. */
export class SkeletonView {
  private forward: [number, number] | undefined;
  private centre: { s?: number; f?: number } = {};
  drawn: Drawn | undefined;

  constructor(
    private readonly sagittal: HTMLCanvasElement,
    private readonly frontal: HTMLCanvasElement,
  ) {}

  clear(): void {
    for (const c of [this.sagittal, this.frontal]) c.getContext('2d')?.clearRect(0, 0, c.width, c.height);
    this.drawn = undefined;
  }

  /** `horizon`: frames ahead of the ghost to draw; 'none' draws none. */
  draw(s: State, horizon: number | 'none' | 'first'): void {
    this.forward = viewDirection(s.joints, this.forward);
    const [fx, fz] = this.forward;
    const ghost = pickGhost(s.predictions, horizon);
    // sagittal: screen x along forward; frontal: screen x along the patient's left (= (fz, −fx))
    const n1 = this.paint(this.sagittal, s, ghost, (x, z) => x * fx + z * fz, 's');
    this.paint(this.frontal, s, ghost, (x, z) => x * fz - z * fx, 'f');
    this.drawn = { sessionId: s.sessionId, seq: s.seq, ...(ghost ? { ghostH: ghost.h } : {}), ghostJoints: n1 };
  }

  private paint(canvas: HTMLCanvasElement, s: State, ghost: PredictedPose | undefined, along: (x: number, z: number) => number, key: 's' | 'f'): number {
    const ctx = canvas.getContext('2d');
    if (!ctx) return 0;
    const { width, height } = canvas;
    ctx.clearRect(0, 0, width, height);
    const scale = height / SPAN_M;
    const floorY = height - 24;
    const root = JOINT_INDEX.root;
    const r = along(at(s.joints, root, 0), at(s.joints, root, 2));
    // Follow the pelvis smoothly while walking; jump when it is far away (a scrub, a new session).
    const prev = this.centre[key];
    if (Number.isFinite(r)) this.centre[key] = prev === undefined || Math.abs(r - prev) > 0.5 ? r : prev * 0.85 + r * 0.15;
    const c = this.centre[key] ?? 0;
    const px = (x: number, z: number) => width / 2 + (along(x, z) - c) * scale;
    const py = (y: number) => floorY - y * scale;

    ctx.strokeStyle = '#9aa4b2';
    ctx.lineWidth = 1;
    ctx.setLineDash([]);
    ctx.beginPath();
    ctx.moveTo(0, floorY);
    ctx.lineTo(width, floorY);
    ctx.stroke();

    const pose = (j: Float32Array, isGhost: boolean): number => {
      let drawnBones = 0;
      ctx.lineCap = 'round';
      ctx.globalAlpha = isGhost ? 0.45 : 1;
      ctx.lineWidth = isGhost ? 7 : 4;
      for (const [p, q, side] of BONES) {
        const x0 = at(j, p, 0), y0 = at(j, p, 1), z0 = at(j, p, 2), x1 = at(j, q, 0), y1 = at(j, q, 1), z1 = at(j, q, 2); // prettier-ignore
        if (!finite(x0, y0, z0, x1, y1, z1)) continue;
        ctx.strokeStyle = isGhost ? GHOST : COLOURS[side];
        ctx.beginPath();
        ctx.moveTo(px(x0, z0), py(y0));
        ctx.lineTo(px(x1, z1), py(y1));
        ctx.stroke();
        drawnBones += 1;
      }
      ctx.globalAlpha = 1;
      return drawnBones;
    };
    const ghostBones = ghost ? pose(ghost.pose, true) : 0;
    pose(s.joints, false);

    // Foot contacts: a filled dot under a foot on the floor, an empty ring when it is in the air.
    for (const side of ['left', 'right'] as const) {
      const a = JOINT_INDEX[`${side}_ankle`];
      const x = at(s.joints, a, 0);
      const z = at(s.joints, a, 2);
      if (!finite(x, z)) continue;
      ctx.strokeStyle = COLOURS[side];
      ctx.fillStyle = COLOURS[side];
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(px(x, z), floorY + 10, 6, 0, Math.PI * 2);
      if (s.contacts[side]) ctx.fill();
      ctx.stroke();
    }
    return ghostBones;
  }
}

export function pickGhost(predictions: readonly PredictedPose[], horizon: number | 'none' | 'first'): PredictedPose | undefined {
  if (horizon === 'none') return undefined;
  if (horizon === 'first') return predictions[0];
  return predictions.find((p) => p.h === horizon);
}
