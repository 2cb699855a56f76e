// Tiny 3-vector helpers on flat arrays (x, y, z at 3·i): the adapters' only geometry.
export type V3 = [number, number, number];

export const at = (a: ArrayLike<number>, i: number): V3 => [a[3 * i] ?? NaN, a[3 * i + 1] ?? NaN, a[3 * i + 2] ?? NaN];
export const add = (a: V3, b: V3): V3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
export const sub = (a: V3, b: V3): V3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
export const scale = (a: V3, s: number): V3 => [a[0] * s, a[1] * s, a[2] * s];
export const mid = (a: V3, b: V3): V3 => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2, (a[2] + b[2]) / 2];
export const dot = (a: V3, b: V3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const cross = (a: V3, b: V3): V3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
export const norm = (a: V3): number => Math.hypot(a[0], a[1], a[2]);
export const unit = (a: V3): V3 => scale(a, 1 / norm(a));
export const finite = (a: V3): boolean => Number.isFinite(a[0]) && Number.isFinite(a[1]) && Number.isFinite(a[2]);
export function put(out: Float64Array | Float32Array, i: number, v: V3): void {
  out[3 * i] = v[0];
  out[3 * i + 1] = v[1];
  out[3 * i + 2] = v[2];
}

/** Orthonormal frame: rows e1, e2, e3 (a rotation from world to local when applied as R·v). */
export type Frame3 = readonly [V3, V3, V3];
export const toLocal = (f: Frame3, v: V3): V3 => [dot(f[0], v), dot(f[1], v), dot(f[2], v)];
export const toWorld = (f: Frame3, v: V3): V3 => add(add(scale(f[0], v[0]), scale(f[1], v[1])), scale(f[2], v[2]));

/** Frame from three points: e1 along a→b, e3 normal to the plane (a, b, c), e2 = e3 × e1. */
export function frameOf(a: V3, b: V3, c: V3): Frame3 {
  const e1 = unit(sub(b, a));
  const e3 = unit(cross(e1, sub(c, a)));
  return [e1, cross(e3, e1), e3];
}

export function median(values: number[]): number {
  const v = values.filter(Number.isFinite).sort((x, y) => x - y);
  return v.length === 0 ? NaN : (v[v.length >> 1] ?? NaN);
}
