// Skeleton drawing, side view: horizontal axis = the walking direction (from the root's displacement
// over the recent updates, else world x), vertical = up (y). Floor at y = 0. Measured pose solid,
// predicted pose (first horizon) dashed on top, so a therapist sees where the model expects the body.

/** Canonical joints (streams/skeleton.ts JOINTS/PARENT; a test fails if these drift). */
export const JOINTS = [
  'root',
  'left_hip',
  'right_hip',
  'left_knee',
  'right_knee',
  'left_ankle',
  'right_ankle',
  'left_heel',
  'right_heel',
  'left_toe',
  'right_toe',
  'chest',
  'neck',
  'head',
  'left_shoulder',
  'right_shoulder',
  'left_elbow',
  'right_elbow',
  'left_wrist',
  'right_wrist',
];
export const PARENT = {
  root: null,
  left_hip: 'root',
  right_hip: 'root',
  left_knee: 'left_hip',
  right_knee: 'right_hip',
  left_ankle: 'left_knee',
  right_ankle: 'right_knee',
  left_heel: 'left_ankle',
  right_heel: 'right_ankle',
  left_toe: 'left_ankle',
  right_toe: 'right_ankle',
  chest: 'root',
  neck: 'chest',
  head: 'neck',
  left_shoulder: 'chest',
  right_shoulder: 'chest',
  left_elbow: 'left_shoulder',
  right_elbow: 'right_shoulder',
  left_wrist: 'left_elbow',
  right_wrist: 'right_elbow',
};
const BONES = JOINTS.filter((j) => PARENT[j]).map((j) => [
  JOINTS.indexOf(PARENT[j]),
  JOINTS.indexOf(j),
  j.startsWith('left') ? 'left' : j.startsWith('right') ? 'right' : 'mid',
]);
const COLOURS = { left: '#2563eb', right: '#dc2626', mid: '#1d2430' };

const finite = (...v) => v.every(Number.isFinite);

/**
 * Unit horizontal viewing axis for a side view: the body's forward direction (perpendicular to the
 * hip line on the floor plane), signed along the direction of travel when the root moved; smoothed
 * against `previous` so the camera does not jitter with the pelvis. Treadmill walking (root still)
 * still gets a side view because it does not rely on travel.
 */
export function viewDirection(joints, roots, previous) {
  const lx = joints[3],
    lz = joints[5],
    rx = joints[6],
    rz = joints[8];
  let dir = previous ?? [1, 0];
  if (finite(lx, lz, rx, rz)) {
    const hx = rx - lx;
    const hz = rz - lz;
    const len = Math.hypot(hx, hz);
    if (len > 0.05) {
      // forward = up × right = (hz, −hx) on the floor plane (y up, right-handed)
      let f = [hz / len, -hx / len];
      // Sign: where the feet point (ankle → toe), else the travel direction, else the previous view.
      const toe = [joints[27] - joints[15] + joints[30] - joints[18], joints[29] - joints[17] + joints[32] - joints[20]];
      const a = roots[0];
      const b = roots[roots.length - 1];
      const flip = (v) => f[0] * v[0] + f[1] * v[1] < 0;
      if (finite(toe[0], toe[1]) && Math.hypot(toe[0], toe[1]) > 0.02) {
        if (flip(toe)) f = [-f[0], -f[1]];
      } else if (a && b && Math.hypot(b[0] - a[0], b[1] - a[1]) > 0.3) {
        if (flip([b[0] - a[0], b[1] - a[1]])) f = [-f[0], -f[1]];
      } else if (previous && flip(previous)) f = [-f[0], -f[1]];
      const mx = previous ? previous[0] * 0.9 + f[0] * 0.1 : f[0];
      const mz = previous ? previous[1] * 0.9 + f[1] * 0.1 : f[1];
      const m = Math.hypot(mx, mz);
      if (m > 1e-6) dir = [mx / m, mz / m];
    }
  }
  return dir;
}

/**
 * Draws one frame. `view` keeps the camera between frames: {dir: [dx, dz], centre: number} so the
 * body stays centred horizontally and the floor stays put.
 */
export function drawSkeleton(ctx, update, view) {
  const { width, height } = ctx.canvas;
  ctx.clearRect(0, 0, width, height);
  const scale = height / 2.2; // 2.2 m of height fill the canvas
  const floorY = height - 20;
  const along = (x, z) => x * view.dir[0] + z * view.dir[1];
  const rootAlong = along(update.joints[0], update.joints[2]);
  if (Number.isFinite(rootAlong)) view.centre = view.centre === undefined ? rootAlong : view.centre * 0.9 + rootAlong * 0.1;
  const px = (x, z) => width / 2 + (along(x, z) - (view.centre ?? 0)) * scale;
  const py = (y) => floorY - y * scale;

  ctx.strokeStyle = '#9aa4b2';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(0, floorY);
  ctx.lineTo(width, floorY);
  ctx.stroke();

  const pose = (joints, dashed) => {
    ctx.setLineDash(dashed ? [6, 4] : []);
    ctx.lineWidth = dashed ? 2 : 4;
    ctx.globalAlpha = dashed ? 0.6 : 1;
    for (const [p, c, side] of BONES) {
      const [x0, y0, z0, x1, y1, z1] = [joints[p * 3], joints[p * 3 + 1], joints[p * 3 + 2], joints[c * 3], joints[c * 3 + 1], joints[c * 3 + 2]];
      if (!finite(x0, y0, z0, x1, y1, z1)) continue;
      ctx.strokeStyle = COLOURS[side];
      ctx.beginPath();
      ctx.moveTo(px(x0, z0), py(y0));
      ctx.lineTo(px(x1, z1), py(y1));
      ctx.stroke();
    }
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
  };
  pose(update.joints, false);
  if (update.prediction) pose(update.prediction, true);

  // Foot contacts: a filled marker under each foot on the floor.
  for (const [side, ankle] of [
    ['left', 5],
    ['right', 6],
  ]) {
    const x = update.joints[ankle * 3];
    const z = update.joints[ankle * 3 + 2];
    if (!finite(x, z)) continue;
    ctx.fillStyle = update.contacts?.[side] ? COLOURS[side] : 'transparent';
    ctx.strokeStyle = COLOURS[side];
    ctx.beginPath();
    ctx.arc(px(x, z), floorY + 8, 5, 0, Math.PI * 2);
    ctx.fill();
    ctx.stroke();
  }
}
