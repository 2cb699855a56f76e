/**
 * The public recordings in ../shared/data/motion with their subject and assessment, for cross-subject
 * (leave-subject-out) training and the benchmark. Read each folder's README before changing this list:
 * Kinect/Vicon files of UI-PRMD are the same session (same subject), CMU 131 is stylised walking, the
 * OpenSim static trial is quiet standing (balance).
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Assessment } from '../../streams/types.js';
import type { RecordingSpec } from '../feature-sequences.js';

/** ../shared/data/motion beside the checkout (the same place test/helpers/motion-data.ts looks). */
export const MOTION_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'data', 'motion');

/** The recording the benchmark treats as "the patient": 30 s of steady treadmill walking (1800 frames at 60 Hz). */
export const PATIENT_SPEC: RecordingSpec = {
  path: join(MOTION_DIR, 'fukuchi-treadmill', 'fukuchi_WBDS19walkT01.c3d'),
  assessment: 'gait',
  subject: 'fukuchi-WBDS19',
};

const UIPRMD_ASSESSMENT: Record<string, Assessment> = { m01: 'squat', m02: 'gait', m05: 'sit_to_stand', m06: 'balance' };

/** Every public recording we can map to a subject and an assessment. */
export function publicRecordings(dir = MOTION_DIR): RecordingSpec[] {
  const p = (...parts: string[]): string => join(dir, ...parts);
  const specs: RecordingSpec[] = [
    { path: p('camargo-levelground', 'levelground_ccw_fast_01_01.trc'), assessment: 'gait', subject: 'camargo-01' },
    { path: p('cmu-bvh', '131_01.bvh'), assessment: 'gait', subject: 'cmu-131' },
    { path: p('cmu-bvh', '131_02.bvh'), assessment: 'gait', subject: 'cmu-131' },
    PATIENT_SPEC,
    { path: p('opensim-gait', 'subject01_walk1.trc'), assessment: 'gait', subject: 'opensim-01' },
    { path: p('opensim-gait', 'subject01_static.trc'), assessment: 'balance', subject: 'opensim-01' },
    { path: p('shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d'), assessment: 'gait', subject: 'shida-SUB05' },
    { path: p('shida-pd-gait', 'figshare_pd_SUB07_off_walk_7.c3d'), assessment: 'gait', subject: 'shida-SUB07' },
  ];
  for (const kind of ['vicon', 'kinect'] as const) {
    const folder = p('ui-prmd', kind);
    if (!existsSync(folder)) continue;
    for (const name of readdirSync(folder).sort()) {
      const m = /^(m\d\d)_(s\d\d)_e\d\d_positions(_inc)?\.txt$/.exec(name);
      const assessment = m ? UIPRMD_ASSESSMENT[m[1]!] : undefined;
      if (!m || !assessment) continue;
      specs.push({ path: join(folder, name), assessment, subject: `uiprmd-${m[2]}` });
    }
  }
  return specs.filter((s) => existsSync(s.path));
}
