"""Constraint items follow what the user edits, as Blender's own constraints do.

Run from the depsgraph handler (``live_mode.on_depsgraph_update``) on every armature of the
scene with IK Engine constraints, before any live solve, and before every Solve and Bake:

* a bone renamed in the armature: an item naming a bone that no longer exists takes the name
  of the bone with the same rest head and tail (``bone_rest``, recorded whenever the item's
  bone exists), so the constraint stays on its bone;
* a Reach whose Point was switched (Head <-> Tail): its target empty moves by the bone's head to
  tail vector as posed now, so the constraint is met where it was (``placed_point`` records the
  point the empty was last placed for).

Properties are written only when they change: each write causes one more depsgraph update,
which then finds nothing to do.
"""

from __future__ import annotations

import numpy as np

# Rest head and tail positions closer than this (armature units) are the same bone.
SAME_BONE_TOLERANCE = 1e-5


def bone_rest(bone) -> tuple[float, ...]:
    """(6,) the rest head and tail of a Bone, armature space."""
    return tuple(bone.head_local) + tuple(bone.tail_local)


def follow_renamed_bone(armature_object, item) -> None:
    """An item whose bone was renamed takes the new name. An item whose bone name the user
    changed (to one that does not exist) is left as it is, for the solve to report."""
    bones = armature_object.data.bones
    if not item.bone:
        return
    bone = bones.get(item.bone)
    if bone is not None:
        rest = bone_rest(bone)
        if item.bone_rest_name != item.bone or np.abs(np.subtract(item.bone_rest, rest)).max() > SAME_BONE_TOLERANCE:
            item.bone_rest, item.bone_rest_name = rest, item.bone
        return
    if item.bone_rest_name != item.bone:  # not the bone recorded: the user typed this name
        return
    matches = [b.name for b in bones if np.abs(np.subtract(bone_rest(b), item.bone_rest)).max() <= SAME_BONE_TOLERANCE]
    if len(matches) == 1:
        item.bone = item.bone_rest_name = matches[0]


def follow_edits(armature_object) -> None:
    """Let every constraint item of ``armature_object`` follow a renamed bone."""
    if armature_object.mode == "EDIT":  # bones are rewritten when Edit Mode ends
        return
    for item in armature_object.ik_engine.constraints:
        follow_renamed_bone(armature_object, item)


def follow_scene(scene) -> None:
    for obj in scene.objects:
        if obj.type == "ARMATURE" and len(obj.ik_engine.constraints):
            follow_edits(obj)
