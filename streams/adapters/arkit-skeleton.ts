// ARKit's 91-joint body skeleton (ARSkeletonDefinition.defaultBody3D): names and parents, in order.
// Source: the joint names and parentIndices as hard-coded from defaultBody3D in a public Swift file,
// HumanNode.swift ("UserModuleFramework", by fincher, 2021), found with the code-search tool; the name
// order matches Apple's BodyDetection sample copies that print `definition.jointNames`.

export const ARKIT_JOINTS = [
  'root', 'hips_joint',
  'left_upLeg_joint', 'left_leg_joint', 'left_foot_joint', 'left_toes_joint', 'left_toesEnd_joint',
  'right_upLeg_joint', 'right_leg_joint', 'right_foot_joint', 'right_toes_joint', 'right_toesEnd_joint',
  'spine_1_joint', 'spine_2_joint', 'spine_3_joint', 'spine_4_joint', 'spine_5_joint', 'spine_6_joint', 'spine_7_joint',
  'left_shoulder_1_joint', 'left_arm_joint', 'left_forearm_joint', 'left_hand_joint',
  'left_handIndexStart_joint', 'left_handIndex_1_joint', 'left_handIndex_2_joint', 'left_handIndex_3_joint', 'left_handIndexEnd_joint',
  'left_handMidStart_joint', 'left_handMid_1_joint', 'left_handMid_2_joint', 'left_handMid_3_joint', 'left_handMidEnd_joint',
  'left_handPinkyStart_joint', 'left_handPinky_1_joint', 'left_handPinky_2_joint', 'left_handPinky_3_joint', 'left_handPinkyEnd_joint',
  'left_handRingStart_joint', 'left_handRing_1_joint', 'left_handRing_2_joint', 'left_handRing_3_joint', 'left_handRingEnd_joint',
  'left_handThumbStart_joint', 'left_handThumb_1_joint', 'left_handThumb_2_joint', 'left_handThumbEnd_joint',
  'neck_1_joint', 'neck_2_joint', 'neck_3_joint', 'neck_4_joint', 'head_joint',
  'jaw_joint', 'chin_joint',
  'left_eye_joint', 'left_eyeLowerLid_joint', 'left_eyeUpperLid_joint', 'left_eyeball_joint',
  'nose_joint',
  'right_eye_joint', 'right_eyeLowerLid_joint', 'right_eyeUpperLid_joint', 'right_eyeball_joint',
  'right_shoulder_1_joint', 'right_arm_joint', 'right_forearm_joint', 'right_hand_joint',
  'right_handIndexStart_joint', 'right_handIndex_1_joint', 'right_handIndex_2_joint', 'right_handIndex_3_joint', 'right_handIndexEnd_joint',
  'right_handMidStart_joint', 'right_handMid_1_joint', 'right_handMid_2_joint', 'right_handMid_3_joint', 'right_handMidEnd_joint',
  'right_handPinkyStart_joint', 'right_handPinky_1_joint', 'right_handPinky_2_joint', 'right_handPinky_3_joint', 'right_handPinkyEnd_joint',
  'right_handRingStart_joint', 'right_handRing_1_joint', 'right_handRing_2_joint', 'right_handRing_3_joint', 'right_handRingEnd_joint',
  'right_handThumbStart_joint', 'right_handThumb_1_joint', 'right_handThumb_2_joint', 'right_handThumbEnd_joint',
] as const;

export type ArkitJointName = (typeof ARKIT_JOINTS)[number];
export const ARKIT_JOINT_COUNT = ARKIT_JOINTS.length; // 91

/** Parent index of each ARKit joint (−1 for root). */
export const ARKIT_PARENTS: readonly number[] = [
  -1, 0, 1, 2, 3, 4, 5, 1, 7, 8, 9, 10, 1, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 22, 28, 29, 30, 31, 22, 33, 34, 35, 36, 22,
  38, 39, 40, 41, 22, 43, 44, 45, 18, 47, 48, 49, 50, 51, 52, 51, 54, 54, 54, 51, 51, 59, 59, 59, 18, 63, 64, 65, 66, 67, 68, 69, 70, 66, 72, 73,
  74, 75, 66, 77, 78, 79, 80, 66, 82, 83, 84, 85, 66, 87, 88, 89,
];

export const ARKIT_INDEX = Object.fromEntries(ARKIT_JOINTS.map((n, i) => [n, i])) as Readonly<Record<ArkitJointName, number>>;
