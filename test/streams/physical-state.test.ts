import { describe, expect, it } from 'vitest';
import { from, lastValueFrom, toArray } from 'rxjs';
import { align } from '../../streams/align.js';
import { DE_LEVA_MALE, LOWER_BODY, centreOfMass } from '../../streams/body-model.js';
import { type PhysicalState, physicalState } from '../../streams/physical-state.js';
import { JOINT_INDEX } from '../../streams/skeleton.js';
import type { PoseFrame } from '../../streams/types.js';
import { BODY, FOOT_Y, frame, pose } from './synthetic.js';

const run = (frames: PoseFrame[]): Promise<PhysicalState[]> => lastValueFrom(from(frames).pipe(align(), physicalState(), toArray()));
const v = (s: PhysicalState, name: keyof typeof JOINT_INDEX): [number, number, number] => {
  const i = 3 * JOINT_INDEX[name];
  return [s.velocities[i]!, s.velocities[i + 1]!, s.velocities[i + 2]!];
};

describe('physicalState', () => {
  it('differences positions over the frames own (uneven) timestamps; first frame zero and flagged', async () => {
    const ts = [0, 0.02, 0.05, 0.06];
    const out = await run(ts.map((t) => frame(t, { at: [0, 0, 0.8 * t] }))); // walks +z at 0.8 m/s
    expect(out[0]!.velocityValid).toBe(false);
    expect(v(out[0]!, 'root')).toEqual([0, 0, 0]);
    for (const s of out.slice(1)) {
      expect(s.velocityValid).toBe(true);
      expect(v(s, 'left_knee')[2]).toBeCloseTo(0.8, 3);
      expect(v(s, 'left_knee')[1]).toBeCloseTo(0, 4);
      expect(s.comVelocity![2]).toBeCloseTo(0.8, 3);
    }
    expect(out[2]!.dt).toBeCloseTo(0.03, 9);
  });

  it('does not turn the one-time forward fix into a velocity spike', async () => {
    // Side-steps along +x at 1 m/s: at 0.5 m the world frame turns by 90°; velocity must stay 1 m/s.
    const out = await run(Array.from({ length: 45 }, (_, i) => frame(i / 60, { at: [i / 60, 0, 0] })));
    const fixAt = out.findIndex((s) => s.forwardSource === 'travel');
    expect(fixAt).toBe(30);
    for (const s of out.slice(1)) expect(Math.hypot(v(s, 'root')[0], v(s, 'root')[2])).toBeCloseTo(1, 3);
  });

  it('uses de Leva 1996 segment masses (sum 1) and falls back to a labelled lower-body model', () => {
    expect(DE_LEVA_MALE.reduce((a, s) => a + s.mass, 0)).toBeCloseTo(1, 3);
    const full = centreOfMass(pose());
    expect(full.model).toBe('full');
    expect(full.position![0]).toBeCloseTo(0, 6); // symmetric pose
    expect(full.position![1]).toBeGreaterThan(0.85); // near the pelvis, above the hips for this pose
    expect(full.position![1]).toBeLessThan(1.15);
    const lower = centreOfMass(
      pose({ missing: ['chest', 'neck', 'head', 'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist'] }),
    );
    expect(lower.model).toBe('lower-body');
    expect(lower.massCovered).toBeCloseTo(1, 6);
    // Hand-computed: pelvis at the root + thighs, shanks, feet (renormalised).
    const y =
      (0.1117 * 0.95 + 2 * (0.1416 * (0.95 - 0.4095 * 0.43) + 0.0433 * (0.52 - 0.4459 * 0.43) + 0.0137 * FOOT_Y)) / LOWER_BODY.reduce((a, s) => a + s.mass, 0);
    expect(lower.position![1]).toBeCloseTo(y, 6);
    const armless = centreOfMass(pose({ missing: ['left_wrist'] }));
    expect(armless.model).toBe('partial');
    const noPelvis = centreOfMass(pose({ missing: ['root', 'left_hip', 'right_hip'] }));
    expect(noPelvis.model).toBe('lower-body'); // shanks and feet only, and it says how little that is
    expect(noPelvis.massCovered).toBeLessThan(0.3);
    const armsOnly = pose({
      missing: [
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
        'neck',
      ],
    });
    expect(centreOfMass(armsOnly)).toEqual({ position: null, model: 'none', massCovered: 0 });
  });

  it('measures knee and hip flexion in degrees', async () => {
    // Left thigh horizontal forward, shank vertical: hip 90°, knee 90°. Right leg straight: 0°, 0°.
    const joints = { left_knee: [0.09, 0.95, 0.43] as [number, number, number], left_ankle: [0.09, 0.52, 0.43] as [number, number, number] };
    const [s] = await run([frame(0, { joints })]);
    expect(s!.angles.kneeFlexion.left).toBeCloseTo(90, 4);
    expect(s!.angles.hipFlexion.left).toBeCloseTo(90, 4);
    expect(s!.angles.kneeFlexion.right).toBeCloseTo(0, 4);
    expect(s!.angles.hipFlexion.right).toBeCloseTo(0, 4);
    // Extension (knee behind the hip) is negative.
    const [e] = await run([frame(0, { joints: { right_knee: [-0.09, 0.95 - 0.43 * Math.cos(0.3), -0.43 * Math.sin(0.3)] } })]);
    expect(e!.angles.hipFlexion.right).toBeCloseTo((-0.3 * 180) / Math.PI, 3);
    expect(BODY.root[1]).toBe(0.95);
  });
});
