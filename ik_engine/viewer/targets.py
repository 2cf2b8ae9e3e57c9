"""The viewer's targets: what each gizmo asks of the body, and the constraints they make.

A target is one draggable goal (a hand, a foot, the head's look-at point, a limb's pole) with
its on/off switch, weight and priority. ``default_targets`` finds the joints of each role in a
skeleton (SMPL-X names, or CMU-style BVH names); ``constraints_of`` turns the switched-on
targets and the pinned feet into the solver's constraints, each with a label for the report.
No viser here: the same objects serve the GUI, the Python handle and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..constraints import Constraint, LookAt, Orientation, Pin, PoleVector, Position
from ..rotations import matrix_to_quaternion
from ..skeleton import Skeleton
from ..tracking import CMU_TO_SMPLX

# Role -> the SMPL-X joint it acts on; other skeletons are matched through the CMU names that
# tracking maps to SMPL-X (tracking.CMU_TO_SMPLX) and a few common BVH names.
HAND_JOINTS = {"left_hand": "left_wrist", "right_hand": "right_wrist"}
FOOT_JOINTS = {"left_foot": "left_ankle", "right_foot": "right_ankle"}
HEAD_JOINT = "head"
POLE_JOINTS = {  # the limb's middle joint, and where its pole starts relative to it (metres)
    "left_elbow_pole": ("left_elbow", (0.0, 0.0, -0.4)),
    "right_elbow_pole": ("right_elbow", (0.0, 0.0, -0.4)),
    "left_knee_pole": ("left_knee", (0.0, 0.0, 0.5)),
    "right_knee_pole": ("right_knee", (0.0, 0.0, 0.5)),
}
OTHER_NAMES = {
    "left_wrist": ("LeftHand", "lHand"), "right_wrist": ("RightHand", "rHand"),
    "left_ankle": ("LeftFoot", "lFoot"), "right_ankle": ("RightFoot", "rFoot"),
    "left_elbow": ("LeftForeArm", "lForeArm"), "right_elbow": ("RightForeArm", "rForeArm"),
    "left_knee": ("LeftLeg", "lShin"), "right_knee": ("RightLeg", "rShin"),
}
LOOK_DISTANCE = 1.0  # metres in front of the head where the look-at target starts


@dataclass
class Target:
    """One gizmo's goal.

    Args:
        name: the target's name (``left_hand``, ``head``, ``left_knee_pole``, ...).
        kind: ``"hand"`` (position and rotation), ``"foot"`` (position; can be pinned),
            ``"look"`` (the head looks at the point), ``"pole"`` (the limb bends toward it).
        joint: the skeleton joint it acts on.
        position: (3,) world point, metres.
        wxyz: (4,) world rotation of the joint (hands), a unit quaternion.
        enabled, weight, priority: as the constraints take them.
        use_rotation: hands only: also ask for the gizmo's rotation.
        pinned: feet only: keep the foot where it is (ik.Pin with rotation) instead of the target.
    """

    name: str
    kind: str
    joint: str
    position: np.ndarray
    wxyz: np.ndarray = field(default_factory=lambda: np.array([1.0, 0.0, 0.0, 0.0]))
    enabled: bool = False
    weight: float = 1.0
    priority: int = 0
    use_rotation: bool = True
    pinned: bool = False

    @property
    def active(self) -> bool:
        """Whether it adds a constraint to the solve (a pinned foot adds its Pin)."""
        return self.enabled or self.pinned


def _joint_for(skeleton: Skeleton, smplx_joint: str) -> str | None:
    """The joint of ``skeleton`` at SMPL-X's ``smplx_joint`` (by SMPL-X, CMU or common BVH name)."""
    candidates = (smplx_joint, *[cmu for cmu, smplx in CMU_TO_SMPLX.items() if smplx == smplx_joint],
                  *OTHER_NAMES.get(smplx_joint, ()))
    names = set(skeleton.joint_names)
    return next((c for c in candidates if c in names), None)


def default_targets(skeleton: Skeleton, pose) -> dict[str, Target]:
    """The targets whose joints ``skeleton`` has, placed at the body in ``pose`` and switched off
    (the hands are switched on)."""
    R_world, p_world = skeleton.world_transforms(pose)
    targets: dict[str, Target] = {}

    def at(joint: str) -> tuple[np.ndarray, np.ndarray]:
        j = skeleton.index(joint)
        return p_world[j].copy(), np.asarray(matrix_to_quaternion(R_world[j], np), dtype=np.float64)

    for name, smplx_joint in HAND_JOINTS.items():
        joint = _joint_for(skeleton, smplx_joint)
        if joint:
            position, wxyz = at(joint)
            targets[name] = Target(name, "hand", joint, position, wxyz, enabled=True)
    for name, smplx_joint in FOOT_JOINTS.items():
        joint = _joint_for(skeleton, smplx_joint)
        if joint:
            position, wxyz = at(joint)
            targets[name] = Target(name, "foot", joint, position, wxyz)
    head = _joint_for(skeleton, HEAD_JOINT)
    if head:
        position, wxyz = at(head)
        forward = R_world[skeleton.index(head)] @ np.array([0.0, 0.0, 1.0])
        targets["head"] = Target("head", "look", head, position + LOOK_DISTANCE * forward)
    for name, (smplx_joint, offset) in POLE_JOINTS.items():
        joint = _joint_for(skeleton, smplx_joint)
        if joint:
            position, _ = at(joint)
            targets[name] = Target(name, "pole", joint, position + np.array(offset))
    return targets


def constraints_of(targets: dict[str, Target]) -> tuple[list[Constraint], list[tuple[str, str]]]:
    """(constraints, labels): one or two constraints per active target; each label is
    (text, unit) with unit ``"mm"`` or ``"deg"`` for the report."""
    constraints: list[Constraint] = []
    labels: list[tuple[str, str]] = []
    for t in targets.values():
        if t.kind == "foot" and t.pinned:
            constraints.append(Pin(t.joint, rotation=True, weight=t.weight, priority=t.priority))
            labels.append((f"{t.name} pinned", "mm"))
            continue
        if not t.enabled:
            continue
        if t.kind in ("hand", "foot"):
            constraints.append(Position(t.joint, t.position, weight=t.weight, priority=t.priority))
            labels.append((f"{t.name} position", "mm"))
            if t.kind == "hand" and t.use_rotation:
                constraints.append(Orientation(t.joint, t.wxyz, weight=0.5 * t.weight, priority=t.priority))
                labels.append((f"{t.name} rotation", "deg"))
        elif t.kind == "look":
            constraints.append(LookAt(t.joint, t.position, weight=t.weight, priority=t.priority))
            labels.append(("head look-at", "deg"))
        elif t.kind == "pole":
            constraints.append(PoleVector(t.joint, t.position, weight=t.weight, priority=t.priority))
            labels.append((f"{t.name}", "deg"))
    return constraints, labels
