"""An armature's rest bones as an engine Skeleton, and poses between Blender and the engine.

Frames (``R_a_b`` turns vectors of frame b into frame a):

* armature: the armature object's local space, where ``bone.matrix_local`` lives.
* solve: the frame the engine works in, ``R_solve_armature @ armature``: the armature space turned
  by right angles (or not at all) so that the armature axis nearest to the world's up becomes +Y,
  the engine's up (Floor is the plane y = height). It depends only on which armature axis points
  up, so moving or turning the armature object a little never rebuilds the skeleton.
* bone: a bone's rest frame (rotation of ``bone.matrix_local``; +Y runs from head to tail). A pose
  bone's rotation ``Q`` acts in it: ``R_armature_posebone = R_armature_parent_posed
  R_armature_parent_rest^T R_armature_bone Q``.
* joint: the engine joint's frame, ``R_armature_joint = R_armature_bone @ R_bone_joint`` with a
  constant ``R_bone_joint``: the identity (the joint's axis-angle is then exactly the pose bone's
  rotation) except for bones whose limits come from the SMPL-X table, whose joint frame is the
  SMPL-X body frame, so that the table's box applies as it is (on the axis-angle components, or
  on the Euler angles of the joints whose coordinates are Euler, the elbows; the skeleton gets
  the table's coordinates too). The conversion ``Q = R_bone_joint exp(r) R_bone_joint^T`` is
  exact either way.

Joint limits, per bone, first that applies:

1. the bone's IK limit settings (Bone Properties > Inverse Kinematics) when any is set, read
   exactly as Blender's own IK solver reads them (``bone_ik_limits.blender_ik_joint``): a ball joint with an
   elliptic swing limit and a twist range about the bone, a swing-only joint, a bend-then-twist
   joint or a hinge, by which axes are locked. A bone with all three axes locked does not move.
2. the SMPL-X table (``ik_engine.load_skeleton("smplx")``) when the armature has the 22 SMPL-X
   body bone names: those bones get the table's limits in the SMPL-X body frame, found by fitting
   the armature's rest joint positions to the SMPL-X T-pose (a rotation, Kabsch); for an armature
   whose rest pose is not a T-pose the limits are correspondingly approximate.
3. otherwise none.

An armature with several root bones gets a fixed extra root joint at the armature origin; the
root bone's location is solved for (``move_root``) only when there is a single root bone.
"""

from __future__ import annotations

import functools
import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from . import pose_memory
from .armature_frames import bone_quaternions, fit_rotation, rotation_part, solve_frame_rotation
from .bone_ik_limits import AXES, blender_ik_joint, shipped_limits
from .bone_ik_limits import ik_settings as read_ik_settings
from .dependencies import engine
from .errors import AddonError
from .pose_bones import bone_indices, pose_bone_bases, raw_bases, write_rotations

# Largest deviation of a pose bone's scale from 1, and of a non-root bone's location from 0,
# that counts as none (armature units).
SCALE_TOLERANCE = 1e-4
LOCATION_TOLERANCE = 1e-6
# Name of the extra fixed root of armatures with several root bones.
EXTRA_ROOT = "<armature origin>"
_MODEL_CACHE: OrderedDict[bytes, "ArmatureModel"] = OrderedDict()
# The same models by ``_quick_key`` (insertion order; oldest dropped first).
_QUICK_CACHE: dict[bytes, "ArmatureModel"] = {}
_MODEL_CACHE_SIZE = 16


@dataclass(frozen=True, eq=False)
class ArmatureModel:
    """The engine's view of one armature's rest bones.

    Attributes:
        skeleton: the ik_engine.Skeleton, joint names = bone names (plus ``EXTRA_ROOT`` first
            when the armature has several root bones), in the solve frame.
        bones: (J,) bone name of each joint, None for the extra root.
        R_armature_bone: (J, 3, 3) rest rotation of each bone in armature space.
        R_bone_joint: (J, 3, 3) the joint's frame in its bone's frame (see module docstring).
        R_solve_armature: (3, 3) armature space -> solve frame (a signed axis permutation).
        bone_length: (J,) rest length of each bone, armature units.
        root_bone: the single root bone, or None when there are several.
        moving_bones: bones the solver may rotate (all but fully IK-locked ones).
        limit_source: (J,) "ik", "smplx" or "none": where each joint's limits came from.
        R_armature_smplx: (3, 3) SMPL-X body axes in armature space when the SMPL-X table is
            used, else None.
        fingerprint: bytes identifying everything above (the solver cache key).
    """

    skeleton: object
    bones: tuple
    R_armature_bone: np.ndarray
    R_bone_joint: np.ndarray
    R_solve_armature: np.ndarray
    bone_length: np.ndarray
    root_bone: str | None
    root_local_location: bool
    moving_bones: tuple
    limit_source: tuple
    R_armature_smplx: np.ndarray | None
    fingerprint: bytes

    @functools.cached_property
    def moving_joints(self) -> frozenset:
        """Skeleton indices of ``moving_bones``."""
        return frozenset(self.skeleton.indices(self.moving_bones))

    @functools.cached_property
    def q_bone_joint(self) -> np.ndarray:
        """(J, 4) ``R_bone_joint`` as unit quaternions (w, x, y, z)."""
        from ik_engine.rotations import matrix_to_quaternion

        return matrix_to_quaternion(self.R_bone_joint, np)

    # ------------------------------------------------------------------ lookup
    def joint_of_bone(self, bone: str) -> int:
        """The skeleton index of ``bone``, or AddonError naming the armature's close matches."""
        try:
            return self.bones.index(bone)
        except ValueError:
            import difflib

            names = [b for b in self.bones if b is not None]
            close = difflib.get_close_matches(bone, names, n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else " (was it renamed or deleted?)"
            raise AddonError(f"bone {bone!r} is not in the armature{hint}") from None

    @property
    def real_joints(self) -> np.ndarray:
        """Skeleton indices of the joints that are bones (all but the extra root)."""
        return np.array([j for j, b in enumerate(self.bones) if b is not None], dtype=np.int64)

    # ------------------------------------------------------------------ poses
    def read_pose(self, obj):
        """The armature's current pose (``pose_bone.matrix_basis``) as an ik_engine.Pose.

        Raises AddonError for what the engine cannot represent: a pose bone scaled, or a
        non-root bone moved by its location.
        """
        ik = engine()
        from ik_engine.rotations import matrix_to_axis_angle

        raw = raw_bases(obj)
        remembered = pose_memory.recall(obj, self.fingerprint, raw)
        if remembered is not None:  # the bones hold what was last read or written
            return remembered
        basis = pose_bone_bases(obj, self.bones, raw)
        real = self.real_joints
        scale = np.linalg.norm(basis[:, :3, :3], axis=1)  # (J, 3) column norms; 1 for the extra root
        bad = np.flatnonzero(np.abs(scale - 1.0).max(axis=1) > SCALE_TOLERANCE)
        if len(bad):
            raise AddonError(f"pose bone {self.bones[bad[0]]!r} is scaled: the solver needs scale 1 (clear it with Alt+S)")
        Q = basis[:, :3, :3] / scale[:, None, :]
        rotations = matrix_to_axis_angle(np.swapaxes(self.R_bone_joint, -1, -2) @ Q @ self.R_bone_joint, np)
        location = basis[:, :3, 3]
        moved = np.abs(location).max(axis=1) > LOCATION_TOLERANCE
        for j in real[moved[real]]:
            bone = self.bones[j]
            if bone != self.root_bone and not _is_connected(obj, bone):
                raise AddonError(
                    f"pose bone {bone!r} is moved by its location: the solver moves only the root bone "
                    "(clear the location with Alt+G)"
                )
        translation = np.zeros(3)
        if self.root_bone is not None:
            r = self.bones.index(self.root_bone)
            d_armature = self.R_armature_bone[r] @ location[r] if self.root_local_location else location[r]
            translation = self.R_solve_armature @ d_armature
        if self.bones[0] is None:
            rotations[0] = 0.0
        pose = ik.Pose(rotations, translation)
        pose_memory.remember(obj, self.fingerprint, raw, pose)
        return pose

    def bone_rotation(self, joint: int, r: np.ndarray) -> np.ndarray:
        """(3, 3) pose bone rotation ``Q`` of ``joint`` for its axis-angle ``r`` (3,)."""
        from ik_engine.rotations import axis_angle_to_matrix

        C = self.R_bone_joint[joint]
        return C @ axis_angle_to_matrix(np.asarray(r, dtype=np.float64), np) @ C.T

    def root_location(self, translation: np.ndarray) -> np.ndarray:
        """(3,) the root pose bone's ``location`` for an engine root translation (3,)."""
        r = self.bones.index(self.root_bone)
        d_armature = self.R_solve_armature.T @ np.asarray(translation, dtype=np.float64)
        return self.R_armature_bone[r].T @ d_armature if self.root_local_location else d_armature

    def write_pose(self, obj, pose, joints=None, write_root_location: bool = False) -> list[str]:
        """Set the pose bones of ``joints`` (skeleton indices; default all bones) from ``pose``.

        Each bone keeps its rotation mode: quaternion, axis-angle or Euler (an exact
        representation of the same rotation each, chosen continuous with the bone's current
        value so that keyframes interpolate the short way). Returns the bone names written.
        """
        pose_bones = obj.pose.bones
        if joints is None:
            joints = self.real_joints
        joints = [int(j) for j in joints if self.bones[int(j)] is not None]
        written = [self.bones[j] for j in joints]
        if not joints:
            return written
        # All rotations at once: Q = C exp(r) C^T, as quaternions (w, x, y, z).
        quaternions = bone_quaternions(self.q_bone_joint[joints], np.asarray(pose.rotations, dtype=np.float64)[joints])
        raw_before = raw_bases(obj)
        write_rotations(obj, bone_indices(pose_bones, written), quaternions)
        root_written = write_root_location and self.root_bone is not None
        if root_written:
            pose_bones[self.root_bone].location = self.root_location(pose.translation).tolist()
        pose_memory.remember_written(obj, self.fingerprint, raw_before, joints, pose.rotations,
                                     pose.translation if root_written else None)
        return written


def _is_connected(obj, bone: str) -> bool:
    return bool(obj.data.bones[bone].use_connect)


# ---------------------------------------------------------------------- building
def ordered_bones(bones) -> list:
    """The bones with every parent before its children (depth first, in Blender's order)."""
    children: dict[str | None, list] = {}
    for b in bones:
        children.setdefault(b.parent.name if b.parent else None, []).append(b)
    order = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        b = stack.pop()
        order.append(b)
        stack.extend(reversed(children.get(b.name, [])))
    return order


def _quick_key(obj) -> bytes:
    """Bytes of everything an ArmatureModel depends on that can change outside Edit Mode, read
    with one ``foreach_get`` each, plus the bones' names and memory addresses (new after Edit
    Mode) and the armature's up axis."""
    bones = obj.data.bones
    n = len(bones)
    key = hashlib.sha1("\0".join(bones.keys()).encode())
    key.update(np.array([obj.data.as_pointer(), bones[0].as_pointer() if n else 0, bones[-1].as_pointer() if n else 0]).tobytes())
    for collection, name, dtype, size in (
        (bones, "matrix_local", np.float32, 16), (bones, "length", np.float32, 1),
        (bones, "use_inherit_rotation", bool, 1), (bones, "use_local_location", bool, 1),
    ):
        values = np.empty(size * n, dtype=dtype)
        collection.foreach_get(name, values)
        key.update(values.tobytes())
    pose_bones = obj.pose.bones
    for prefix, dtype in (("use_ik_limit_", bool), ("lock_ik_", bool), ("ik_min_", np.float32), ("ik_max_", np.float32)):
        for axis in AXES:
            values = np.empty(len(pose_bones), dtype=dtype)
            pose_bones.foreach_get(prefix + axis, values)
            key.update(values.tobytes())
    R_world_armature, _ = rotation_part(np.array(obj.matrix_world))
    key.update(solve_frame_rotation(R_world_armature).tobytes())
    return key.digest()


def forget_models() -> None:
    """Drop every cached ArmatureModel (unregister, or to free memory)."""
    _MODEL_CACHE.clear()
    _QUICK_CACHE.clear()


def _remember_quick(quick: bytes, model: "ArmatureModel") -> None:
    _QUICK_CACHE[quick] = model
    while len(_QUICK_CACHE) > _MODEL_CACHE_SIZE:
        _QUICK_CACHE.pop(next(iter(_QUICK_CACHE)))


def armature_model(obj) -> ArmatureModel:
    """The ArmatureModel of an armature object, cached by everything it depends on.

    Raises AddonError for armatures it cannot model (no bones, a bone that does not inherit
    its parent's rotation).
    """
    if obj is None or obj.type != "ARMATURE":
        raise AddonError("select an armature object (the active object is not an armature)")
    # Live calls this on every update: a quick key of what can change outside Edit Mode (read
    # in bulk) finds the model without walking the bones; leaving Edit Mode rebuilds the bones,
    # which changes their addresses, and so the key. Measured on the SMPL-X armature: 0.23 ms
    # per call with the walk and hash below, 0.06 ms by the quick key.
    quick = _quick_key(obj)
    cached = _QUICK_CACHE.get(quick)
    if cached is not None:
        return cached
    bones = ordered_bones(obj.data.bones)
    if not bones:
        raise AddonError(f"armature {obj.name!r} has no bones")
    names = [b.name for b in bones]
    flat = np.empty(16 * len(obj.data.bones), dtype=np.float32)
    obj.data.bones.foreach_get("matrix_local", flat)
    by_name = {b.name: i for i, b in enumerate(obj.data.bones)}
    T_armature_bone = np.swapaxes(flat.reshape(-1, 4, 4), -1, -2)[[by_name[b] for b in names]].astype(np.float64)
    lengths = np.array([b.length for b in bones])
    parents_named = [b.parent.name if b.parent else None for b in bones]
    inherit = [b.use_inherit_rotation for b in bones]
    local_location = bones[0].use_local_location
    ik_settings = read_ik_settings(obj, names)
    R_world_armature, _ = rotation_part(np.array(obj.matrix_world))
    R_solve_armature = solve_frame_rotation(R_world_armature)
    key = hashlib.sha1()
    for part in (
        "\0".join(names), "\0".join(p or "" for p in parents_named), T_armature_bone.astype(np.float32),
        lengths.astype(np.float32), np.array(inherit), np.array([local_location]), R_solve_armature,
        *(ik_settings[k] for k in sorted(ik_settings)),
    ):
        key.update(part.encode() if isinstance(part, str) else np.ascontiguousarray(part).tobytes())
    fingerprint = key.digest()
    cached = _MODEL_CACHE.get(fingerprint)
    if cached is not None:
        _MODEL_CACHE.move_to_end(fingerprint)
        _remember_quick(quick, cached)
        return cached
    for name, ok in zip(names, inherit):
        if not ok:
            raise AddonError(
                f"bone {name!r} does not inherit its parent's rotation (Bone > Relations > Inherit Rotation is off): "
                "the solver needs it on"
            )
    model = _build_model(names, parents_named, T_armature_bone, lengths, local_location, ik_settings,
                         R_solve_armature, fingerprint)
    _MODEL_CACHE[fingerprint] = model
    while len(_MODEL_CACHE) > _MODEL_CACHE_SIZE:
        _MODEL_CACHE.popitem(last=False)
    _remember_quick(quick, model)
    return model


def _build_model(names, parents_named, T_armature_bone, lengths, local_location, ik_settings,
                 R_solve_armature, fingerprint) -> ArmatureModel:
    ik = engine()
    n = len(names)
    index = {name: i for i, name in enumerate(names)}
    parents = np.array([-1 if p is None else index[p] for p in parents_named], dtype=np.int64)
    R_armature_bone = T_armature_bone[:, :3, :3]
    # Re-orthonormalise the float32 rest rotations.
    u, _, vt = np.linalg.svd(R_armature_bone)
    R_armature_bone = u @ vt
    head_armature = T_armature_bone[:, :3, 3]

    lower = np.full((n, 3), -np.pi)
    upper = np.full((n, 3), np.pi)
    source = ["none"] * n
    coordinates = ["axis_angle"] * n  # what each joint's limits box (SMPL-X joints: the shipped kinds)
    smplx_joint = np.full(n, -1)  # each bone's SMPL-X joint whose shipped limits it takes (-1: none)
    R_armature_joint = R_armature_bone.copy()

    uses_ik = ik_settings["use_ik_limit_"] | ik_settings["lock_ik_"]
    has_ik = uses_ik.any(axis=1)
    R_armature_smplx = None
    smplx = ik.load_skeleton("smplx")
    from ik_engine.geometry import BODY_JOINTS

    if all(name in index for name in BODY_JOINTS):
        common = [name for name in smplx.joint_names if name in index]
        smplx_rest = smplx.rest_positions()[smplx.indices(common)]
        # R maps armature directions to SMPL-X ones; its transpose holds the SMPL-X axes.
        R_smplx_armature = fit_rotation(head_armature[[index[c] for c in common]], smplx_rest)
        R_armature_smplx = R_smplx_armature.T
        for name in common:
            j = index[name]
            if has_ik[j]:
                continue
            smplx_joint[j] = smplx.index(name)
            R_armature_joint[j] = R_armature_smplx
            source[j] = "smplx"
    neutral, reach = shipped_limits(smplx, smplx_joint, lower, upper, coordinates)
    for j in np.flatnonzero(has_ik):
        source[j] = "ik"
        coordinates[j], lower[j], upper[j] = blender_ik_joint(
            names[j], ik_settings["lock_ik_"][j], ik_settings["use_ik_limit_"][j],
            ik_settings["ik_min_"][j].astype(np.float64), ik_settings["ik_max_"][j].astype(np.float64))

    moving = [names[j] for j in range(n) if not ik_settings["lock_ik_"][j].all()]
    R_bone_joint = np.swapaxes(R_armature_bone, -1, -2) @ R_armature_joint

    roots = np.flatnonzero(parents < 0)
    R_solve_joint = R_solve_armature @ R_armature_joint
    head_solve = head_armature @ R_solve_armature.T
    bones: list = list(names)
    if len(roots) > 1:
        # A fixed joint at the armature origin, aligned with the solve frame, carries them all.
        bones = [None] + bones
        parents = np.concatenate([[-1], np.where(parents < 0, 0, parents + 1)])
        R_solve_joint = np.concatenate([np.eye(3)[None], R_solve_joint])
        head_solve = np.concatenate([np.zeros((1, 3)), head_solve])
        lower = np.concatenate([np.zeros((1, 3)), lower])
        upper = np.concatenate([np.zeros((1, 3)), upper])
        R_armature_bone = np.concatenate([R_solve_armature.T[None], R_armature_bone])
        R_bone_joint = np.concatenate([np.eye(3)[None], R_bone_joint])
        lengths = np.concatenate([[0.0], lengths])
        source = ["none"] + source
        coordinates = ["axis_angle"] + coordinates
        neutral = None if neutral is None else np.concatenate([np.eye(3)[None], neutral])
        reach = None if reach is None else np.concatenate([np.full((1, reach.shape[1]), np.inf), reach])
    J = len(bones)
    R_rest = np.empty((J, 3, 3))
    offsets = np.empty((J, 3))
    for j in range(J):
        p = parents[j]
        if p < 0:
            R_rest[j], offsets[j] = R_solve_joint[j], head_solve[j]
        else:
            R_rest[j] = R_solve_joint[p].T @ R_solve_joint[j]
            offsets[j] = R_solve_joint[p].T @ (head_solve[j] - head_solve[p])
    if EXTRA_ROOT in names:
        raise AddonError(f"a bone is called {EXTRA_ROOT!r}, a name the add-on reserves: rename it")
    joint_names = [EXTRA_ROOT if b is None else b for b in bones]
    skeleton = ik.Skeleton(joint_names, parents, offsets, lower, upper, rest_rotations=R_rest, name="armature",
                           coordinates=coordinates, neutral_rotations=neutral, swing_reach=reach)
    root_bone = names[roots[0]] if len(roots) == 1 else None
    return ArmatureModel(
        skeleton=skeleton, bones=tuple(bones), R_armature_bone=R_armature_bone, R_bone_joint=R_bone_joint,
        R_solve_armature=R_solve_armature, bone_length=lengths, root_bone=root_bone,
        root_local_location=bool(local_location), moving_bones=tuple(moving), limit_source=tuple(source),
        R_armature_smplx=R_armature_smplx, fingerprint=fingerprint,
    )
