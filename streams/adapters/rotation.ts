// 3×3 rotation matrices (row-major, acting on column vectors) for the FK adapters (BVH, Kinect).
export type Mat3 = Float64Array;

export const identity = (): Mat3 => Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);

/** Right-handed rotation by `deg` degrees about axis 'X' | 'Y' | 'Z'. */
export function axisRotation(axis: 'X' | 'Y' | 'Z', deg: number): Mat3 {
  const r = (deg * Math.PI) / 180;
  const c = Math.cos(r);
  const s = Math.sin(r);
  if (axis === 'X') return Float64Array.of(1, 0, 0, 0, c, -s, 0, s, c);
  if (axis === 'Y') return Float64Array.of(c, 0, s, 0, 1, 0, -s, 0, c);
  return Float64Array.of(c, -s, 0, s, c, 0, 0, 0, 1);
}

export function mul(a: Mat3, b: Mat3): Mat3 {
  const o = new Float64Array(9);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) o[i * 3 + j] = (a[i * 3] ?? 0) * (b[j] ?? 0) + (a[i * 3 + 1] ?? 0) * (b[3 + j] ?? 0) + (a[i * 3 + 2] ?? 0) * (b[6 + j] ?? 0);
  return o;
}

export function apply(m: Mat3, v: readonly [number, number, number]): [number, number, number] {
  return [
    (m[0] ?? 0) * v[0] + (m[1] ?? 0) * v[1] + (m[2] ?? 0) * v[2],
    (m[3] ?? 0) * v[0] + (m[4] ?? 0) * v[1] + (m[5] ?? 0) * v[2],
    (m[6] ?? 0) * v[0] + (m[7] ?? 0) * v[1] + (m[8] ?? 0) * v[2],
  ];
}
