"""What the engine knows about the SMPL-X body, in one place (data only, no code of the engine):

* ``BODY_JOINTS``: the 22 body joints in SMPL-X order (HumanML3D's and AMASS's body joints);
  the names and tree of all 55 joints come with the shipped skeleton (``skeletons/data``);
* ``BODY_CAPSULES``: the 25 capsules that stand for the body (``geometry`` explains the model);
* ``DE_LEVA`` and the feet's figures: segment masses and centres of mass (``constraints/balance``
  maps de Leva's landmarks onto SMPL-X joints);
* ``CMU_TO_SMPLX`` and ``CMU_UNIT``: the CMU motion capture BVH files' joints at SMPL-X's places,
  and their length unit.
"""

from __future__ import annotations

from typing import NamedTuple

# The 22 joints of the SMPL-X body (no hands, jaw or eyes), in skeleton order.
BODY_JOINTS: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
)


# The skull capsule, in metres above the head joint along the rest pose's up direction.
HEAD_CAPSULE_BOTTOM = 0.04
HEAD_CAPSULE_TOP = 0.10
HEAD_CAPSULE_RADIUS = 0.09


class CapsuleSpec(NamedTuple):
    """A body capsule by joint names: its frame, two end points and where its radius comes from.

    An end point is ``(joint, up)``: the joint's rest position raised by ``up`` metres along
    the rest pose's +Y; the joint must be the frame joint or rigidly attached to it (a child).
    ``radius`` is a joint name (its ``skeleton.radii`` entry) or metres.
    """

    name: str
    frame: str
    start: tuple[str, float]
    end: tuple[str, float]
    radius: str | float


def _bone(name: str, parent: str, joint: str, radius_of: str | None = None) -> CapsuleSpec:
    return CapsuleSpec(name, parent, (parent, 0.0), (joint, 0.0), radius_of or joint)


def _side(side: str) -> list[CapsuleSpec]:
    s = side
    return [
        _bone(f"{s}_clavicle", f"{s}_collar", f"{s}_shoulder"),
        _bone(f"{s}_upper_arm", f"{s}_shoulder", f"{s}_elbow"),
        _bone(f"{s}_forearm", f"{s}_elbow", f"{s}_wrist"),
        _bone(f"{s}_hand", f"{s}_wrist", f"{s}_middle1", radius_of=f"{s}_wrist"),
        _bone(f"{s}_thigh", f"{s}_hip", f"{s}_knee"),
        _bone(f"{s}_shank", f"{s}_knee", f"{s}_ankle"),
        _bone(f"{s}_foot", f"{s}_ankle", f"{s}_foot"),
    ]


BODY_CAPSULES: tuple[CapsuleSpec, ...] = tuple(
    [
        CapsuleSpec("pelvis", "pelvis", ("pelvis", 0.0), ("pelvis", 0.0), "pelvis"),  # sphere at the root
        _bone("left_pelvis", "pelvis", "left_hip"),
        _bone("right_pelvis", "pelvis", "right_hip"),
        _bone("lower_abdomen", "pelvis", "spine1"),
        _bone("abdomen", "spine1", "spine2"),
        _bone("chest", "spine2", "spine3"),
        _bone("upper_chest", "spine3", "neck"),
        _bone("left_upper_chest", "spine3", "left_collar"),
        _bone("right_upper_chest", "spine3", "right_collar"),
        _bone("neck", "neck", "head"),
        CapsuleSpec("head", "head", ("head", HEAD_CAPSULE_BOTTOM), ("head", HEAD_CAPSULE_TOP), HEAD_CAPSULE_RADIUS),
    ]
    + _side("left")
    + _side("right")
)


# de Leva (1996), Table 4: mass (fraction of body mass), centre of mass (fraction of the
# segment's length from its first landmark) and length (metres, for the mean subject:
# female 1.735 m, male 1.741 m) of each segment.
DE_LEVA: dict[str, dict[str, tuple[float, float, float]]] = {
    #                 mass     CoM      length
    "female": {
        "head":         (0.0668, 0.4841, 0.2437),  # vertex -> cervicale (C7)
        "upper_trunk":  (0.1545, 0.2077, 0.1425),  # suprasternale -> xiphoid
        "middle_trunk": (0.1465, 0.4512, 0.2053),  # xiphoid -> omphalion
        "lower_trunk":  (0.1247, 0.4920, 0.1815),  # omphalion -> mid-hip
        "upper_arm":    (0.0255, 0.5754, 0.2751),  # shoulder -> elbow joint centres
        "forearm":      (0.0138, 0.4559, 0.2643),  # elbow -> wrist
        "hand":         (0.0056, 0.7474, 0.0780),  # wrist -> 3rd metacarpale
        "thigh":        (0.1478, 0.3612, 0.3685),  # hip -> knee
        "shank":        (0.0481, 0.4416, 0.4323),  # knee -> lateral malleolus
        "foot":         (0.0129, 0.4014, 0.2283),  # heel -> toe tip
    },
    "male": {
        "head":         (0.0694, 0.5002, 0.2429),
        "upper_trunk":  (0.1596, 0.2999, 0.1707),
        "middle_trunk": (0.1633, 0.4502, 0.2155),
        "lower_trunk":  (0.1117, 0.6115, 0.1457),
        "upper_arm":    (0.0271, 0.5772, 0.2817),
        "forearm":      (0.0162, 0.4574, 0.2689),
        "hand":         (0.0061, 0.7900, 0.0862),
        "thigh":        (0.1416, 0.4095, 0.4222),
        "shank":        (0.0433, 0.4459, 0.4340),
        "foot":         (0.0137, 0.4415, 0.2581),
    },
}

# The feet (rough adult figures, metres).
HEEL_BACK = 0.05  # heel behind the ankle joint centre
TOE_FORWARD = 0.04  # front of the support ahead of the ball of the foot (part of the toes)
TOE_TIP_FORWARD = 0.06  # toe tip ahead of the ball (for the foot's mass)
FOOT_HALF_WIDTH = 0.04  # half the breadth of the foot's support

FEET = ("left_foot", "right_foot")

# CMU BVH joint (cgspeed conversions, as in tests/data/cmu) -> SMPL-X joint at the same place.
CMU_TO_SMPLX = {
    "Hips": "pelvis", "Chest2": "spine3", "Head": "head",
    "LeftHip": "left_hip", "LeftKnee": "left_knee", "LeftAnkle": "left_ankle", "LeftToe": "left_foot",
    "RightHip": "right_hip", "RightKnee": "right_knee", "RightAnkle": "right_ankle", "RightToe": "right_foot",
    "LeftShoulder": "left_shoulder", "LeftElbow": "left_elbow", "LeftWrist": "left_wrist",
    "RightShoulder": "right_shoulder", "RightElbow": "right_elbow", "RightWrist": "right_wrist",
}

# Metres per unit of the CMU motion capture BVH files (1/0.45 inch): ``load_bvh(path, scale=CMU_UNIT)``.
CMU_UNIT = 0.056444
