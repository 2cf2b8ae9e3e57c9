"""The armature's constraint list, read against the scene, as ik_engine constraints.

Targets are world-space objects (usually empties); the engine works in the armature's solve frame
(see armature_skeleton), so every target goes through the armature object's inverse world matrix
and the solve frame's axis permutation. Target matrices are read from the evaluated depsgraph, so
parenting, constraints and animation of the targets count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .armature_frames import rotation_part
from .armature_skeleton import ArmatureModel
from .dependencies import engine
from .errors import AddonError
from .properties import KIND_LABELS, KINDS_WITH_TARGET

AXIS_VECTORS = {
    "X": (1.0, 0.0, 0.0), "-X": (-1.0, 0.0, 0.0),
    "Y": (0.0, 1.0, 0.0), "-Y": (0.0, -1.0, 0.0),
    "Z": (0.0, 0.0, 1.0), "-Z": (0.0, 0.0, -1.0),
}
# How far (relative) the armature object's scale may be from uniform, and (radians) its up axis
# from the world's up for a Floor.
UNIFORM_SCALE_TOLERANCE = 1e-4
UPRIGHT_TOLERANCE = 1e-3


@dataclass(frozen=True)
class SolveFrame:
    """World -> solve frame of one armature: ``p_solve = R_solve_world @ p_world / s + t``.

    Attributes:
        T_solve_world: (4, 4) affine map of world points into the solve frame.
        R_solve_world: (3, 3) rotation part (directions, orientations).
        scale: the armature object's (uniform) scale: world length = scale * solve length.
        uniform: whether the object's scale is uniform.
        largest_scale: the largest of the object's axis scales: a solve-frame length times it
            bounds the world length (equals ``scale`` when uniform).
    """

    T_solve_world: np.ndarray
    R_solve_world: np.ndarray
    scale: float
    uniform: bool
    largest_scale: float

    def point(self, p_world) -> np.ndarray:
        p = np.asarray(p_world, dtype=np.float64)
        return self.T_solve_world[:3, :3] @ p + self.T_solve_world[:3, 3]


def solve_frame(armature_object, model: ArmatureModel, depsgraph=None) -> SolveFrame:
    obj = armature_object.evaluated_get(depsgraph) if depsgraph is not None else armature_object
    T_world_armature = np.array(obj.matrix_world, dtype=np.float64)
    R_world_armature, scale = rotation_part(T_world_armature)
    if not np.isfinite(T_world_armature).all() or scale.min() <= 0:
        raise AddonError(f"armature object {armature_object.name!r} has a degenerate transform (zero scale?)")
    T_solve_armature = np.eye(4)
    T_solve_armature[:3, :3] = model.R_solve_armature
    T_solve_world = T_solve_armature @ np.linalg.inv(T_world_armature)
    uniform = bool(scale.max() / scale.min() - 1.0 <= UNIFORM_SCALE_TOLERANCE)
    return SolveFrame(
        T_solve_world, model.R_solve_armature @ R_world_armature.T, float(scale.mean()), uniform, float(scale.max())
    )


@dataclass(frozen=True)
class SceneConstraints:
    """The engine constraints of an armature's enabled items, and the joints they act on.

    Attributes:
        constraints: ik_engine constraints, in item order.
        items: index of the item each constraint came from.
        joints: skeleton indices named by the constraints.
        frame: the world -> solve frame map the targets went through.
    """

    constraints: list
    items: list
    joints: tuple
    frame: SolveFrame


def label(index: int, item) -> str:
    """'Reach constraint 2 (left_wrist)': how messages name an item."""
    bone = f" ({item.bone})" if item.bone else ""
    return f"{KIND_LABELS.get(item.kind, item.kind)} constraint {index + 1}{bone}"


def target_matrix(index: int, item, scene, depsgraph, armature_object) -> np.ndarray:
    """(4, 4) evaluated world matrix of the item's target, or AddonError when it is unusable."""
    target = item.target
    if target is None:
        raise AddonError(f"{label(index, item)} has no target object (was it deleted?): pick one in the IK Engine panel")
    if scene.objects.get(target.name) is not target:
        raise AddonError(
            f"{label(index, item)}: its target {target.name!r} is not in the scene (was it deleted?): pick another one"
        )
    if target == armature_object:
        raise AddonError(f"{label(index, item)}: the armature cannot be its own target")
    evaluated = target.evaluated_get(depsgraph) if depsgraph is not None else target
    return np.array(evaluated.matrix_world, dtype=np.float64)


def scene_constraints(armature_object, model: ArmatureModel, scene, depsgraph=None) -> SceneConstraints:
    """The engine constraints of ``armature_object``'s enabled items; AddonError names the first
    item that cannot be used (missing bone or target)."""
    ik = engine()
    settings = armature_object.ik_engine
    frame = solve_frame(armature_object, model, depsgraph)
    constraints, items, joints = [], [], []
    enabled = [(i, item) for i, item in enumerate(settings.constraints) if item.enabled]
    if not enabled:
        raise AddonError(f"armature {armature_object.name!r} has no enabled IK Engine constraints: add one in the panel")
    for i, item in enumerate(settings.constraints):
        if not item.enabled:
            continue
        j = None
        if item.kind != "FLOOR" or item.bone:
            if not item.bone:
                raise AddonError(f"{label(i, item)} has no bone: pick one in the IK Engine panel")
            try:
                j = model.joint_of_bone(item.bone)
            except AddonError as exc:
                raise AddonError(f"{label(i, item)}: {exc}") from None
        T_world_target = target_matrix(i, item, scene, depsgraph, armature_object) if item.kind in KINDS_WITH_TARGET else None
        name = item.bone
        C = model.R_bone_joint[j] if j is not None else None
        weight, priority = float(item.weight), int(item.priority)
        if item.kind == "REACH":
            offset = (0.0, 0.0, 0.0)
            if item.point == "TAIL":
                offset = C.T @ np.array([0.0, model.bone_length[j], 0.0])
            constraints.append(ik.Position(name, frame.point(T_world_target[:3, 3]), weight=weight, offset=offset, priority=priority))
            items.append(i)
            if item.use_rotation:
                if not frame.uniform:
                    raise AddonError(f"{label(i, item)}: a rotation target needs the armature object's scale to be uniform")
                R_world_target, _ = rotation_part(T_world_target)
                # The bone's rest frame should take the target's orientation: joint = bone @ C.
                R_solve_joint = frame.R_solve_world @ R_world_target @ C
                constraints.append(ik.Orientation(name, R_solve_joint, weight=weight, priority=priority))
                items.append(i)
        elif item.kind == "LOOK_AT":
            axis = C.T @ np.array(AXIS_VECTORS[item.axis])
            constraints.append(ik.LookAt(name, frame.point(T_world_target[:3, 3]), axis=axis, weight=weight, priority=priority))
            items.append(i)
        elif item.kind == "POLE":
            constraints.append(ik.PoleVector(name, frame.point(T_world_target[:3, 3]), weight=weight, priority=priority))
            items.append(i)
        elif item.kind == "PIN":
            constraints.append(ik.Pin(name, rotation=bool(item.use_rotation), weight=weight, priority=priority))
            items.append(i)
        elif item.kind == "FLOOR":
            constraints.append(floor_constraint(i, item, model, frame, scene, depsgraph, armature_object, j))
            items.append(i)
        else:  # an enum value from a newer version of the add-on
            raise AddonError(f"{label(i, item)}: unknown kind {item.kind!r}")
        joints.extend(model.skeleton.indices(constraints[-1].joints()))
    return SceneConstraints(constraints, items, tuple(sorted(set(joints))), frame)


def floor_constraint(i, item, model, frame: SolveFrame, scene, depsgraph, armature_object, j):
    ik = engine()
    if not frame.uniform:
        raise AddonError(f"{label(i, item)}: a floor needs the armature object's scale to be uniform")
    # The floor is horizontal in the world; the solve frame's +Y must be the world's up.
    up_in_solve = frame.R_solve_world @ np.array([0.0, 0.0, 1.0])
    if np.linalg.norm(up_in_solve - np.array([0.0, 1.0, 0.0])) > UPRIGHT_TOLERANCE:
        raise AddonError(
            f"{label(i, item)}: a floor needs the armature standing upright in the world "
            "(one of its axes along the world's Z); clear the armature object's tilt"
        )
    p_world_floor = np.zeros(3)
    if item.target is not None:
        p_world_floor = target_matrix(i, item, scene, depsgraph, armature_object)[:3, 3]
    height = float(frame.point(p_world_floor)[1])
    bones = [item.bone] if j is not None else [b for b in model.bones if b is not None]
    return ik.Floor(height=height, joints=bones, clearance=float(item.clearance) / frame.scale,
                    weight=float(item.weight), priority=int(item.priority))
