"""Small questions about the context: which armature the user means, where its bones are."""

from __future__ import annotations

import numpy as np


def active_armature(context):
    """The armature the user works on: the active object if it is one, else the armature that
    deforms or parents the active object (a selected body mesh), else None."""
    obj = getattr(context, "active_object", None)
    if obj is None:
        return None
    if obj.type == "ARMATURE":
        return obj
    for modifier in getattr(obj, "modifiers", ()):
        if modifier.type == "ARMATURE" and modifier.object is not None and modifier.object.type == "ARMATURE":
            return modifier.object
    if obj.parent is not None and obj.parent.type == "ARMATURE":
        return obj.parent
    return None


def active_bone_name(armature_object) -> str:
    """The armature's active bone, or '' when none."""
    bone = armature_object.data.bones.active
    return bone.name if bone is not None else ""


def posed_bone_world(armature_object, bone: str, depsgraph=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T_world_bone (4, 4) with unit axes, head (3,), tail (3,)) of a pose bone as Blender
    evaluates it (world space)."""
    obj = armature_object.evaluated_get(depsgraph) if depsgraph is not None else armature_object
    T_world_armature = np.array(obj.matrix_world, dtype=np.float64)
    pb = obj.pose.bones[bone]
    T_world_bone = T_world_armature @ np.array(pb.matrix, dtype=np.float64)
    axes = T_world_bone[:3, :3]
    T_world_bone[:3, :3] = axes / np.linalg.norm(axes, axis=0)
    head = (T_world_armature @ np.append(np.array(pb.head), 1.0))[:3]
    tail = (T_world_armature @ np.append(np.array(pb.tail), 1.0))[:3]
    return T_world_bone, head, tail
