// Normative reference values the dashboard compares live metrics with, each with its source. One table,
// so a clinician (or a reviewer) can check every number against the paper it comes from. Values are
// the published means/cut-offs; where a paper stratifies by age and sex, the therapist picks the
// patient's band in the session view (nothing about age or sex travels with the session).

export type Sex = 'female' | 'male';

export interface Source {
  readonly id: string;
  readonly cite: string;
}

export const SOURCES = {
  bohannon2011: {
    id: 'bohannon2011',
    cite: 'Bohannon RW, Andrews AW. Normal walking speed: a descriptive meta-analysis. Physiotherapy 2011;97(3):182–189.',
  },
  perry1995: {
    id: 'perry1995',
    cite: 'Perry J, Garrett M, Gronley JK, Mulroy SJ. Classification of walking handicap in the stroke population. Stroke 1995;26(6):982–989.',
  },
  bohannon2006: {
    id: 'bohannon2006',
    cite: 'Bohannon RW. Reference values for the five-repetition sit-to-stand test: a descriptive meta-analysis of data from elders. Percept Mot Skills 2006;103(1):215–222.',
  },
  buatois2008: {
    id: 'buatois2008',
    cite: 'Buatois S, Miljkovic D, Manckoundia P, et al. Five times sit to stand test is a predictor of recurrent falls in healthy community-living subjects aged 65 and older. J Am Geriatr Soc 2008;56(8):1575–1577.',
  },
  perryBurnfield2010: {
    id: 'perryBurnfield2010',
    cite: 'Perry J, Burnfield JM. Gait Analysis: Normal and Pathological Function, 2nd ed. SLACK; 2010 (normal adult walking: stance ≈ 60 % of the gait cycle; knee ≈ 60° peak flexion in swing; hip ≈ 30° peak flexion).',
  },
} as const satisfies Record<string, Source>;

/** Comfortable gait speed (m/s), mean by age decade and sex: Bohannon & Andrews 2011,. */
export const GAIT_SPEED_BY_AGE: readonly { readonly from: number; readonly to: number; readonly male: number; readonly female: number }[] = [
  { from: 20, to: 29, male: 1.358, female: 1.341 },
  { from: 30, to: 39, male: 1.433, female: 1.337 },
  { from: 40, to: 49, male: 1.434, female: 1.39 },
  { from: 50, to: 59, male: 1.433, female: 1.313 },
  { from: 60, to: 69, male: 1.339, female: 1.241 },
  { from: 70, to: 79, male: 1.262, female: 1.132 },
  { from: 80, to: 99, male: 0.968, female: 0.943 },
];

/** Five-times-sit-to-stand time (s), mean by age decade (both sexes): Bohannon 2006. */
export const FTSTS_BY_AGE: readonly { readonly from: number; readonly to: number; readonly s: number }[] = [
  { from: 60, to: 69, s: 11.4 },
  { from: 70, to: 79, s: 12.6 },
  { from: 80, to: 89, s: 14.8 },
];

export interface Profile {
  /** Age band start (e.g. 70 for 70–79), or undefined when the therapist has not set it. */
  readonly ageFrom?: number;
  readonly sex?: Sex;
}

export type Verdict = 'within' | 'below' | 'above' | 'no-reference';

export interface NormCheck {
  /** What the value is compared with, in words with units. */
  readonly reference: string;
  readonly verdict: Verdict;
  readonly sources: readonly Source[];
}

export interface MetricNorm {
  /** Wire metric name (update.metrics key). */
  readonly key: string;
  readonly label: string;
  readonly unit: string;
  /** How the server computes it (README "How a frame becomes a physical state"). */
  readonly definition: string;
  readonly check: (value: number, profile: Profile) => NormCheck;
}

const band = <T extends { from: number; to: number }>(rows: readonly T[], ageFrom: number | undefined): T | undefined =>
  ageFrom === undefined ? undefined : rows.find((r) => ageFrom >= r.from && ageFrom <= r.to);

export const METRIC_NORMS: readonly MetricNorm[] = [
  {
    key: 'gait_speed_mps',
    label: 'Gait speed',
    unit: 'm/s',
    definition: 'root displacement on the floor plane over the walking time (null on a treadmill)',
    check: (v, p) => {
      const row = band(GAIT_SPEED_BY_AGE, p.ageFrom);
      const mean = row && p.sex ? row[p.sex] : undefined;
      // Perry 1995's community-ambulation threshold applies at any age; the age/sex mean when set.
      if (v < 0.8) {
        return {
          reference: `< 0.8 m/s: limited community ambulation${mean ? `; age/sex mean ${mean.toFixed(2)} m/s` : ''}`,
          verdict: 'below',
          sources: [SOURCES.perry1995, SOURCES.bohannon2011],
        };
      }
      if (mean === undefined)
        return { reference: '≥ 0.8 m/s community ambulation (set age and sex for the age mean)', verdict: 'within', sources: [SOURCES.perry1995] };
      return {
        reference: `age/sex mean ${mean.toFixed(2)} m/s (${row!.from}–${row!.to}, ${p.sex})`,
        verdict: v < 0.8 * mean ? 'below' : 'within',
        sources: [SOURCES.bohannon2011, SOURCES.perry1995],
      };
    },
  },
  {
    key: 'five_times_sit_to_stand_s',
    label: 'Five-times sit-to-stand',
    unit: 's',
    definition: 'time from the start of the first rise to the end of the fifth',
    check: (v, p) => {
      const row = band(FTSTS_BY_AGE, p.ageFrom);
      const ref = row ? `age mean ${row.s} s (${row.from}–${row.to}); ≥ 15 s: recurrent-fall risk` : '≥ 15 s: recurrent-fall risk (set age for the age mean)';
      return {
        reference: ref,
        verdict: v >= 15 || (row !== undefined && v > row.s * 1.25) ? 'above' : 'within',
        sources: [SOURCES.bohannon2006, SOURCES.buatois2008],
      };
    },
  },
  {
    key: 'stance_pct_left',
    label: 'Stance, left',
    unit: '% of gait cycle',
    definition: 'stance time / stride time of the left foot, from detected foot contacts',
    check: (v) => ({ reference: '≈ 60 % in normal walking', verdict: v < 55 ? 'below' : v > 65 ? 'above' : 'within', sources: [SOURCES.perryBurnfield2010] }),
  },
  {
    key: 'stance_pct_right',
    label: 'Stance, right',
    unit: '% of gait cycle',
    definition: 'stance time / stride time of the right foot, from detected foot contacts',
    check: (v) => ({ reference: '≈ 60 % in normal walking', verdict: v < 55 ? 'below' : v > 65 ? 'above' : 'within', sources: [SOURCES.perryBurnfield2010] }),
  },
  {
    key: 'peak_knee_flexion_deg',
    label: 'Peak knee flexion',
    unit: '°',
    definition: 'largest knee flexion (thigh–shank angle from straight) since the session began',
    check: (v) => ({ reference: '≈ 60° in swing (normal walking)', verdict: v < 50 ? 'below' : 'within', sources: [SOURCES.perryBurnfield2010] }),
  },
];

/** Metrics shown without a reference (still with unit and definition). */
export const OTHER_METRICS: readonly { readonly key: string; readonly label: string; readonly unit: string; readonly definition: string }[] = [
  { key: 'cadence_spm', label: 'Cadence', unit: 'steps/min', definition: 'steps per minute over the last 12 heel strikes (both feet)' },
  { key: 'steps', label: 'Steps', unit: 'count', definition: 'heel strikes since the session began' },
  { key: 'step_time_asymmetry_pct', label: 'Step-time asymmetry', unit: '%', definition: '|left − right| / mean step time over the last 6 steps per side' },
  { key: 'reps', label: 'Repetitions', unit: 'count', definition: 'completed squat / sit-to-stand repetitions' },
  { key: 'squat_depth_m', label: 'Squat depth', unit: 'm', definition: 'root height drop from standing to the bottom of the last rep' },
  { key: 'sway_path_length_m', label: 'Sway path', unit: 'm', definition: 'centre-of-mass path length on the floor plane' },
  { key: 'sway_area95_m2', label: 'Sway area (95 %)', unit: 'm²', definition: '95 % confidence ellipse of the centre of mass on the floor plane' },
];
