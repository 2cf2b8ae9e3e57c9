"""Pose: the root translation and one rotation per joint.

Rotations are axis-angle vectors in each joint's parent frame (the SMPL-X convention);
the translation moves the root joint, in metres. Poses are immutable values.
"""

from __future__ import annotations

import numpy as np

from .errors import PoseError
from .rotations import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    quaternion_to_axis_angle,
)


# How far R R^T may be from the identity for a matrix to count as a rotation.
ROTATION_MATRIX_TOLERANCE = 1e-4

def _as_finite(value, shape_tail: tuple[int, ...], what: str) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PoseError(f"{what} must be numbers: {exc}") from None
    if array.ndim != len(shape_tail) + 1 or array.shape[1:] != shape_tail:
        want = "(J, " + ", ".join(map(str, shape_tail)) + ")"
        raise PoseError(f"{what} must have shape {want}, got {array.shape}")
    if not np.isfinite(array).all():
        row = int(np.argwhere(~np.isfinite(array))[0][0])
        raise PoseError(f"{what} must be finite; joint {row} has {array[row].tolist()}")
    array.flags.writeable = False
    return array


class Pose:
    """Root translation and per-joint rotations.

    Args:
        rotations: (J, 3) axis-angle per joint, radians, in the parent's frame.
        translation: (3,) root translation, metres (default zero).
    """

    __slots__ = ("rotations", "translation")

    def __init__(self, rotations, translation=None) -> None:
        object.__setattr__(self, "rotations", _as_finite(rotations, (3,), "pose rotations"))
        t = np.zeros(3) if translation is None else translation
        try:
            t = np.array(t, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise PoseError(f"pose translation must be 3 numbers: {exc}") from None
        if t.shape != (3,):
            raise PoseError(f"pose translation must have shape (3,), got {t.shape}")
        if not np.isfinite(t).all():
            raise PoseError(f"pose translation must be finite, got {t.tolist()}")
        t.flags.writeable = False
        object.__setattr__(self, "translation", t)

    def __setattr__(self, name, value):
        raise AttributeError("Pose is immutable; build a new Pose instead")

    # Pickled (multiprocessing, Ray, a saved session) through the constructor, which checks
    # what it loads; copies are the pose itself, as for any immutable value.
    def __reduce__(self):
        return (Pose, (np.array(self.rotations), np.array(self.translation)))

    def __copy__(self) -> "Pose":
        return self

    def __deepcopy__(self, memo) -> "Pose":
        return self

    @classmethod
    def of_computed(cls, rotations: np.ndarray, translation: np.ndarray) -> "Pose":
        """A pose of float64 arrays, rotations (J, 3) and translation (3,), that a computation
        has just made, finite by construction and referenced nowhere else: taken as they are,
        without the copy and the checks of ``Pose(...)`` (the solver returns one per solve; in
        a frame loop the checks cost more than the arithmetic). Callers own that promise."""
        pose = object.__new__(cls)
        rotations.flags.writeable = False
        translation.flags.writeable = False
        object.__setattr__(pose, "rotations", rotations)
        object.__setattr__(pose, "translation", translation)
        return pose

    @property
    def num_joints(self) -> int:
        return self.rotations.shape[0]

    # ------------------------------------------------------------ conversions
    @classmethod
    def from_matrices(cls, matrices, translation=None) -> "Pose":
        """From (J, 3, 3) rotation matrices in the parent frames."""
        R = _as_finite(matrices, (3, 3), "rotation matrices")
        # A rotation matrix is orthonormal with determinant +1 (up to rounding of stored data).
        off = np.abs(R @ np.swapaxes(R, -1, -2) - np.eye(3)).max(axis=(-2, -1)) if R.size else np.zeros(0)
        bad = np.flatnonzero((off > ROTATION_MATRIX_TOLERANCE) | (np.linalg.det(R) < 0)) if R.size else []
        if len(bad):
            j = int(bad[0])
            raise PoseError(f"matrix of joint {j} is not a rotation (R R^T differs from the identity by "
                            f"{off[j]:.3g}, determinant {np.linalg.det(R[j]):.3g}): {R[j].tolist()}")
        return cls(matrix_to_axis_angle(R, np), translation)

    @classmethod
    def from_quaternions(cls, quaternions, translation=None) -> "Pose":
        """From (J, 4) quaternions ordered (w, x, y, z); they are normalised first."""
        q = _as_finite(quaternions, (4,), "quaternions")
        norms = np.linalg.norm(q, axis=-1, keepdims=True)
        if (norms < 1e-12).any():
            raise PoseError(f"quaternion of joint {int(np.argmin(norms))} has zero length")
        return cls(quaternion_to_axis_angle(q / norms, np), translation)

    def rotation_matrices(self) -> np.ndarray:
        """(J, 3, 3) rotation of each joint in its parent's frame."""
        return axis_angle_to_matrix(self.rotations, np)

    def quaternions(self) -> np.ndarray:
        """(J, 4) unit quaternions (w, x, y, z), w >= 0."""
        return matrix_to_quaternion(self.rotation_matrices(), np)

    def to_smplx(self) -> dict:
        """The parameter dict that ``smplx`` models take (batch 1): global_orient, body_pose,
        jaw_pose, leye_pose, reye_pose, left_hand_pose, right_hand_pose, transl. Needs 55 joints."""
        from ik_engine.skeletons.smplx_params import pose_to_smplx

        return pose_to_smplx(self)

    @classmethod
    def from_smplx(cls, params: dict) -> "Pose":
        """A Pose from SMPL-X parameters (numpy arrays or torch tensors, batch 1 or none)."""
        from ik_engine.skeletons.smplx_params import pose_from_smplx

        return pose_from_smplx(params)

    def with_rotation(self, joint_index: int, rotation) -> "Pose":
        """A copy with one joint's axis-angle rotation replaced."""
        rotations = self.rotations.copy()
        rotations[joint_index] = rotation
        return Pose(rotations, self.translation)

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Pose)
            and np.array_equal(self.rotations, other.rotations)
            and np.array_equal(self.translation, other.translation)
        )

    def __repr__(self) -> str:
        return f"Pose({self.num_joints} joints, translation={np.round(self.translation, 4).tolist()})"
