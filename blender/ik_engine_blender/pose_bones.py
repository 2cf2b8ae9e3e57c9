"""Pose bone values read and written: in bulk (one ``foreach_get`` / ``foreach_set`` for all
pose bones of an armature) where that is measured to be faster, else one bone at a time."""

from __future__ import annotations

import numpy as np

# Blender's rotation modes as ``foreach_get("rotation_mode")`` reads them.
QUATERNION_MODE = 0


def raw_bases(obj) -> np.ndarray:
    """(16 * number of pose bones,) float32: every pose bone's ``matrix_basis`` in one read
    (column-major per bone, as Blender stores it)."""
    pose_bones = obj.pose.bones
    flat = np.empty(16 * len(pose_bones), dtype=np.float32)
    pose_bones.foreach_get("matrix_basis", flat)
    return flat


def rotation_modes(pose_bones) -> np.ndarray:
    """(number of pose bones,) int32: each pose bone's rotation mode (``QUATERNION_MODE``: a
    quaternion; Euler orders 1-6; -1: axis-angle), in one read."""
    modes = np.empty(len(pose_bones), dtype=np.int32)
    pose_bones.foreach_get("rotation_mode", modes)
    return modes


def write_rotations(obj, index: np.ndarray, quaternions: np.ndarray) -> None:
    """Set the rotations of the pose bones at ``index`` (K,) (positions in ``obj.pose.bones``)
    to the unit quaternions (K, 4) (w, x, y, z), each in the bone's own rotation mode and
    continuous with its current value (quaternions on the same hemisphere, Euler angles
    compatible with the current ones), so that keyframes interpolate the short way.

    Quaternion bones in one bulk write (Live's hot path on the SMPL-X armature; a bulk write
    runs no update callbacks, so the object is then tagged for evaluation); the others one
    property write each. Measured (Blender 4.2, 2-core VM, 22 SMPL-X bones, 200 writes): all
    quaternions 33 us in bulk against 46 us bone by bone; all Euler or all axis-angle, a bulk
    write of every bone's values (read, convert, write back) took 71 and 65 us against 49 and
    61 us bone by bone, so those stay bone by bone.
    """
    from mathutils import Quaternion

    pose_bones = obj.pose.bones
    bulk = rotation_modes(pose_bones)[index] == QUATERNION_MODE
    if bulk.any():
        current = np.empty(4 * len(pose_bones), dtype=np.float32)
        pose_bones.foreach_get("rotation_quaternion", current)
        current = current.reshape(-1, 4)
        new, rows = quaternions[bulk], index[bulk]
        flip = np.sum(current[rows].astype(np.float64) * new, axis=1) < 0.0
        current[rows] = np.where(flip[:, None], -new, new)
        pose_bones.foreach_set("rotation_quaternion", current.reshape(-1))
        obj.update_tag()
    for k in np.flatnonzero(~bulk):
        set_pose_bone_rotation(pose_bones[int(index[k])], Quaternion(quaternions[k].tolist()), Quaternion)


def set_pose_bone_rotation(pb, q, Quaternion) -> None:
    """Write the unit quaternion ``q`` into ``pb`` in its own rotation mode, continuously."""
    mode = pb.rotation_mode
    if mode == "QUATERNION":
        previous = Quaternion(pb.rotation_quaternion)
        if previous.dot(q) < 0.0:
            q = -q
        pb.rotation_quaternion = q
    elif mode == "AXIS_ANGLE":
        previous = Quaternion(pb.rotation_axis_angle[1:], pb.rotation_axis_angle[0])
        if previous.dot(q) < 0.0:
            q = -q
        axis, angle = q.to_axis_angle()
        pb.rotation_axis_angle = (angle, axis.x, axis.y, axis.z)
    else:
        pb.rotation_euler = q.to_euler(mode, pb.rotation_euler)


def pose_bone_bases(obj, bones, flat: np.ndarray | None = None) -> np.ndarray:
    """(J, 4, 4) ``matrix_basis`` of the pose bones named in ``bones`` (identity for None);
    ``flat``: ``raw_bases(obj)`` when already read."""
    pose_bones = obj.pose.bones
    n = len(pose_bones)
    flat = raw_bases(obj) if flat is None else flat
    all_bases = np.swapaxes(flat.reshape(n, 4, 4), -1, -2).astype(np.float64)  # column-major in memory
    index = bone_indices(pose_bones, bones)
    out = np.tile(np.eye(4), (len(bones), 1, 1))
    real = index >= 0
    out[real] = all_bases[index[real]]
    return out


def bone_indices(pose_bones, bones) -> np.ndarray:
    """(J,) each named bone's index in ``pose_bones`` (-1 for None)."""
    by_name = dict(zip(pose_bones.keys(), range(len(pose_bones))))
    return np.array([-1 if bone is None else by_name[bone] for bone in bones], dtype=np.int64)
