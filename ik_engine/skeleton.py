"""Skeleton: an immutable kinematic tree with joint limits (numpy only).

Conventions (SMPL-X's): each joint's rotation is an axis-angle vector expressed in its
parent's frame; with ``rest_rotations`` (formats whose bones have their own rest frames)
the rotation acts in the joint's rest frame, ``R_parent_joint = R_rest @ exp(r)``.
Units: metres and radians.

A joint limit is a box on the joint's coordinates: ``lower[j, i] <= c[j, i] <= upper[j, i]``.
The coordinates of most joints are the axis-angle components themselves (``c = r``); a joint
whose motions a box on those would couple (an elbow that flexes and pronates) may use Euler
coordinates instead (``coordinates[j]``, see ``joint_coordinates``). Poses always hold
axis-angles. A component with ``lower == upper`` is a locked degree of freedom.
"""

from __future__ import annotations

import difflib
import functools
from typing import Iterable, Sequence

import numpy as np

from .errors import PoseError, SkeletonError, UnknownJointError
from .joint_coordinates import (
    AXIS_ANGLE,
    SWING_TWIST_KINDS,
    axis_angle_to_coordinates,
    clamped_coordinates,
    coordinates_to_axis_angle,
    project_swing,
    swing_scale,
    twist_axis,
)
from .joint_kinds import (
    centred_joints,
    check_rotation_matrices,
    checked_coordinates,
    checked_neutral_rotations,
    checked_swing_reach,
    elliptic_swings,
    swing_limit_excess,
)
from .kinematics import TreeLevels, forward_kinematics, local_rotations
from .pose import Pose

# Violations smaller than this are rounding, not a broken limit (radians).
LIMIT_TOLERANCE = 1e-9


def _wrapped(angle: float) -> float:
    """``angle`` moved into (-pi, pi]."""
    return float(np.pi - np.mod(np.pi - angle, 2.0 * np.pi))


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _finite_array(value, shape: tuple[int, ...], what: str) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SkeletonError(f"{what} must be numbers of shape {shape}: {exc}") from None
    if array.shape != shape:
        raise SkeletonError(f"{what} must have shape {shape}, got {array.shape}")
    bad = ~np.isfinite(array)
    if bad.any():
        where = np.argwhere(bad)[0].tolist()
        raise SkeletonError(f"{what} must be finite; entry {where} is {array[tuple(where)]}")
    return array


class Skeleton:
    """An immutable kinematic tree: joint names, parents, rest offsets, limits.

    Args:
        joint_names: J unique names.
        parents: (J,) parent index of each joint, -1 for the single root; every parent
            comes before its children.
        rest_offsets: (J, 3) position of each joint in its parent's rest frame, metres; the
            root's entry is its world position at rest.
        lower, upper: (J, 3) joint limits on each joint's coordinates, radians
            (default: unlimited, [-pi, pi]).
        coordinates: optional J kinds of joint coordinates that the limits box:
            ``"axis_angle"`` (the default for every joint), an Euler order such as
            ``"yzx"``, or a swing-twist kind such as ``"swing_twist_y"`` (a ball joint whose
            swing is limited to an ellipse and whose twist about the bone axis to a range;
            see ``ik_engine.joint_coordinates``). The root must use axis-angle.
        neutral_rotations: optional (J, 3, 3): for swing-twist joints, the rotation at which
            their coordinates are zero, the centre of their swing limits (identity elsewhere,
            and by default); the joint's rotation is ``coordinates_to_matrix(c) @ N``.
        swing_reach: optional (J, R) radians: for swing-twist joints, the swing's reach in R
            directions evenly spaced around the twist axis (``joint_coordinates.reach_sine``),
            instead of the ellipse; rows of ``inf`` for joints without a table.
        rest_rotations: optional (J, 3, 3) rest orientation of each joint in its parent's
            frame; None means every rest frame is aligned with its parent (SMPL-X, BVH).
        radii: optional (J,) capsule radius of the segment ending at each joint, metres.
        name: a label.
    """

    def __init__(
        self,
        joint_names: Sequence[str],
        parents: Sequence[int],
        rest_offsets,
        lower=None,
        upper=None,
        rest_rotations=None,
        radii=None,
        name: str = "skeleton",
        coordinates=None,
        neutral_rotations=None,
        swing_reach=None,
    ) -> None:
        names = tuple(joint_names)
        if not names:
            raise SkeletonError("a skeleton needs at least one joint")
        for i, n in enumerate(names):
            if not isinstance(n, str) or not n:
                raise SkeletonError(f"joint name at index {i} must be a non-empty string, got {n!r}")
        seen: dict[str, int] = {}
        for i, n in enumerate(names):
            if n in seen:
                raise SkeletonError(f"joint name {n!r} appears twice (indices {seen[n]} and {i})")
            seen[n] = i
        J = len(names)
        try:
            parent_array = np.array(parents)
        except (TypeError, ValueError) as exc:
            raise SkeletonError(f"parents must be integers: {exc}") from None
        if parent_array.shape != (J,):
            raise SkeletonError(f"parents must have shape ({J},) like joint_names, got {parent_array.shape}")
        if not np.issubdtype(parent_array.dtype, np.integer):
            raise SkeletonError(f"parents must be integers, got dtype {parent_array.dtype}")
        parent_array = parent_array.astype(np.int64)
        roots = np.flatnonzero(parent_array == -1)
        if len(roots) != 1 or roots[0] != 0:
            raise SkeletonError(
                f"exactly one root (parent -1) is needed and it must be joint 0; roots found at {roots.tolist()}"
            )
        for j, p in enumerate(parent_array):
            if j == 0:
                continue
            if p < -1 or p >= J:
                raise SkeletonError(f"joint {names[j]!r} has parent index {p}, outside 0..{J - 1}")
            if p >= j:
                raise SkeletonError(
                    f"joint {names[j]!r} (index {j}) has parent index {p}: parents must come before "
                    "their children (this also rules out cycles)"
                )
        offsets = _finite_array(rest_offsets, (J, 3), "rest_offsets")
        lower_array = _finite_array(np.full((J, 3), -np.pi) if lower is None else lower, (J, 3), "lower limits")
        upper_array = _finite_array(np.full((J, 3), np.pi) if upper is None else upper, (J, 3), "upper limits")
        inverted = np.argwhere(lower_array > upper_array)
        if len(inverted):
            j, i = inverted[0]
            raise SkeletonError(
                f"joint {names[j]!r}: lower limit {lower_array[j, i]:.6g} > upper limit "
                f"{upper_array[j, i]:.6g} on axis {'xyz'[i]}"
            )
        rest_rot_array = None
        if rest_rotations is not None:
            rest_rot_array = _finite_array(rest_rotations, (J, 3, 3), "rest_rotations")
            check_rotation_matrices(names, rest_rot_array, "rest_rotations")
        radii_array = None
        if radii is not None:
            radii_array = _finite_array(radii, (J,), "radii")
            if (radii_array < 0).any():
                raise SkeletonError(f"radii must be >= 0; joint {names[int(np.argmin(radii_array))]!r} has {radii_array.min()}")

        kinds = checked_coordinates(names, coordinates, lower_array, upper_array)
        self._names = names
        self._coordinates = kinds
        neutral = checked_neutral_rotations(names, kinds, neutral_rotations)
        self._neutral, self._centred = (None, None) if neutral is None else (_readonly(neutral), centred_joints(neutral))
        # Joints whose coordinates are not axis-angle, and of those the swing-twist ones.
        self._euler_joints = tuple((j, kind) for j, kind in enumerate(kinds) if kind != AXIS_ANGLE)
        self._swing_joints = tuple(j for j, kind in enumerate(kinds) if kind in SWING_TWIST_KINDS)
        reach = checked_swing_reach(names, kinds, swing_reach)
        self._reach = None if reach is None else _readonly(reach)
        self._elliptic = elliptic_swings(kinds, lower_array, upper_array, reach)
        self._index = seen
        self._parents = _readonly(parent_array)
        self._offsets = _readonly(offsets)
        self._lower = _readonly(lower_array)
        self._upper = _readonly(upper_array)
        self._rest_rotations = None if rest_rot_array is None else _readonly(rest_rot_array)
        self._radii = None if radii_array is None else _readonly(radii_array)
        self.name = name
        self.levels = TreeLevels.from_parents(parent_array)

    # ----------------------------------------------------------------- structure
    @property
    def joint_names(self) -> list[str]:
        """The J joint names, in joint order."""
        return list(self._names)

    @property
    def num_joints(self) -> int:
        return len(self._names)

    @property
    def parents(self) -> np.ndarray:
        """(J,) parent index of each joint, -1 for the root (read-only)."""
        return self._parents

    @property
    def rest_offsets(self) -> np.ndarray:
        """(J, 3) joint positions in their parent's rest frame, metres (read-only)."""
        return self._offsets

    @property
    def rest_rotations(self) -> np.ndarray | None:
        """(J, 3, 3) rest orientations in the parent's frame, or None for aligned frames."""
        return self._rest_rotations

    @property
    def lower(self) -> np.ndarray:
        """(J, 3) lower joint limits on each joint's coordinates, radians (read-only)."""
        return self._lower

    @property
    def upper(self) -> np.ndarray:
        """(J, 3) upper joint limits on each joint's coordinates, radians (read-only)."""
        return self._upper

    @property
    def coordinates(self) -> tuple[str, ...]:
        """The kind of coordinates each joint's limits box: "axis_angle", an Euler order or a
        swing-twist kind."""
        return self._coordinates

    @property
    def neutral_rotations(self) -> np.ndarray | None:
        """(J, 3, 3) each swing-twist joint's neutral rotation (its limits' centre), or None
        when every joint's coordinates are zero at its rest rotation."""
        return self._neutral

    def neutral(self, j: int) -> np.ndarray | None:
        """Joint j's neutral rotation (3, 3), or None for the identity."""
        return None if self._neutral is None or not self._centred[j] else self._neutral[j]

    @property
    def elliptic_swing(self) -> np.ndarray:
        """(J,) bool: swing-twist joints whose swing an ellipse limits (both swing
        coordinates limited, no reach table); False for every other joint."""
        return self._elliptic.copy()

    @property
    def swing_reach(self) -> np.ndarray | None:
        """(J, R) the swing-twist joints' reach tables, radians (``MAX_SWING`` in the rows of
        joints without one), or None when no joint has one."""
        return self._reach

    def reach(self, j: int) -> np.ndarray | None:  # joint j's reach table (R,), radians, or None
        return None if self._reach is None else self._reach[j]

    def to_coordinates(self, rotations) -> np.ndarray:
        """(..., J, 3) joint coordinates of axis-angle rotations (..., J, 3)."""
        return self._converted(rotations, axis_angle_to_coordinates)

    def from_coordinates(self, coordinates) -> np.ndarray:
        """(..., J, 3) axis-angle rotations of joint coordinates (..., J, 3)."""
        return self._converted(coordinates, coordinates_to_axis_angle)

    def _converted(self, values, convert) -> np.ndarray:
        """A float64 copy of ``values`` (..., J, 3) with ``convert(rows, kind)`` applied to
        the rows of joints whose coordinates are not axis-angle."""
        out = np.array(values, dtype=np.float64)
        for j, kind in self._euler_joints:
            out[..., j, :] = convert(out[..., j, :], kind, self.neutral(j))
        return out

    @property
    def radii(self) -> np.ndarray | None:
        """(J,) capsule radius of the segment ending at each joint, metres, if known."""
        return self._radii

    @property
    def free_dofs(self) -> np.ndarray:
        """(J, 3) bool: which coordinates can move (lower < upper)."""
        return self._upper > self._lower

    def index(self, joint: str | int) -> int:
        """Index of a joint given by name (or index); raises UnknownJointError."""
        if isinstance(joint, (int, np.integer)) and not isinstance(joint, bool):
            if not 0 <= joint < self.num_joints:
                raise UnknownJointError(f"joint index {joint} is outside 0..{self.num_joints - 1} of skeleton {self.name!r}")
            return int(joint)
        if not isinstance(joint, str):
            raise UnknownJointError(f"a joint must be given by name (str), got {type(joint).__name__} {joint!r}")
        try:
            return self._index[joint]
        except KeyError:
            close = difflib.get_close_matches(joint, self._names, n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise UnknownJointError(f"unknown joint {joint!r} in skeleton {self.name!r}{hint}") from None

    def indices(self, joints: Iterable[str | int]) -> list[int]:
        """Indices of several joints; raises UnknownJointError for the first unknown one."""
        return [self.index(j) for j in joints]

    @functools.cached_property
    def ancestors(self) -> tuple[tuple[int, ...], ...]:
        """For each joint, the chain of its ancestors and itself, root first."""
        chains: list[tuple[int, ...]] = []
        for j, p in enumerate(self._parents):
            chains.append((chains[p] if p >= 0 else ()) + (j,))
        return tuple(chains)

    # ----------------------------------------------------------------- poses
    def rest_pose(self) -> Pose:
        """All joint rotations zero and no root translation."""
        return Pose(np.zeros((self.num_joints, 3)), np.zeros(3))

    def check_pose(self, pose: Pose) -> Pose:
        """Raise PoseError unless ``pose`` is a Pose with one rotation per joint."""
        if not isinstance(pose, Pose):
            raise PoseError(f"expected an ik_engine.Pose, got {type(pose).__name__}")
        if pose.rotations.shape != (self.num_joints, 3):
            raise PoseError(
                f"pose has {pose.rotations.shape[0]} joint rotations but skeleton {self.name!r} has {self.num_joints} joints"
            )
        return pose

    def world_transforms(self, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
        """(R_world_joint (J, 3, 3), p_world_joint (J, 3)) of a pose, float64."""
        self.check_pose(pose)
        R_parent_joint = local_rotations(pose.rotations, self._rest_rotations, np)
        p_world_root = self._offsets[0] + pose.translation
        return forward_kinematics(self.levels, self._offsets, R_parent_joint, p_world_root, np)

    def world_positions(self, pose: Pose) -> np.ndarray:
        """(J, 3) world position of every joint, metres."""
        return self.world_transforms(pose)[1]

    def world_rotations(self, pose: Pose) -> np.ndarray:
        """(J, 3, 3) world rotation of every joint's frame."""
        return self.world_transforms(pose)[0]

    def rest_positions(self) -> np.ndarray:
        """(J, 3) world joint positions of the rest pose."""
        return self.world_positions(self.rest_pose())

    def random_pose(self, rng: np.random.Generator, joints: Iterable[str | int] | None = None) -> Pose:
        """A pose drawn uniformly inside the limits of ``joints`` (all if None); others at rest.

        Unlimited components (a range of 2 pi or more, like the root) are drawn in [-pi, pi].
        """
        rng = np.random.default_rng(rng)
        selected = range(self.num_joints) if joints is None else self.indices(joints)
        coordinates = np.zeros((self.num_joints, 3))
        lo = np.maximum(self._lower, -np.pi)
        hi = np.minimum(self._upper, np.pi)
        for j in selected:
            coordinates[j] = rng.uniform(lo[j], hi[j])
            if j in self._swing_joints:
                # Uniform in the coordinates inside the swing region: draw again while outside.
                t = twist_axis(self._coordinates[j])
                for _ in range(100):
                    if swing_scale(coordinates[j], t, lo[j], hi[j], self._elliptic[j], np, self.reach(j)) >= 1.0:
                        break
                    coordinates[j] = rng.uniform(lo[j], hi[j])
                coordinates[j] = project_swing(coordinates[j], t, lo[j], hi[j], self._elliptic[j], np, self.reach(j))
        rotations = np.zeros((self.num_joints, 3))  # the others at rest (not at coordinates 0: a neutral rotation)
        rotations[list(selected)] = self.from_coordinates(coordinates)[list(selected)]
        return Pose(rotations, np.zeros(3))

    def joint_limit_excess(self, pose: Pose) -> np.ndarray:
        """(J,) radians by which each joint's coordinates lie outside its limit box.

        An axis-angle vector and its equivalent going the other way round
        (``r * (1 - 2 pi / |r|)``) are the same rotation; the one closer to the box counts.
        Euler coordinates have two equivalent sets too (the middle angle in [-pi/2, pi/2]
        or beyond); again the one closer to the box counts. A swing-twist joint also counts
        the angle by which its swing lies beyond its ellipse.
        """
        self.check_pose(pose)
        r = pose.rotations
        theta = np.linalg.norm(r, axis=-1, keepdims=True)
        alternative = np.where(theta > 1e-12, r * (1.0 - 2.0 * np.pi / np.maximum(theta, 1e-12)), r)
        swing_excess = np.zeros(r.shape[:-1])
        if self._euler_joints:
            r, alternative = self.to_coordinates(r), alternative.copy()
            for j, kind in self._euler_joints:
                if kind in SWING_TWIST_KINDS:
                    # One set of coordinates; the twist at +-pi may count either way round.
                    t = twist_axis(kind)
                    alternative[j] = r[j]
                    alternative[j, t] = r[j, t] - np.copysign(2 * np.pi, r[j, t])
                    swing_excess[j] = swing_limit_excess(r[j], t, self._lower[j], self._upper[j], self._elliptic[j], self.reach(j))
                    continue
                i, m, k = ("xyz".index(a) for a in kind)
                c = r[j]
                other = np.empty(3)
                other[i], other[k] = _wrapped(c[i] + np.pi), _wrapped(c[k] + np.pi)
                other[m] = np.copysign(np.pi, c[m]) - c[m]
                alternative[j] = other
        excess = [
            np.max(np.maximum(self._lower - v, 0.0) + np.maximum(v - self._upper, 0.0), axis=-1)
            for v in (r, alternative)
        ]
        return np.maximum(np.minimum(*excess), swing_excess)

    def limit_violation(self, pose: Pose) -> float:
        """Largest amount, in radians, by which any joint is beyond its limits; 0.0 when within."""
        excess = float(self.joint_limit_excess(pose).max())
        return excess if excess > LIMIT_TOLERANCE else 0.0

    def clamp(self, pose: Pose) -> Pose:
        """The pose with every joint's coordinates clipped into its limits."""
        self.check_pose(pose)
        return Pose(self.clamped_rotations(pose.rotations), pose.translation)

    def clamped_rotations(self, rotations, joints=None) -> np.ndarray:
        """Axis-angle rotations (..., K, 3) of ``joints`` (indices, default all J) with their
        coordinates clipped into the limits."""
        joints = np.arange(self.num_joints) if joints is None else np.asarray(joints, dtype=np.int64)
        r = np.array(rotations, dtype=np.float64)
        out = np.clip(r, self._lower[joints], self._upper[joints])
        for row, j in enumerate(joints):
            kind = self._coordinates[j]
            if kind != AXIS_ANGLE:
                c = axis_angle_to_coordinates(r[..., row, :], kind, self.neutral(j))
                c = clamped_coordinates(c, kind, self._lower[j], self._upper[j], self._elliptic[j], self.reach(j))
                out[..., row, :] = coordinates_to_axis_angle(c, kind, self.neutral(j))
        return out

    def articulation_key(self) -> tuple:
        """Everything of the skeleton that a solver's programs are built on: joint names, tree,
        limits and their coordinates, centres and reach tables, rest rotations (hashable; not the rest
        offsets and radii, which reach programs as inputs). Bodies with equal keys differ only
        in proportions; one solver's programs serve all of them (``IKSolver.with_body``)."""
        def data(array):
            return None if array is None else (array.shape, array.tobytes())

        return (tuple(self._names), data(self._parents), data(self._lower), data(self._upper), tuple(self._coordinates),
                data(self._neutral), data(self._reach), data(self._rest_rotations))

    def with_rest_offsets(self, rest_offsets, name: str | None = None) -> "Skeleton":
        """The same skeleton (names, tree, limits and their kinds and centres, rest rotations,
        radii) with other bone offsets (J, 3), metres: a body of other proportions."""
        return Skeleton(self.joint_names, self.parents, rest_offsets, self.lower, self.upper,
                        rest_rotations=self.rest_rotations, radii=self.radii, name=self.name if name is None else name,
                        coordinates=self.coordinates, neutral_rotations=self.neutral_rotations,
                        swing_reach=self.swing_reach)

    def __repr__(self) -> str:
        return f"Skeleton({self.name!r}, {self.num_joints} joints)"
