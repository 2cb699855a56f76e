// Floor choice among ARKit plane anchors (DESIGN.md stage 1): +2 horizontal, +3 floor class, minus a
// penalty growing with the plane centre's height above the lowest foot point (1 point per
// PENALTY_PER_M⁻¹ m; a plane below the feet is penalised the same way, a floor is under the feet).
import type { PlaneAnchor } from './types.js';

export const PLANE_SCORE = { horizontal: 2, floorClass: 3, penaltyPerM: 4, minScore: 2 } as const;

export interface ChosenPlane {
  readonly y: number;
  readonly score: number;
  readonly index: number;
}

/** Best plane whose score reaches PLANE_SCORE.minScore (horizontal planes only), else null. */
export function scorePlanes(planes: readonly PlaneAnchor[], lowestFootY: number): ChosenPlane | null {
  let best: ChosenPlane | null = null;
  planes.forEach((p, index) => {
    // Column-major 4×4: translation is elements 12..14.
    const y = p.transform[13];
    if (p.alignment !== 'horizontal' || p.transform.length !== 16 || y === undefined || !Number.isFinite(y)) return;
    const above = Number.isFinite(lowestFootY) ? Math.abs(y - lowestFootY) : 0;
    const score = PLANE_SCORE.horizontal + (p.classification === 'floor' ? PLANE_SCORE.floorClass : 0) - PLANE_SCORE.penaltyPerM * above;
    if (score >= PLANE_SCORE.minScore && (!best || score > best.score)) best = { y, score, index };
  });
  return best;
}
