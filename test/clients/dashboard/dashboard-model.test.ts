// The dashboard's data model, run in Node: state normalisation, per-session history (safety: refuses
// other sessions), flagging, CoM speed, the clinic store's lifecycle, and the normative checks.
import { describe, expect, it } from 'vitest';
import { ClinicStore, MAX_REPORTS, PRESENCE_TIMEOUT_MS } from '../../../clients/dashboard/src/clinic-store.js';
import { finishedList } from '../../../clients/dashboard/src/clinic-view.js';
import { GAIT_SPEED_BY_AGE, METRIC_NORMS } from '../../../clients/dashboard/src/norms.js';
import { SessionHistory, toState } from '../../../clients/dashboard/src/session-state.js';
import { viewDirection } from '../../../clients/dashboard/src/skeleton-view.js';
import type { Update } from '../../../src/protocol/index.js';
import { JOINT_INDEX, type JointName } from '../../../streams/skeleton.js';

/** A standing pose facing +x (left hip at z = −0.1·facing), moved by `dz` along z. */
function pose(facing: 1 | -1 = 1, dz = 0): Float32Array {
  const j = new Float32Array(60).fill(Number.NaN);
  const set = (n: JointName, x: number, y: number, z: number) => j.set([x, y, z + dz], JOINT_INDEX[n] * 3);
  set('root', 0, 0.9, 0);
  set('left_hip', 0, 0.9, -0.1 * facing);
  set('right_hip', 0, 0.9, 0.1 * facing);
  set('left_knee', 0, 0.5, -0.1 * facing);
  set('right_knee', 0, 0.5, 0.1 * facing);
  set('left_ankle', 0, 0.08, -0.1 * facing);
  set('right_ankle', 0, 0.08, 0.1 * facing);
  set('left_toe', 0.15 * facing, 0.02, -0.1 * facing);
  set('right_toe', 0.15 * facing, 0.02, 0.1 * facing);
  return j;
}

function update(sessionId: string, seq: number, extra: Partial<Update> & Record<string, unknown> = {}): Update {
  return {
    type: 'update',
    sessionId,
    seq,
    t: seq / 30,
    joints: pose(1, seq / 30), // walking along +z at 1 m/s
    phase: 'stance',
    contacts: { left: true, right: false },
    metrics: { knee_flexion_deg_left: 10, knee_flexion_deg_right: 12 },
    uncertainty: 0.1,
    surprise: 0.2,
    ...extra,
  } as Update;
}

describe('toState', () => {
  it('reads per-horizon predictions (dropping ones without a pose) and the legacy single prediction', () => {
    const p = pose();
    const s = toState(update('s1', 1, { predictions: [{ h: 10, uncertainty: 0.3, pose: p }, { h: 30 }] }));
    expect(s.predictions).toEqual([{ h: 10, uncertainty: 0.3, pose: p }]);
    const legacy = toState(update('s1', 2, { prediction: p }));
    expect(legacy.predictions).toEqual([{ h: null, uncertainty: 0.1, pose: p }]);
    expect(toState(update('s1', 3)).predictions).toEqual([]);
  });
});

describe('SessionHistory', () => {
  it('refuses states of another session and duplicates, and keeps only maxSeconds', () => {
    const h = new SessionHistory('s1', 2);
    expect(h.push(toState(update('s2', 1)))).toBeUndefined();
    expect(h.refused).toBe(1);
    for (let q = 0; q < 120; q++) h.push(toState(update('s1', q)));
    expect(h.push(toState(update('s1', 50)))).toBeUndefined(); // older than the newest: a snapshot overlap
    expect(h.all.every((x) => 119 / 30 - x.t <= 2 + 1e-9)).toBe(true);
    expect(h.length).toBeLessThan(70);
    expect(h.t0).toBe(0);
  });

  it('flags uncertainty/surprise above median + 3 robust SD of the session, once a baseline exists', () => {
    const h = new SessionHistory('s1');
    const at = (q: number, surprise: number) => h.push(toState(update('s1', q, { surprise, uncertainty: 0.1 + (q % 5) * 0.001 })));
    expect(at(0, 5)?.flagSurprise).toBe(false); // no baseline yet
    for (let q = 1; q < 90; q++) at(q, 0.2 + (q % 3) * 0.01);
    expect(at(90, 0.22)?.flagSurprise).toBe(false);
    const spike = at(91, 1.5);
    expect(spike?.flagSurprise).toBe(true);
    expect(spike?.flagUncertainty).toBe(false);
    expect(h.flagged().map((f) => f.t)).toEqual([91 / 30]);
    expect(h.recentlyFlagged(1)).toBe(true);
  });

  it('computes the horizontal centre-of-mass speed from the joints (1 m/s walk)', () => {
    const h = new SessionHistory('s1');
    let last: number | null = null;
    for (let q = 0; q < 60; q++) last = h.push(toState(update('s1', q)))?.comSpeed ?? null;
    expect(last).toBeCloseTo(1, 2);
    expect(h.comModel).toBe('lower-body');
  });
});

describe('ClinicStore', () => {
  it('tracks sessions from the clinic stream; ended sessions stay ended; reset and presence timeout clear live ones', () => {
    let now = 0;
    const store = new ClinicStore(() => now);
    store.apply(update('s1', 1));
    expect(store.live.get('s1')?.info).toBeUndefined(); // not shown until we know whose it is
    const started = { type: 'session.started', sessionId: 's1', clinic: 'c1', patientId: 'p1', assessment: 'gait', startedAt: 1 } as const;
    store.apply(started);
    expect(store.live.get('s1')?.info?.patientId).toBe('p1');
    expect(store.live.get('s1')?.latest?.seq).toBe(1);
    store.apply({ type: 'session.ended', sessionId: 's1', frames: 10 });
    expect(store.live.has('s1')).toBe(false);
    expect(store.ended.get('s1')).toMatchObject({ frames: 10, info: { patientId: 'p1' } });
    store.apply(started); // a late presence beat
    store.apply(update('s1', 2));
    expect(store.live.has('s1')).toBe(false);
    store.apply({ ...started, sessionId: 's2' });
    now += PRESENCE_TIMEOUT_MS - 1;
    expect(store.expire()).toEqual([]);
    now += 2;
    expect(store.expire()).toEqual(['s2']);
    store.apply({ ...started, sessionId: 's3' });
    store.reset();
    expect(store.live.size).toBe(0);
    expect(store.ended.size).toBe(1);
  });

  it('taskpack.ready puts the report link on the finished session at once (ended here or listed by the server), bounded', () => {
    let now = Date.parse('2026-01-01T10:00:00Z');
    const store = new ClinicStore(() => now);
    const started = { type: 'session.started', sessionId: 's1', clinic: 'c1', patientId: 'p1', assessment: 'gait', startedAt: now } as const;
    store.apply(started);
    now += 60_000;
    store.apply({ type: 'session.ended', sessionId: 's1', frames: 10 });
    const listed = { sessionId: 's0', patientId: 'p0', assessment: 'squat', startedAt: '2026-01-01T09:00:00.000Z', endedAt: '2026-01-01T09:01:00.000Z' };
    expect(finishedList(store, [listed]).map((f) => [f.sessionId, f.taskpack])).toEqual([
      ['s1', undefined],
      ['s0', undefined],
    ]);
    expect(store.apply({ type: 'taskpack.ready', taskpackId: 'tp-1', sessionId: 's1', patientId: 'p1', clinic: 'c1' })).toBe('s1');
    store.apply({ type: 'taskpack.ready', taskpackId: 'tp-0', sessionId: 's0', patientId: 'p0', clinic: 'c1' });
    expect(finishedList(store, [listed]).map((f) => [f.sessionId, f.patientId, f.taskpack])).toEqual([
      ['s1', 'p1', 'tp-1'],
      ['s0', 'p0', 'tp-0'],
    ]);
    // The server's own pack for a session wins over an announcement; a disconnect keeps reports.
    expect(finishedList(store, [{ ...listed, taskpack: 'tp-server' }]).find((f) => f.sessionId === 's0')?.taskpack).toBe('tp-server');
    store.reset();
    expect(store.reports.get('s1')).toBe('tp-1');
    for (let i = 0; i < MAX_REPORTS + 10; i++)
      store.apply({ type: 'taskpack.ready', taskpackId: `tp-x${i}`, sessionId: `x${i}`, patientId: 'p', clinic: 'c1' });
    expect(store.reports.size).toBe(MAX_REPORTS);
    expect(store.reports.has('s1')).toBe(false); // oldest dropped first
    expect(store.reports.get(`x${MAX_REPORTS + 9}`)).toBe(`tp-x${MAX_REPORTS + 9}`);
  });
});

describe('norms', () => {
  const gait = METRIC_NORMS.find((n) => n.key === 'gait_speed_mps')!;
  const sts = METRIC_NORMS.find((n) => n.key === 'five_times_sit_to_stand_s')!;
  it('gait speed: below 0.8 m/s at any age; else against the age/sex mean of Bohannon & Andrews 2011', () => {
    expect(gait.check(0.6, {}).verdict).toBe('below');
    expect(gait.check(1.0, {}).verdict).toBe('within');
    const male70 = GAIT_SPEED_BY_AGE.find((r) => r.from === 70)!.male;
    expect(gait.check(0.79 * male70, { ageFrom: 70, sex: 'male' }).verdict).toBe('below');
    expect(gait.check(male70, { ageFrom: 70, sex: 'male' })).toMatchObject({ verdict: 'within', reference: expect.stringContaining(male70.toFixed(2)) });
    expect(gait.check(1.2, { ageFrom: 70, sex: 'male' }).sources.map((s) => s.id)).toContain('bohannon2011');
  });
  it('five-times sit-to-stand: ≥ 15 s flags fall risk; the age mean when set', () => {
    expect(sts.check(16, {}).verdict).toBe('above');
    expect(sts.check(12, { ageFrom: 70 })).toMatchObject({ verdict: 'within', reference: expect.stringContaining('12.6 s') });
  });
});

describe('viewDirection', () => {
  it('is the body forward direction signed by the feet, smoothed against the previous view', () => {
    const [x, z] = viewDirection(pose(1));
    expect(x).toBeCloseTo(1, 6);
    expect(Math.abs(z)).toBeLessThan(1e-6);
    expect(viewDirection(pose(-1))[0]).toBeCloseTo(-1, 6);
    const turned = viewDirection(pose(1), [0, 1]);
    expect(turned[1]).toBeGreaterThan(0.9);
    expect(Math.hypot(...turned)).toBeCloseTo(1, 6);
    expect(viewDirection(new Float32Array(60).fill(Number.NaN), [0.6, 0.8])).toEqual([0.6, 0.8]);
  });
});
