import { describe, expect, it } from 'vitest';
import { from, lastValueFrom, toArray } from 'rxjs';
import { sessionPipeline } from '../../streams/session-pipeline.js';
import { StageError } from '../../streams/stage-error.js';
import { eventTiming, summarize } from '../../streams/summary.js';
import type { Annotation, RecordingMeta } from '../../streams/types.js';
import { frame } from './synthetic.js';

const meta = (annotations: Annotation[] = []): RecordingMeta => ({
  provenance: [],
  fps: 60,
  available: [],
  gaps: [],
  annotations,
  phaseLabels: [],
  planes: [],
});

describe('summary', () => {
  it('matches annotations to the nearest detected event of the same type and side within 200 ms', () => {
    const ann: Annotation[] = [
      { type: 'heel_strike', side: 'left', t_s: 1.0, source: 'c3d-event' },
      { type: 'heel_strike', side: 'right', t_s: 1.5, source: 'c3d-event' },
      { type: 'toe_off', side: 'left', t_s: 1.7, source: 'c3d-event' },
      { type: 'heel_strike', side: 'left', t_s: 3.0, source: 'c3d-event' }, // nothing detected near it
      { type: 'heel_strike', side: 'left', t_s: 9.0, source: 'c3d-event' }, // outside the recording
    ];
    const detected = [
      { type: 'heel_strike' as const, side: 'left' as const, t: 1.01 },
      { type: 'heel_strike' as const, side: 'right' as const, t: 1.47 },
      { type: 'heel_strike' as const, side: 'left' as const, t: 1.69 }, // wrong type for the toe-off
      { type: 'toe_off' as const, side: 'left' as const, t: 1.75 },
    ];
    const r = eventTiming(ann, detected, [0, 5]);
    expect(r.annotated).toBe(4);
    expect(r.sources).toEqual(['c3d-event']);
    expect(r.matched).toBe(3);
    expect(r.median_abs_error_ms).toBeCloseTo(30, 6);
    expect(r.mean_error_ms).toBeCloseTo((10 - 30 + 50) / 3, 6);
    expect(r.by_type.toe_off).toEqual({ annotated: 1, matched: 1, median_abs_error_ms: expect.closeTo(50, 6), mean_error_ms: expect.closeTo(50, 6) });
  });

  it('summarises a processed recording in the CLI --json shape', async () => {
    const frames = Array.from({ length: 120 }, (_, k) => frame(k / 60));
    const states = await lastValueFrom(from(frames).pipe(sessionPipeline({ assessment: 'balance' }), toArray()));
    const s = summarize(states, meta());
    expect(s).toMatchObject({
      frames: 120,
      fps: 60,
      floor: { source: 'feet' },
      quality: { passed: true },
      contacts: { left: 1, right: 1 },
      steps: 0,
      overall_cadence_spm: null,
      events: [],
      phases: [{ name: 'static', start_s: 0 }],
      body_height_basis: 'head_joint',
    });
    expect(s.duration_s).toBeCloseTo(119 / 60, 9);
    expect(s.phases[0]!.end_s).toBeCloseTo(119 / 60, 9);
    expect(s.floor.clearance_min_m).toBeCloseTo(0, 3);
    expect(s.body_height_m).toBeCloseTo(1.63, 3);
    expect(s.metrics.sway!.path_length_m).toBeCloseTo(0, 6);
    expect(s.event_timing).toBeUndefined();
    expect(JSON.parse(JSON.stringify(s)).frames).toBe(120);
    expect(() => summarize([], meta())).toThrow(StageError);
  });
});
