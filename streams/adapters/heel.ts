// Skeletons without a heel joint (BVH, Kinect, ARKit): a documented geometric estimate.
import type { V3 } from './vec.js';

/** Share of the ankle→toe length the heel lies behind the ankle (typical adult foot proportions). */
export const HEEL_BACK_FRACTION = 0.25;
export const HEEL_ESTIMATE_NOTE = `ESTIMATED: ankle − ${HEEL_BACK_FRACTION}·(toe − ankle) horizontally, at toe height`;

/** Heel behind the ankle along the foot's horizontal direction, at the toe's height (y up). */
export function estimateHeel(ankle: V3, toe: V3): V3 {
  return [ankle[0] - HEEL_BACK_FRACTION * (toe[0] - ankle[0]), toe[1], ankle[2] - HEEL_BACK_FRACTION * (toe[2] - ankle[2])];
}
