import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseC3d } from '../../../streams/adapters/c3d-parse.js';
import { readRecording } from '../../../streams/adapters/read-recording.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';
import { writeC3d } from './c3d-writer.js';
import { count, medianCoord, pos, segment } from './helpers.js';

describe.skipIf(!hasMotionData)('C3D adapter (real recordings)', () => {
  it('Fukuchi: 4500 frames at 150 Hz, 16 right heel strikes from EVENT:LABELS over 0.47–29.40 s', async () => {
    const file = motion('fukuchi-treadmill', 'fukuchi_WBDS19walkT01.c3d');
    const c3d = parseC3d('f', await readFile(file));
    expect(c3d).toMatchObject({ pointCount: 22, frameCount: 4500, rate: 150, firstFrame: 1 });
    expect(c3d.scale).toBeLessThan(0);
    const rec = await readRecording(file);
    expect(rec.meta.provenance[0]).toMatchObject({ format: 'c3d', originalFps: 150, units: 'mm' });
    expect(4499 / 150 - rec.frames.at(-1)!.t).toBeGreaterThanOrEqual(0);
    expect(4499 / 150 - rec.frames.at(-1)!.t).toBeLessThan(1 / 60);
    expect(rec.frames).toHaveLength(Math.floor((4499 / 150) * 60) + 1);
    expect(count(rec, 'heel_strike', 'right')).toBe(16);
    const ts = rec.meta.annotations.map((a) => a.t_s);
    expect(Math.min(...ts)).toBeCloseTo(0.47, 2);
    expect(Math.max(...ts)).toBeCloseTo(29.4, 2);
    expect(rec.meta.annotations.every((a) => a.source === 'c3d-event')).toBe(true);
    expect(rec.meta.available).not.toContain('chest');
    expect(rec.meta.provenance[0]!.jointMap.left_knee).toMatch(/^L\.Knee shifted \d+ mm medially/);
    expect(rec.meta.provenance[0]!.jointMap.left_toe).toBe('mid-point of L.MT1 and L.MT5');
    for (const side of ['left', 'right'] as const) {
      expect(segment(rec, `${side}_hip`, `${side}_knee`)).toBeGreaterThan(0.35);
      expect(segment(rec, `${side}_hip`, `${side}_knee`)).toBeLessThan(0.5);
      expect(segment(rec, `${side}_knee`, `${side}_ankle`)).toBeGreaterThan(0.33);
      expect(segment(rec, `${side}_knee`, `${side}_ankle`)).toBeLessThan(0.5);
    }
    // +x forward, +z right (README) → the left hip is on −z.
    expect(pos(rec, 100, 'left_hip')[2]).toBeLessThan(pos(rec, 100, 'right_hip')[2]);
    expect(medianCoord(rec, 'left_heel', 1)).toBeLessThan(0.12);
  });

  it('Shida: events from EVENT:CONTEXTS, V_* points ignored, full upper body but no head', async () => {
    const cases = [
      { file: 'figshare_pd_SUB05_off_walk_8.c3d', frames: 1809, rhs: 9, lhs: 10 },
      { file: 'figshare_pd_SUB07_off_walk_7.c3d', frames: 2371, rhs: 14, lhs: 14 },
    ];
    for (const c of cases) {
      const rec = await readRecording(motion('shida-pd-gait', c.file));
      expect((c.frames - 1) / 150 - rec.frames.at(-1)!.t).toBeLessThan(1 / 60);
      expect(count(rec, 'heel_strike', 'right')).toBe(c.rhs);
      expect(count(rec, 'heel_strike', 'left')).toBe(c.lhs);
      const ts = rec.meta.annotations.map((a) => a.t_s);
      expect(ts).toEqual([...ts].sort((a, b) => a - b));
      expect(rec.meta.available).toHaveLength(19);
      expect(rec.meta.available).not.toContain('head');
      expect(rec.meta.provenance[0]!.jointMap.right_knee).toBe('mid-point of R.Knee and R.Knee.Medial');
      expect(rec.meta.provenance[0]!.jointMap.right_toe).toBe('R.MT2');
      expect(rec.meta.gaps).toEqual([]);
      expect(segment(rec, 'left_knee', 'left_ankle')).toBeGreaterThan(0.39);
      expect(segment(rec, 'left_knee', 'left_ankle')).toBeLessThan(0.44);
      // Harrington puts SUB07's hip centre ~5 cm low (inter-ASIS 306 mm: soft tissue), so its thigh
      // reads 0.33 m against GTR→knee 0.40 m; the lower bound allows for that documented bias.
      expect(segment(rec, 'left_hip', 'left_knee')).toBeGreaterThan(0.32);
      expect(segment(rec, 'left_hip', 'left_knee')).toBeLessThan(0.5);
      expect(pos(rec, 50, 'left_shoulder')[2]).toBeLessThan(pos(rec, 50, 'right_shoulder')[2]);
      const c7 = medianCoord(rec, 'neck', 1);
      expect(c7).toBeGreaterThan(1.2);
      expect(c7).toBeLessThan(1.5);
    }
  });
});

describe.skipIf(!hasMotionData)('C3D layouts the shared files lack (written from real Shida markers)', () => {
  it('int16 points, z-up lab, standard EVENT layout (Left/Right + Foot Strike/Foot Off), invalid points', async () => {
    const src = parseC3d('s', await readFile(motion('shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d')));
    const keep = src.labels.flatMap((l, i) => (l.startsWith('V_') ? [] : [i]));
    const frames = 300;
    const points = new Float64Array(frames * keep.length * 3);
    for (let f = 0; f < frames; f++) {
      keep.forEach((p, k) => {
        const o = (f * src.pointCount + p) * 3;
        // y-up (x, y, z) → z-up lab (x, −z, y): the adapter must undo exactly this.
        points.set([src.points[o]!, -src.points[o + 2]!, src.points[o + 1]!], (f * keep.length + k) * 3);
      });
    }
    const heelIdx = keep.indexOf(src.labels.indexOf('R.Heel'));
    for (let f = 100; f < 104; f++) points[(f * keep.length + heelIdx) * 3] = NaN; // 4 invalid frames
    const bytes = writeC3d({
      labels: keep.map((p) => src.labels[p]!),
      points,
      frames,
      rate: 150,
      scale: 0.2,
      events: [
        { context: 'Right', label: 'Foot Strike', t: 1.5 },
        { context: 'Left', label: 'Foot Off', t: 0.25 },
      ],
    });
    const dir = await mkdtemp(join(tmpdir(), 'adapters-c3d-'));
    try {
      const path = join(dir, 'zup.c3d');
      await writeFile(path, bytes);
      const rec = await readRecording(path, { fps: 150 });
      const ref = await readRecording(motion('shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d'), { fps: 150 });
      expect(rec.meta.provenance[0]!.axes).toMatch(/z up/);
      expect(rec.meta.provenance[0]!.notes[0]).toMatch(/int16 × 0\.2/);
      for (const j of ['left_hip', 'right_knee', 'left_toe', 'right_wrist'] as const) {
        const a = pos(rec, 50, j);
        const b = pos(ref, 50, j);
        a.forEach((v, c) => expect(Math.abs(v - b[c]!)).toBeLessThan(0.001));
      }
      expect(rec.meta.annotations).toEqual([
        { type: 'toe_off', side: 'left', t_s: expect.closeTo(0.25, 5) as unknown as number, source: 'c3d-event' },
        { type: 'heel_strike', side: 'right', t_s: expect.closeTo(1.5, 5) as unknown as number, source: 'c3d-event' },
      ]);
      // A capture starting at frame 70001 (past the header's 16-bit word, which holds 70001 mod 65536):
      // event times count from the capture's frame 1, so they are offset by TRIAL:ACTUAL_START_FIELD.
      const late = join(dir, 'late.c3d');
      const start = 70001;
      await writeFile(
        late,
        writeC3d({
          labels: keep.map((p) => src.labels[p]!),
          points,
          frames,
          rate: 150,
          scale: 0.2,
          headerFirstFrame: start % 65536,
          actualStart: start,
          events: [{ context: 'Right', label: 'Foot Strike', t: (start - 1) / 150 + 1.5 }],
        }),
      );
      const lateRec = await readRecording(late, { fps: 150 });
      expect(lateRec.meta.annotations.map((a) => a.t_s)).toEqual([expect.closeTo(1.5, 4)]);
      expect(lateRec.meta.provenance[0]!.notes[0]).toMatch(/frames 70001–70300/);
      // 4 frames at 150 Hz = 0.027 s: a short gap, interpolated and reported.
      expect(rec.meta.gaps).toEqual([
        {
          joint: 'right_heel',
          start_s: expect.closeTo(100 / 150, 6) as unknown as number,
          end_s: expect.closeTo(103 / 150, 6) as unknown as number,
          filled: true,
        },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
