/**
 * The canonical joint set every adapter maps onto (stage 0) and every later stage reads.
 * Positions are metres, y up, right-handed. A joint a source cannot provide is NaN in every frame
 * and absent from `RecordingMeta.available`.
 */
export const JOINTS = [
  'root', // pelvis centre: mid-point of the hip joint centres
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
  'chest',
  'neck',
  'head',
  'left_shoulder',
  'right_shoulder',
  'left_elbow',
  'right_elbow',
  'left_wrist',
  'right_wrist',
] as const;

export type JointName = (typeof JOINTS)[number];
export const JOINT_COUNT = JOINTS.length;

/** Index of each joint in a frame's `joints` array (x at 3·i, y at 3·i+1, z at 3·i+2). */
export const JOINT_INDEX = Object.fromEntries(JOINTS.map((name, i) => [name, i])) as Readonly<Record<JointName, number>>;

/** Kinematic parent of each joint; segments are (parent → joint). */
export const PARENT: Readonly<Record<JointName, JointName | null>> = {
  root: null,
  left_hip: 'root',
  right_hip: 'root',
  left_knee: 'left_hip',
  right_knee: 'right_hip',
  left_ankle: 'left_knee',
  right_ankle: 'right_knee',
  left_heel: 'left_ankle',
  right_heel: 'right_ankle',
  left_toe: 'left_ankle',
  right_toe: 'right_ankle',
  chest: 'root',
  neck: 'chest',
  head: 'neck',
  left_shoulder: 'chest',
  right_shoulder: 'chest',
  left_elbow: 'left_shoulder',
  right_elbow: 'right_shoulder',
  left_wrist: 'left_elbow',
  right_wrist: 'right_elbow',
};

export type Side = 'left' | 'right';
export const SIDES: readonly Side[] = ['left', 'right'];
