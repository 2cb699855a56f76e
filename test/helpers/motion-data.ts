// Locates the shared real recordings (../shared/data/motion beside the checkout).
// Absent folder: tests skip and say so — except under CI=true, where that is a failure.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const motionDir = resolve(repoRoot, '..', 'shared', 'data', 'motion');
export const hasMotionData = existsSync(motionDir);

if (!hasMotionData) {
  if (process.env.CI === 'true') throw new Error(`motion recordings not found at ${motionDir} (required under CI=true)`);
  process.stderr.write(`[motion-data] ${motionDir} is absent: real-recording tests are skipped\n`);
}

/** Absolute path of a recording, e.g. motion('opensim-gait', 'subject01_walk1.trc'). */
export const motion = (...parts: string[]): string => join(motionDir, ...parts);

/** Every file in one dataset folder whose name matches. */
export function motionFiles(folder: string, pattern: RegExp): string[] {
  if (!hasMotionData) return [];
  return readdirSync(join(motionDir, folder))
    .filter((f) => pattern.test(f))
    .sort()
    .map((f) => join(motionDir, folder, f));
}
