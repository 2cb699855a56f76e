// The assessment's metrics as a clinician reads them: value, unit, definition (where the number comes
// from in this system) and, where the literature gives one for healthy adults, a normative range with its
// source. A range is a reading aid, not a diagnosis: it says where the value sits against a published
// population, nothing about this patient's goals.
import type { Metrics } from '../../streams/metrics.js';
import type { Assessment } from '../../streams/types.js';

export interface Normative {
  readonly low: number | null;
  readonly high: number | null;
  readonly source: string;
}

export interface MetricRow {
  readonly key: string;
  readonly label: string;
  readonly value: number | null;
  readonly unit: string;
  readonly definition: string;
  readonly normative: Normative | null;
  readonly status: 'within' | 'below' | 'above' | null;
}

const DEF = {
  cadence: 'heel strikes per minute over the last 12 strikes (streams/metrics.ts)',
  speed: "root path length on the floor between the window's first and last heel strike ÷ time (overground only)",
  asym: '200·|L − R| / (L + R) of the mean step times per side (last 6 steps)',
  stance: 'toe-off − heel strike over the stride time, mean of the last 6 strides',
  step: 'time from the other foot’s heel strike to this foot’s heel strike, mean of the last 6',
  depth: 'largest root drop below standing height during the last squat rep',
  kneeBottom: 'knee flexion (180° − hip–knee–ankle angle, mean of sides) at the deepest point of the last rep',
  sts5: 'start of the first to end of the fifth rising rep',
  rep: 'mean duration of completed reps',
  swayPath: 'centre-of-mass path length on the floor plane (de Leva 1996 segment model)',
  swayArea: '95 % confidence ellipse of the CoM on the floor: π·5.991·√det Σ',
  peakKnee: 'largest knee flexion of either side in the session',
} as const;

function row(key: string, label: string, value: number | null, unit: string, definition: string, normative: Normative | null): MetricRow {
  const status =
    value === null || normative === null
      ? null
      : normative.low !== null && value < normative.low
        ? 'below'
        : normative.high !== null && value > normative.high
          ? 'above'
          : 'within';
  return { key, label, value: value !== null && Number.isFinite(value) ? value : null, unit, definition, normative, status };
}

const mean = (a: readonly number[]): number | null => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : null);

export function metricRows(assessment: Assessment, m: Metrics): MetricRow[] {
  switch (assessment) {
    case 'gait':
      return [
        row('cadence_spm', 'Cadence', m.cadence_spm, 'steps/min', DEF.cadence, {
          low: 100,
          high: 120,
          source: 'Hollman et al. 2011, Gait Posture 34(1):111–118 (healthy older adults, ≈ mean ± 1 SD)',
        }),
        row('gait_speed_mps', 'Gait speed', m.gait_speed_mps, 'm/s', DEF.speed, {
          low: 1.0,
          high: 1.4,
          source:
            'Bohannon & Andrews 2011, Physiotherapy 97(3):182–189 (normal speed, adults 20–79); < 1.0 m/s flags risk (Studenski et al. 2011, JAMA 305:50–58)',
        }),
        row('step_time_asymmetry_pct', 'Step-time asymmetry', m.step_time_asymmetry_pct, '%', DEF.asym, {
          low: null,
          high: 6,
          source: 'Patterson et al. 2010, Gait Posture 31(2):241–246 (symmetry ratio > 1.06 is asymmetric ≈ 6 % here)',
        }),
        row('stance_pct_left', 'Stance, left', m.stance_pct.left, '% of stride', DEF.stance, {
          low: 58,
          high: 62,
          source: 'Perry & Burnfield 2010, Gait Analysis 2nd ed. (stance ≈ 60 %)',
        }),
        row('stance_pct_right', 'Stance, right', m.stance_pct.right, '% of stride', DEF.stance, {
          low: 58,
          high: 62,
          source: 'Perry & Burnfield 2010, Gait Analysis 2nd ed. (stance ≈ 60 %)',
        }),
        row('step_time_left_s', 'Step time, left', m.step_time_s.left, 's', DEF.step, null),
        row('step_time_right_s', 'Step time, right', m.step_time_s.right, 's', DEF.step, null),
        row('peak_knee_flexion_deg', 'Peak knee flexion', m.peak_knee_flexion_deg, 'deg', DEF.peakKnee, {
          low: 55,
          high: 70,
          source: 'Perry & Burnfield 2010 (peak swing knee flexion ≈ 60°)',
        }),
      ];
    case 'squat':
      return [
        row('squat_depth_m', 'Squat depth (root drop)', m.squat_depth_m, 'm', DEF.depth, null),
        row('squat_knee_flexion_deg', 'Knee flexion at the bottom', m.squat_knee_flexion_deg, 'deg', DEF.kneeBottom, {
          low: 120,
          high: null,
          source: 'Hemmerich et al. 2006, J Orthop Res 24(4):770–781 (deep squat knee flexion well beyond 120°)',
        }),
        row('reps', 'Repetitions', m.reps, 'count', 'completed standing → descent → bottom → ascent → standing cycles', null),
        row('rep_time_s', 'Mean rep time', mean(m.rep_times_s), 's', DEF.rep, null),
      ];
    case 'sit_to_stand':
      return [
        row('five_times_sit_to_stand_s', 'Five-times sit-to-stand', m.five_times_sit_to_stand_s, 's', DEF.sts5, {
          low: null,
          high: 12,
          source: 'Bohannon 2006, Percept Mot Skills 103:215–222 (11.4 s at 60–69 y); > 12 s flags fall risk (Tiedemann et al. 2008, Age Ageing 37:430–435)',
        }),
        row('reps', 'Repetitions', m.reps, 'count', 'completed rising reps', null),
        row('rep_time_s', 'Mean rep time', mean(m.rep_times_s), 's', DEF.rep, null),
      ];
    case 'balance':
      return [
        row('sway_path_m', 'Sway path length', m.sway?.path_length_m ?? null, 'm', DEF.swayPath, null),
        row('sway_area95_m2', 'Sway area (95 % ellipse)', m.sway?.area95_m2 ?? null, 'm²', DEF.swayArea, null),
        row('sway_duration_s', 'Duration analysed', m.sway?.duration_s ?? null, 's', 'time span of the CoM samples', null),
      ];
  }
}
