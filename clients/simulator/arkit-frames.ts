// A recording (any format streams/adapters reads) as the frames an iPad would send: per frame a body
// anchor (column-major 4×4: translation at the root, rotation = heading about +y from the hip line)
// and the 91 ARKit joints in model space (streams/adapters/arkit canonicalToArkit). Joints the source
// lacks (NaN: Camargo/Fukuchi have no upper body) go out as 0 with `tracked` = 0 — the wire carries no
// NaN and ARKit itself flags untracked joints this way. The floor becomes one horizontal plane anchor.
import type { FrameInput } from '../sdk/index.js';
import { ARKIT_JOINT_COUNT, canonicalToArkit } from '../../streams/adapters/arkit.js';
import { JOINT_INDEX, type JointName } from '../../streams/skeleton.js';
import type { PlaneAnchor } from '../../src/protocol/index.js';
import type { Recording } from '../../streams/types.js';

const FOOT_JOINTS: readonly JointName[] = ['left_heel', 'right_heel', 'left_toe', 'right_toe', 'left_ankle', 'right_ankle'];
/** Floor = this quantile of the per-frame lowest foot joint (robust to a few bad frames). */
const FLOOR_QUANTILE = 0.02;
/** Size of the simulated floor plane (m): a typical clinic floor patch ARKit detects. */
const FLOOR_EXTENT_M = 6;

function joint(frame: Float32Array, name: JointName): [number, number, number] {
  const i = JOINT_INDEX[name] * 3;
  return [frame[i] ?? NaN, frame[i + 1] ?? NaN, frame[i + 2] ?? NaN];
}

const finite3 = (p: readonly number[]): boolean => p.every(Number.isFinite);

/** Column-major body anchor at `root`, x axis along the (horizontal) hip line, y up. */
export function bodyAnchor(joints: Float32Array, previous: Float32Array | undefined): Float32Array | undefined {
  const root = joint(joints, 'root');
  if (!finite3(root)) return previous;
  const l = joint(joints, 'left_hip');
  const r = joint(joints, 'right_hip');
  let dx = r[0] - l[0];
  let dz = r[2] - l[2];
  const len = Math.hypot(dx, dz);
  if (!(len > 1e-6)) {
    // No hip line this frame: keep the previous heading, else face +x.
    dx = previous ? (previous[0] ?? 1) : 1;
    dz = previous ? (previous[2] ?? 0) : 0;
  } else {
    dx /= len;
    dz /= len;
  }
  // x = (dx, 0, dz), y = (0, 1, 0), z = x × y = (-dz, 0, dx): right-handed, orthonormal.
  return new Float32Array([dx, 0, dz, 0, 0, 1, 0, 0, -dz, 0, dx, 0, root[0], root[1], root[2], 1]);
}

/** One horizontal floor plane under the recording (lowest-foot quantile), centred on the mean root. */
export function floorPlane(rec: Recording): PlaneAnchor | undefined {
  const lows: number[] = [];
  let sx = 0;
  let sz = 0;
  let n = 0;
  for (const f of rec.frames) {
    let low = Infinity;
    for (const name of FOOT_JOINTS) {
      const y = joint(f.joints, name)[1];
      if (Number.isFinite(y) && y < low) low = y;
    }
    if (Number.isFinite(low)) lows.push(low);
    const root = joint(f.joints, 'root');
    if (finite3(root)) {
      sx += root[0];
      sz += root[2];
      n++;
    }
  }
  if (lows.length === 0 || n === 0) return undefined;
  lows.sort((a, b) => a - b);
  const y = lows[Math.min(lows.length - 1, Math.floor(FLOOR_QUANTILE * lows.length))] ?? 0;
  return {
    transform: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, sx / n, y, sz / n, 1],
    extent: [FLOOR_EXTENT_M, FLOOR_EXTENT_M],
    alignment: 'horizontal',
    classification: 'floor',
  };
}

/**
 * The recording's frames as ingest frames, lazily (one frame's arrays alive at a time per consumer).
 * `t` is the recording's own time plus `clockOffsetS` (a device clock does not start at 0).
 * Frames before the first one with a root (no anchor possible) are skipped.
 */
export function* arkitFrames(rec: Recording, opts: { clockOffsetS?: number } = {}): Generator<FrameInput> {
  const offset = opts.clockOffsetS ?? 0;
  let anchor: Float32Array | undefined;
  let seq = 0;
  for (const f of rec.frames) {
    anchor = bodyAnchor(f.joints, anchor);
    if (!anchor) continue;
    const model = canonicalToArkit(f.joints, anchor);
    const tracked = new Uint8Array(ARKIT_JOINT_COUNT).fill(1);
    let untracked = false;
    for (let j = 0; j < ARKIT_JOINT_COUNT; j++) {
      if (Number.isFinite(model[j * 3]) && Number.isFinite(model[j * 3 + 1]) && Number.isFinite(model[j * 3 + 2])) continue;
      model.fill(0, j * 3, j * 3 + 3);
      tracked[j] = 0;
      untracked = true;
    }
    yield { seq, t: offset + f.t, anchor, joints: model, ...(untracked ? { tracked } : {}) };
    seq++;
  }
}
