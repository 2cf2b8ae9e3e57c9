"""RestPose: pull the moving joints toward the rest pose or a reference pose (a regulariser)."""

from __future__ import annotations

from typing import Any, Hashable, Mapping, NamedTuple

import numpy as np

from ..errors import ConstraintError
from ..joint_coordinates import SWING_TWIST_KINDS, body_jacobian, coordinates_to_matrix
from ..pose import Pose
from ..rotations import inverse_left_jacobian, matrix_to_axis_angle
from .base import LOWEST_PRIORITY, Constraint, check_priority, check_weight
from .parameter_structure import pack, unpack

PER_JOINT_WEIGHTS = "per-joint weights"  # the static choice of a RestPose given weights


class RestPoseParameters(NamedTuple):
    """RestPose's (and Smoothness's) parameters: the reference pose's joint coordinates (J, 3),
    the square roots of the per-joint weights (J,), and its root translation (3,), metres."""

    coordinates: Any
    sqrt_weights: Any
    translation: Any


class RestPose(Constraint):
    """Keep unconstrained joints natural: pull each moving joint toward a reference rotation.

    Args:
        weights: per-joint weights, a mapping {joint name: weight} (others 1.0) or a (J,)
            array; None: 1.0 for every joint.
        reference: the Pose to pull toward (default: the rest pose).
        weight: overall weight (multiplies the squared differences of the joint coordinates:
            axis-angle components, or Euler angles for joints whose limits use them; for
            swing-twist joints, whose coordinates are centred on another rotation than rest,
            the squared rotation vector from the reference's rotation to the joint's).
        priority: default: below every other level, so the pull only uses the freedom
            that the targets leave.

    A regulariser: never "met"; once the targets are met the solver keeps improving it until
    it stalls. Error: root-mean-square joint-coordinate difference over the moving joints
    (the rotation angle from the reference for swing-twist joints), radians.
    """

    tolerance_kind = None
    reads_rotations = True
    # Whether the pull includes the root translation when it moves (Smoothness: yes).
    pulls_translation = False

    def __init__(self, weights: Mapping[str, float] | Any = None, reference: Pose | None = None,
                 weight: float = 1.0, priority: int = LOWEST_PRIORITY) -> None:
        if reference is not None and not isinstance(reference, Pose):
            raise ConstraintError(f"{type(self).__name__} reference must be an ik_engine.Pose, got {type(reference).__name__}")
        self.reference = reference
        self.joint_weights = weights
        self.weight = check_weight(weight, type(self).__name__)
        self.priority = check_priority(priority, type(self).__name__)
        if weights is not None and not isinstance(weights, Mapping):
            if isinstance(weights, (str, bytes)):
                raise ConstraintError(f"{type(self).__name__} weights must be a (J,) array of finite values >= 0 or a "
                                      f"mapping {{joint name: weight}}, got the string {weights!r}")
            try:
                array = np.asarray(weights, dtype=np.float64)
            except (TypeError, ValueError):
                raise ConstraintError(f"{type(self).__name__} weights must be a (J,) array of finite values >= 0 or a "
                                      f"mapping {{joint name: weight}}, got {weights!r}") from None
            if array.ndim != 1 or not np.isfinite(array).all() or (array < 0).any():
                raise ConstraintError(f"{type(self).__name__} weights must be a (J,) array of finite values >= 0 or a mapping")

    def joints(self) -> tuple[str, ...]:
        return ()

    def static(self, skeleton: Any) -> Hashable:
        """("per-joint weights",) when weights are given and not all equal: such a pull is solved
        exactly below the targets (an even one takes the solver's cheaper step, same optimum)."""
        if self.joint_weights is None:
            return ()
        w = self._per_joint_weights(skeleton)
        return () if np.all(w == w[0]) else (PER_JOINT_WEIGHTS,)

    @staticmethod
    def uneven_pull(static: Hashable, problem: Any = None) -> bool:
        """Per-joint weights, or a swing-twist joint among the moving ones (its pull's Jacobian
        is not the identity, so the cheaper diagonal step, exact only for an identity, stopped
        after one step: a shoulder's pull toward the T-pose left it 1.63 rad from rest where the
        exact step ends at 0.25, as the box table does)."""
        return static == (PER_JOINT_WEIGHTS,) or (problem is not None and bool(swing_twist_groups(problem)))

    def _per_joint_weights(self, skeleton: Any) -> np.ndarray:
        J = skeleton.num_joints
        if self.joint_weights is None:
            return np.ones(J)
        if isinstance(self.joint_weights, Mapping):
            w = np.ones(J)
            for name, value in self.joint_weights.items():
                w[skeleton.index(name)] = check_weight(value, f"{type(self).__name__} weight of joint {name!r}")
            return w
        w = np.asarray(self.joint_weights, dtype=np.float64)
        if w.shape != (J,):
            raise ConstraintError(f"{type(self).__name__} weights must have shape ({J},), got {w.shape}")
        return w

    def _reference(self, skeleton: Any) -> Pose:
        reference = skeleton.rest_pose() if self.reference is None else self.reference
        if reference.rotations.shape != (skeleton.num_joints, 3):
            raise ConstraintError(
                f"{type(self).__name__} reference pose has {reference.num_joints} joints, the skeleton {skeleton.num_joints}"
            )
        return reference

    def validate(self, skeleton: Any, init: Any) -> None:
        self.parameters(skeleton)

    def parameters(self, skeleton: Any) -> np.ndarray:
        return self.shifted_parameters(skeleton, np.zeros(3))

    def parameter_size(self, skeleton: Any) -> int:
        return 4 * skeleton.num_joints + 3  # coordinates (J, 3), sqrt weights (J,), translation (3,)

    def shifted_parameters(self, skeleton: Any, shift: np.ndarray) -> np.ndarray:
        reference = self._reference(skeleton)
        # The residual compares joint coordinates (Euler angles where the limits use them).
        coordinates = skeleton.to_coordinates(reference.rotations).reshape(-1)
        return pack(RestPoseParameters(coordinates, np.sqrt(self._per_joint_weights(skeleton)), reference.translation - shift))

    @classmethod
    def residual_size(cls, static: Any, joint_rows: tuple[int, ...], problem: Any) -> int:
        return 3 * len(problem.moving_joints) + (3 if cls.pulls_translation and problem.move_root else 0)

    @staticmethod
    def residual(state: Any, slot: Any, params: Any, xp: Any):
        problem = state.problem
        J = problem.skeleton.num_joints
        moving = problem.moving_joints  # static (M,)
        p = unpack(RestPoseParameters, params, {"coordinates": (J, 3), "sqrt_weights": (J,), "translation": (3,)}, xp)
        reference = xp.take(p.coordinates, moving, axis=0)
        sqrt_w = xp.take(p.sqrt_weights, moving, axis=0)
        difference, blocks = rotation_differences(state.r_moving, reference, problem, xp)  # (M, 3), (M, 3, 3)
        rows_w = xp.reshape(xp.broadcast_to(sqrt_w[:, None], difference.shape), (-1,))
        r = xp.reshape(difference, (-1,)) * rows_w
        if blocks is None:
            jac = state.rotation_variables_jacobian() * rows_w[:, None]
        else:  # block diagonal (3M, 3M), then the root translation's columns
            M = len(moving)
            diagonal = xp.reshape(blocks[:, :, None, :] * xp.asarray(np.eye(M), blocks.dtype)[:, None, :, None], (3 * M, 3 * M))
            if problem.num_variables > 3 * M:
                diagonal = xp.concatenate([diagonal, xp.zeros((3 * M, problem.num_variables - 3 * M), blocks.dtype)], axis=1)
            jac = diagonal * rows_w[:, None]
        error = xp.sqrt(xp.sum(difference * difference) / max(len(moving), 1))
        if slot.kind.pulls_translation and problem.move_root:
            translation = state.q[3 * len(moving) : 3 * len(moving) + 3]
            r = xp.concatenate([r, translation - p.translation])
            jac = xp.concatenate([jac, xp.asarray(np.eye(3, problem.num_variables, 3 * len(moving)), dtype=jac.dtype)])
        return r, jac, error

    def __repr__(self) -> str:
        return f"{type(self).__name__}(weight={self.weight}, priority={self.priority})"


def swing_twist_groups(problem: Any) -> list:
    """The (kind, positions among the moving joints, neutral rotations) groups of ``problem``'s
    moving swing-twist joints (``ResidualProblem.euler_groups``)."""
    return [(kind, rows, neutral) for kind, rows, neutral in problem.euler_groups if kind in SWING_TWIST_KINDS]


def rotation_differences(r_moving: Any, reference: Any, problem: Any, xp: Any) -> tuple[Any, Any]:
    """(difference (M, 3), its Jacobian blocks (M, 3, 3) in each joint's own coordinates, or None
    where that is the identity for every joint) of the moving joints' coordinates ``r_moving``
    (M, 3) from the ``reference`` coordinates (M, 3).

    The coordinate difference, except for swing-twist joints: their coordinates are centred on
    a neutral rotation (the hanging arm), so differences of them measured far from it are
    no angle (a pull toward the T-pose weighed the shoulder's swing by up to twice the
    rotation it asked for); for them the rotation vector ``e = log(R_ref^T R)``, whose
    derivative is ``J_r(e)^-1`` times the body angular velocity per coordinate.
    """
    groups = swing_twist_groups(problem)
    difference = r_moving - reference
    if not groups:
        return difference, None
    M = r_moving.shape[0]
    sources = np.arange(M)
    parts, part_blocks, offset = [difference], [xp.broadcast_to(xp.eye(3, dtype=r_moving.dtype), (M, 3, 3))], M
    for kind, rows, neutral in groups:
        c, c_ref = xp.take(r_moving, rows, axis=0), xp.take(reference, rows, axis=0)
        N = xp.asarray(np.eye(3) if neutral is None else neutral, r_moving.dtype)  # (k, 3, 3) or (3, 3)
        R_relative = xp.swapaxes(N, -1, -2) @ xp.swapaxes(coordinates_to_matrix(c_ref, kind, xp), -1, -2) @ coordinates_to_matrix(c, kind, xp) @ N
        e = matrix_to_axis_angle(R_relative, xp)  # (k, 3)
        omega = xp.swapaxes(N, -1, -2) @ body_jacobian(c, kind, xp)  # body angular velocity of C(c) N per coordinate
        parts.append(e)
        part_blocks.append(xp.swapaxes(inverse_left_jacobian(e, xp), -1, -2) @ omega)  # J_r^-1(e) = J_l^-1(e)^T
        sources[rows] = offset + np.arange(len(rows))
        offset += len(rows)
    return (xp.take(xp.concatenate(parts, axis=0), sources, axis=0),
            xp.take(xp.concatenate(part_blocks, axis=0), sources, axis=0))
