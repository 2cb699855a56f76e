// Skin markers → canonical joint centres, by the standard estimate for the marker set.
// Markers are looked up by NAME through normalised aliases (OpenSim "R.ASIS", AddBiomechanics
// "R_ASIS", Plug-in Gait "RASI", Leardini "R.Knee.Medial"), never by column.
import { AdapterError, AdapterErrorCode } from '../errors.js';
import { JOINT_COUNT, JOINT_INDEX, SIDES, type JointName, type Side } from '../skeleton.js';
import { nanJoints } from './common.js';
import type { JointTrack } from './resample.js';
import { add, at, cross, finite, frameOf, median, mid, norm, put, scale, sub, toLocal, toWorld, unit, type V3 } from './vec.js';

/** Marker trajectories in metres, y up, right-handed; NaN = missing. */
export interface MarkerData {
  readonly times: Float64Array;
  /** Name as in the file → n × 3. */
  readonly markers: ReadonlyMap<string, Float64Array>;
}

export interface JointEstimate {
  readonly track: JointTrack;
  readonly jointMap: Partial<Record<JointName, string>>;
  readonly notes: string[];
}

const normalise = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]/g, '');

// Knee/ankle widths are not in these files; a fraction of the inter-ASIS width (adult ≈ 0.25 m →
// knee ≈ 0.10 m, ankle ≈ 0.07 m) scales with the subject, plus the marker radius (≈ 7 mm) because
// the marker centre sits off the skin.
const KNEE_HALF_WIDTH_PER_PW = 0.2;
const ANKLE_HALF_WIDTH_PER_PW = 0.13;
const MARKER_RADIUS_M = 0.007;
/** Upper ends of the adult pelvis width/depth range the hip regression was fitted on. */
const PW_MAX_MM = 300;
const PD_MAX_MM = 200;

class Lookup {
  private readonly byNorm = new Map<string, { name: string; data: Float64Array }>();
  constructor(data: MarkerData) {
    for (const [name, arr] of data.markers) {
      const key = normalise(name);
      if (!this.byNorm.has(key)) this.byNorm.set(key, { name, data: arr }); // first match wins (Shida's duplicate V_R.TT)
    }
  }
  /** First alias present (side prefix "l"/"r" added when given) with at least one finite sample. */
  find(aliases: readonly string[], side?: Side): { name: string; data: Float64Array } | undefined {
    for (const a of aliases) {
      const hit = this.byNorm.get((side ? side.charAt(0) : '') + a);
      if (hit && hit.data.some(Number.isFinite)) return hit;
    }
    return undefined;
  }
}

const A = {
  asis: ['asis', 'asi'],
  psis: ['psis', 'psi'],
  sacrum: ['vsacral', 'sacral', 'sacrum', 'sacr'],
  kneeLat: ['kneelat', 'knee', 'kne', 'lfe'],
  kneeMed: ['kneemed', 'kneemedial', 'mfe'],
  ankleLat: ['anklelat', 'ankle', 'ank', 'lmal'],
  ankleMed: ['anklemed', 'anklemedial', 'mmal'],
  heel: ['heel', 'hee', 'cal'],
  toe: ['toetip', 'mt2', 'toe', 'ttoe'],
  toePairs: [
    ['mt1', 'mt5'],
    ['toemed', 'toelat'],
    ['fm1', 'fm5'],
  ],
  shoulder: ['sho', 'acromium', 'acromion', 'shoulder', 'sae'],
  elbowLat: ['elbowlat', 'el', 'elb', 'elbow', 'hle'],
  elbowMed: ['elbowmed', 'em', 'hme'],
  wristPairs: [
    ['wristlat', 'wristmed'],
    ['wl', 'wm'],
    ['wra', 'wrb'],
    ['rsp', 'usp'],
  ],
  thighCluster: ['thighupper', 'thighfront', 'thighrear'],
  shankCluster: ['shankupper', 'shankfront', 'shankrear'],
} as const;

interface Ctx {
  readonly n: number;
  readonly file: string;
  readonly look: Lookup;
  readonly stat: Lookup | undefined;
  readonly joints: Float64Array;
  readonly jointMap: Partial<Record<JointName, string>>;
  readonly notes: string[];
}

function setJoint(ctx: Ctx, joint: JointName, how: string, f: (i: number) => V3): void {
  const k = JOINT_INDEX[joint];
  for (let i = 0; i < ctx.n; i++) put(ctx.joints, i * JOINT_COUNT + k, f(i));
  ctx.jointMap[joint] = how;
}

const getJoint = (ctx: Ctx, joint: JointName, i: number): V3 => at(ctx.joints, i * JOINT_COUNT + JOINT_INDEX[joint]);

/**
 * Rigid-cluster calibration from a static trial: the joint centre (mid-point of lateral and medial
 * markers in the static pose) is stored in the cluster's frame and carried by the cluster in motion.
 * This is how OpenSim's walk trial, which has no knee/ankle markers, gets knee and ankle centres.
 */
function clusterJoint(ctx: Ctx, side: Side, cluster: readonly string[], lat: readonly string[], med: readonly string[]): ((i: number) => V3) | undefined {
  const stat = ctx.stat;
  if (!stat) return undefined;
  const cm = cluster.map((c) => ctx.look.find([c], side));
  const cs = cluster.map((c) => stat.find([c], side));
  const sl = stat.find(lat, side);
  const sm = stat.find(med, side);
  if (cm.some((c) => !c) || cs.some((c) => !c) || !sl || !sm) return undefined;
  const [m0, m1, m2] = cm.map((c) => c!.data) as [Float64Array, Float64Array, Float64Array];
  const [s0, s1, s2] = cs.map((c) => c!.data) as [Float64Array, Float64Array, Float64Array];
  const locals: V3[] = [];
  for (let i = 0; i < s0.length / 3; i++) {
    const centre = mid(at(sl.data, i), at(sm.data, i));
    const origin = at(s0, i);
    const local = toLocal(frameOf(origin, at(s1, i), at(s2, i)), sub(centre, origin));
    if (finite(local)) locals.push(local);
  }
  if (locals.length === 0) return undefined;
  const local: V3 = [median(locals.map((l) => l[0])), median(locals.map((l) => l[1])), median(locals.map((l) => l[2]))];
  return (i) => {
    const origin = at(m0, i);
    return add(origin, toWorld(frameOf(origin, at(m1, i), at(m2, i)), local));
  };
}

/**
 * Knee or ankle centre: mid-point of lateral and medial markers; else the lateral marker moved
 * medially (along the pelvis left–right axis) by half the estimated joint width plus the marker
 * radius; else a static-trial cluster calibration.
 */
function distalJoint(
  ctx: Ctx,
  side: Side,
  joint: JointName,
  lat: readonly string[],
  med: readonly string[],
  halfPerPw: number,
  pw: number,
  cluster: readonly string[],
  mediolateral: (i: number) => V3,
): void {
  const l = ctx.look.find(lat, side);
  const m = ctx.look.find(med, side);
  if (l && m) return setJoint(ctx, joint, `mid-point of ${l.name} and ${m.name}`, (i) => mid(at(l.data, i), at(m.data, i)));
  if (l) {
    const shift = halfPerPw * pw + MARKER_RADIUS_M;
    // The pelvis z axis points right: medial is −z for the right leg, +z for the left.
    const sign = side === 'right' ? -1 : 1;
    // Where a pelvis marker drops out, the line between the two lateral markers stands in for the axis.
    const other = ctx.look.find(lat, side === 'right' ? 'left' : 'right');
    const axis = (i: number): V3 => {
      const a = mediolateral(i);
      if (finite(a) || !other) return a;
      const [rk, lk] = side === 'right' ? [at(l.data, i), at(other.data, i)] : [at(other.data, i), at(l.data, i)];
      return unit(sub(rk, lk));
    };
    return setJoint(
      ctx,
      joint,
      `${l.name} shifted ${(shift * 1000).toFixed(0)} mm medially along the pelvis left-right axis (${halfPerPw}×inter-ASIS + marker radius)`,
      (i) => add(at(l.data, i), scale(axis(i), sign * shift)),
    );
  }
  const calibrated = clusterJoint(ctx, side, cluster, lat, med);
  if (calibrated) return setJoint(ctx, joint, `static-trial calibration in the ${cluster.map((c) => side.charAt(0) + c).join('/')} cluster frame`, calibrated);
  throw new AdapterError(
    AdapterErrorCode.MISSING_MARKER,
    ctx.file,
    `missing marker for ${joint}: none of ${lat.map((a) => side.charAt(0).toUpperCase() + a).join(', ')} (and no thigh/shank cluster with a static trial)`,
  );
}

function pelvis(ctx: Ctx): { pw: number; mediolateral: (i: number) => V3 } {
  const { look } = ctx;
  const ra = look.find(A.asis, 'right');
  const la = look.find(A.asis, 'left');
  const rp = look.find(A.psis, 'right');
  const lp = look.find(A.psis, 'left');
  const sac = look.find(A.sacrum);
  const missing: string[] = [];
  if (!ra) missing.push('R.ASIS');
  if (!la) missing.push('L.ASIS');
  if (!(rp && lp) && !sac) missing.push('R.PSIS/L.PSIS (or a sacral marker)');
  if (!ra || !la || missing.length > 0) throw new AdapterError(AdapterErrorCode.MISSING_MARKER, ctx.file, `missing pelvis marker(s): ${missing.join(', ')}`);
  const midPsis = (i: number): V3 => (rp && lp ? mid(at(rp.data, i), at(lp.data, i)) : at(sac!.data, i));
  const pwS: number[] = [];
  const pdS: number[] = [];
  for (let i = 0; i < ctx.n; i++) {
    const r = at(ra.data, i);
    const l = at(la.data, i);
    pwS.push(norm(sub(r, l)));
    pdS.push(norm(sub(mid(r, l), midPsis(i))));
  }
  // Subject constants: medians over the trial, so one noisy frame does not move the hip centres.
  const pw = median(pwS);
  const pd = median(pdS);
  const frame = (i: number): [V3, V3, V3, V3] => {
    const r = at(ra.data, i);
    const l = at(la.data, i);
    const o = mid(r, l);
    const z = unit(sub(r, l));
    const y = unit(cross(z, sub(o, midPsis(i))));
    return [o, cross(y, z), y, z];
  };
  // Harrington et al. 2007 (J Biomech 40:595), pelvis frame x anterior, y superior, z right, in mm:
  // x = −0.24·PD − 9.9, y = −0.30·PW − 10.9, z = ±(0.33·PW + 7.3).
  // Outside the regression's calibration range (markers off the bony landmarks, e.g. UI-PRMD's
  // 424 mm "ASIS" width) extrapolating puts the hips far too low and wide: clamp to the range.
  const pwMm = Math.min(PW_MAX_MM, pw * 1000);
  const pdMm = Math.min(PD_MAX_MM, pd * 1000);
  const clamped = pwMm < pw * 1000 || pdMm < pd * 1000 ? `, clamped to PW ≤ ${PW_MAX_MM} mm / PD ≤ ${PD_MAX_MM} mm` : '';
  const hx = (-0.24 * pdMm - 9.9) / 1000;
  const hy = (-0.3 * pwMm - 10.9) / 1000;
  const hz = (0.33 * pwMm + 7.3) / 1000;
  const psisName = rp && lp ? `${rp.name}/${lp.name}` : sac!.name;
  for (const side of SIDES) {
    const s = side === 'right' ? 1 : -1;
    setJoint(
      ctx,
      `${side}_hip`,
      `Harrington 2007 regression from ${ra.name}/${la.name}/${psisName} (PW ${(pw * 1000).toFixed(0)} mm, PD ${(pd * 1000).toFixed(0)} mm${clamped})`,
      (i) => {
        const [o, x, y, z] = frame(i);
        return add(o, add(add(scale(x, hx), scale(y, hy)), scale(z, s * hz)));
      },
    );
  }
  setJoint(ctx, 'root', 'mid-point of the hip joint centres', (i) => mid(getJoint(ctx, 'left_hip', i), getJoint(ctx, 'right_hip', i)));
  return { pw, mediolateral: (i) => frame(i)[3] };
}

function feet(ctx: Ctx, side: Side): void {
  const heel = ctx.look.find(A.heel, side);
  if (!heel) throw new AdapterError(AdapterErrorCode.MISSING_MARKER, ctx.file, `missing marker: ${side.charAt(0).toUpperCase()}.Heel`);
  setJoint(ctx, `${side}_heel`, heel.name, (i) => at(heel.data, i));
  const toe = ctx.look.find(A.toe, side);
  if (toe) return setJoint(ctx, `${side}_toe`, toe.name, (i) => at(toe.data, i));
  for (const [p, q] of A.toePairs) {
    const a = ctx.look.find([p], side);
    const b = ctx.look.find([q], side);
    if (a && b) return setJoint(ctx, `${side}_toe`, `mid-point of ${a.name} and ${b.name}`, (i) => mid(at(a.data, i), at(b.data, i)));
  }
  throw new AdapterError(AdapterErrorCode.MISSING_MARKER, ctx.file, `missing marker: ${side.charAt(0).toUpperCase()}.Toe (toe tip, MT2, or MT1+MT5)`);
}

/** Upper body where markers exist; every joint here is optional. */
function upperBody(ctx: Ctx): void {
  const { look } = ctx;
  const one = (a: readonly string[], side?: Side): Float64Array | undefined => look.find(a, side)?.data;
  const name = (a: readonly string[], side?: Side): string => look.find(a, side)?.name ?? '';
  for (const side of SIDES) {
    const sh = one(A.shoulder, side);
    if (sh) setJoint(ctx, `${side}_shoulder`, `${name(A.shoulder, side)} (acromion marker)`, (i) => at(sh, i));
    const el = one(A.elbowLat, side);
    const em = one(A.elbowMed, side);
    if (el && em) setJoint(ctx, `${side}_elbow`, `mid-point of ${name(A.elbowLat, side)} and ${name(A.elbowMed, side)}`, (i) => mid(at(el, i), at(em, i)));
    else if (el) setJoint(ctx, `${side}_elbow`, `${name(A.elbowLat, side)} (lateral marker)`, (i) => at(el, i));
    for (const [p, q] of A.wristPairs) {
      const a = look.find([p], side);
      const b = look.find([q], side);
      if (a && b) {
        setJoint(ctx, `${side}_wrist`, `mid-point of ${a.name} and ${b.name}`, (i) => mid(at(a.data, i), at(b.data, i)));
        break;
      }
    }
  }
  const c7 = one(['c7']);
  const clav = one(['clav']);
  const strn = one(['strn', 'sternum']);
  const t10 = one(['t10']);
  const rs = one(A.shoulder, 'right');
  const ls = one(A.shoulder, 'left');
  if (c7 && clav) setJoint(ctx, 'neck', 'mid-point of C7 and CLAV', (i) => mid(at(c7, i), at(clav, i)));
  else if (rs && ls) setJoint(ctx, 'neck', 'mid-point of the shoulder markers', (i) => mid(at(rs, i), at(ls, i)));
  if (strn && t10) setJoint(ctx, 'chest', 'mid-point of STRN and T10', (i) => mid(at(strn, i), at(t10, i)));
  else if (strn && c7) setJoint(ctx, 'chest', 'mid-point of STRN and C7', (i) => mid(at(strn, i), at(c7, i)));
  else if (strn) setJoint(ctx, 'chest', `${name(['strn', 'sternum'])} (sternum marker)`, (i) => at(strn, i));
  const hd = ['fhd', 'bhd'].flatMap((h) => SIDES.map((s) => one([h], s))).filter((x): x is Float64Array => !!x);
  const rt = one(['temple'], 'right');
  const lt = one(['temple'], 'left');
  const top = one(['tophead', 'head']);
  if (hd.length === 4)
    setJoint(ctx, 'head', 'mean of LFHD/RFHD/LBHD/RBHD', (i) =>
      scale(
        hd.reduce<V3>((s, m) => add(s, at(m, i)), [0, 0, 0]),
        0.25,
      ),
    );
  else if (rt && lt) setJoint(ctx, 'head', 'mid-point of R.Temple and L.Temple', (i) => mid(at(rt, i), at(lt, i)));
  else if (top) setJoint(ctx, 'head', 'top-of-head marker', (i) => at(top, i));
}

/** Joint centres from a marker set; `staticTrial` calibrates clusters when knee/ankle markers are absent. */
export function markersToJoints(file: string, data: MarkerData, staticTrial?: MarkerData): JointEstimate {
  const n = data.times.length;
  if (![...data.markers.values()].some((m) => m.some(Number.isFinite))) {
    throw new AdapterError(AdapterErrorCode.EMPTY, file, 'has no valid marker position in any frame (all NaN/missing)');
  }
  const ctx: Ctx = { n, file, look: new Lookup(data), stat: staticTrial ? new Lookup(staticTrial) : undefined, joints: nanJoints(n), jointMap: {}, notes: [] };
  const { pw, mediolateral } = pelvis(ctx);
  for (const side of SIDES) {
    distalJoint(ctx, side, `${side}_knee`, A.kneeLat, A.kneeMed, KNEE_HALF_WIDTH_PER_PW, pw, A.thighCluster, mediolateral);
    distalJoint(ctx, side, `${side}_ankle`, A.ankleLat, A.ankleMed, ANKLE_HALF_WIDTH_PER_PW, pw, A.shankCluster, mediolateral);
    feet(ctx, side);
  }
  upperBody(ctx);
  ctx.notes.push('joint centres estimated from skin markers (see jointMap)');
  return { track: { times: data.times, joints: ctx.joints }, jointMap: ctx.jointMap, notes: ctx.notes };
}
