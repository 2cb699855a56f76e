import { describe, expect, it } from 'vitest';
import { from, lastValueFrom, toArray } from 'rxjs';
import { align } from '../../streams/align.js';
import { contacts } from '../../streams/contacts.js';
import { type FeatureFrame, featureNames, features } from '../../streams/features.js';
import { phases } from '../../streams/phases.js';
import { physicalState } from '../../streams/physical-state.js';
import { JOINTS } from '../../streams/skeleton.js';
import type { PoseFrame } from '../../streams/types.js';
import { frame } from './synthetic.js';

const run = (frames: PoseFrame[], opts = {}): Promise<FeatureFrame[]> =>
  lastValueFrom(from(frames).pipe(align(), physicalState(), contacts(), phases({ assessment: 'gait' }), features(opts), toArray()));

describe('features', () => {
  it('has a fixed, named column set whatever the options', () => {
    const names = featureNames();
    expect(names).toHaveLength(60 + 60 + 20 + 20);
    expect(new Set(names).size).toBe(names.length);
    expect(names[0]).toBe('pos_root_x');
    expect(names).toContain('avail_head');
    expect(featureNames({ velocities: false, mask: false })).toHaveLength(80);
    expect(featureNames()).toEqual(names);
  });

  it('is finite for every frame, with a deterministic fill and mask for missing joints', async () => {
    const missing = ['head', 'neck', 'left_wrist'] as const;
    const out = await run(Array.from({ length: 5 }, (_, k) => frame(k / 60, { at: [k * 0.01, 0, 0], yaw: 1.2, missing })));
    const names = featureNames();
    for (const f of out) {
      expect(f.features).toHaveLength(names.length);
      expect(f.features.every(Number.isFinite)).toBe(true);
    }
    const col = (n: string) => names.indexOf(n);
    const x = out[4]!.features;
    expect(x[col('avail_head')]).toBe(0);
    expect(x[col('avail_chest')]).toBe(1);
    expect([x[col('pos_head_x')], x[col('pos_head_y')], x[col('pos_head_z')], x[col('vel_head_x')]]).toEqual([0, 0, 0, 0]);
    // Heading frame: the body's left hip is at +x, its toes at +z, whatever the source yaw.
    expect(x[col('pos_left_hip_x')]).toBeCloseTo(0.09, 4);
    expect(x[col('pos_left_toe_z')]).toBeCloseTo(0.15, 4);
    expect(x[col('contact_left')]).toBe(1);
    expect(names.filter((n) => n.startsWith('avail_'))).toHaveLength(JOINTS.length);
  });
});
