"""From (skeleton, moving joints, constraint structure) to a residual problem.

The static structure (which joints move, which constraints of which kinds on which
joints) is fixed when a problem is built; everything that may change between solves
(targets, weights, the initial pose, tolerances) is passed as arrays, so a compiled
problem never needs recompiling for new targets.

Only the joints the constraints depend on (their ancestors) are evaluated, so an arm
problem on a 55-joint body runs forward kinematics on 9 joints.

Variables ``q`` (n,): the axis-angle components of each moving joint (3 each, in
``moving_joints`` order), then the root translation (3) when the root moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .constraints.base import Constraint
from .errors import ConstraintError, SolverError
from .kinematics import TreeLevels, forward_kinematics, local_rotations
from .rotations import left_jacobian, skew
from .skeleton import Skeleton

TOLERANCE_KINDS = ("position", "orientation")


@dataclass(frozen=True)
class ConstraintSlot:
    """Where one constraint's data sits in the problem's arrays."""

    kind: type
    joint_rows: tuple[int, ...]
    param_slice: slice
    residual_slice: slice
    tolerance_index: int


class KinematicState:
    """The kinematic state at one value of the variables, as constraints see it.

    Attributes:
        R_world_joint: (S, 3, 3) world rotations of the problem's joints.
        p_world_joint: (S, 3) world positions.
    """

    def __init__(self, problem: "ResidualProblem", R_world_joint: Any, p_world_joint: Any, W_world_dof: Any, xp: Any):
        self.problem = problem
        self.R_world_joint = R_world_joint
        self.p_world_joint = p_world_joint
        # (M, 3, 3): column k of block m is the world angular velocity per unit change of
        # moving joint m's k-th axis-angle component.
        self.W_world_dof = W_world_dof
        self.xp = xp

    def rotation_jacobian(self, row: int) -> Any:
        """(3, n) world angular velocity of joint ``row``'s frame per unit change of q."""
        xp = self.xp
        mask = self.problem.ancestor_mask[row]  # (M,) static
        blocks = self.W_world_dof * mask[:, None, None]
        J = xp.reshape(xp.transpose(blocks, (1, 0, 2)), (3, -1))
        return self._append_translation(J, xp.zeros((3, 3), dtype=J.dtype))

    def point_jacobian(self, row: int, p_world_point: Any) -> Any:
        """(3, n) world velocity of a point rigidly attached to joint ``row``, per unit change of q."""
        xp = self.xp
        mask = self.problem.ancestor_mask[row]
        p_moving = xp.take(self.p_world_joint, self.problem.moving_rows, axis=0)  # (M, 3)
        # omega x (p - p_joint) = [p_joint - p]x omega
        blocks = skew(p_moving - p_world_point, xp) @ self.W_world_dof * mask[:, None, None]
        J = xp.reshape(xp.transpose(blocks, (1, 0, 2)), (3, -1))
        return self._append_translation(J, xp.eye(3, dtype=J.dtype))

    def _append_translation(self, J: Any, translation_block: Any) -> Any:
        if not self.problem.move_root:
            return J
        return self.xp.concatenate([J, translation_block], axis=1)


class ResidualProblem:
    """Static structure of an IK problem and its weighted residual function.

    Args:
        skeleton: the kinematic tree.
        moving_joints: indices of the joints whose rotations are variables.
        move_root: whether the root translation is a variable.
        constraints: the constraints; only their kinds and joints are used here.
    """

    def __init__(self, skeleton: Skeleton, moving_joints: Sequence[int], move_root: bool, constraints: Sequence[Constraint]):
        if not constraints:
            raise SolverError("no constraints given: pass at least one constraint to solve for")
        self.skeleton = skeleton
        self.move_root = bool(move_root)
        joint_lists = [skeleton.indices(c.joints()) for c in constraints]
        # The subtree: every constrained joint and its ancestors, in skeleton order.
        needed = sorted({a for joints in joint_lists for j in joints for a in skeleton.ancestors[j]})
        self.joints = np.array(needed, dtype=np.int64)  # (S,) skeleton indices
        row_of = {int(j): r for r, j in enumerate(needed)}
        sub_parents = [-1 if skeleton.parents[j] < 0 else row_of[int(skeleton.parents[j])] for j in needed]
        self.levels = TreeLevels.from_parents(sub_parents)
        self.offsets = skeleton.rest_offsets[self.joints]
        self.rest_rotations = None if skeleton.rest_rotations is None else skeleton.rest_rotations[self.joints]

        # Moving joints that can influence a constraint; others keep their initial rotation.
        moving = sorted(set(int(j) for j in moving_joints) & set(needed))
        self.moving_joints = np.array(moving, dtype=np.int64)  # (M,) skeleton indices
        self.moving_rows = np.array([row_of[j] for j in moving], dtype=np.int64)  # (M,) rows in the subtree
        self.ancestor_mask = np.zeros((len(needed), len(moving)))  # (S, M)
        for r, j in enumerate(needed):
            chain = set(skeleton.ancestors[j])
            self.ancestor_mask[r] = [1.0 if m in chain else 0.0 for m in moving]
        self.num_variables = 3 * len(moving) + (3 if self.move_root else 0)
        if self.num_variables == 0:
            names = sorted({n for c in constraints for n in c.joints()})
            raise SolverError(
                f"none of the moving joints affects the constrained joints {names}: nothing can move to satisfy them"
            )

        lower = skeleton.lower[self.moving_joints].reshape(-1)
        upper = skeleton.upper[self.moving_joints].reshape(-1)
        if self.move_root:
            lower = np.concatenate([lower, np.full(3, -np.inf)])
            upper = np.concatenate([upper, np.full(3, np.inf)])
        self.lower, self.upper = lower, upper

        slots, p, m = [], 0, 0
        for c, joints in zip(constraints, joint_lists):
            size = type(c).parameter_size()
            if c.tolerance_kind not in TOLERANCE_KINDS:
                raise ConstraintError(f"{type(c).__name__} has unknown tolerance kind {c.tolerance_kind!r}")
            slots.append(
                ConstraintSlot(
                    kind=type(c),
                    joint_rows=tuple(row_of[j] for j in joints),
                    param_slice=slice(p, p + size),
                    residual_slice=slice(m, m + c.residual_size),
                    tolerance_index=TOLERANCE_KINDS.index(c.tolerance_kind),
                )
            )
            p += size
            m += c.residual_size
        self.slots = tuple(slots)
        self.num_parameters = p
        self.num_residuals = m
        self.tolerance_index = np.array([s.tolerance_index for s in slots], dtype=np.int64)

    @staticmethod
    def structure_key(skeleton: Skeleton, constraints: Sequence[Constraint]) -> tuple:
        """What must match for a compiled problem to be reused: kinds and joints."""
        return tuple((type(c), tuple(skeleton.indices(c.joints()))) for c in constraints)

    # ------------------------------------------------------------------ packing
    def pack_parameters(self, constraints: Sequence[Constraint]) -> tuple[np.ndarray, np.ndarray]:
        """(params (P,), sqrt_weights (C,)) of constraints with this problem's structure."""
        params = np.concatenate([c.parameters() for c in constraints])
        sqrt_weights = np.sqrt(np.array([c.weight for c in constraints], dtype=np.float64))
        return params, sqrt_weights

    def initial_variables(self, rotations: np.ndarray, translation: np.ndarray) -> np.ndarray:
        """q (n,) from a full pose, clipped into the limits."""
        q = rotations[self.moving_joints].reshape(-1)
        if self.move_root:
            q = np.concatenate([q, translation])
        return np.clip(q, self.lower, self.upper)

    # ------------------------------------------------------------------ evaluation
    def state(self, q: Any, fixed_rotations: Any, translation: Any, xp: Any) -> KinematicState:
        """Forward kinematics of the subtree at variables ``q``.

        Args:
            q: (n,) variables.
            fixed_rotations: (S, 3) axis-angle of every subtree joint (moving ones are replaced by q).
            translation: (3,) root translation used when the root does not move.
        """
        M = len(self.moving_joints)
        r_moving = xp.reshape(q[: 3 * M], (M, 3))
        if M:
            # Scatter the moving rotations into the subtree's rows (static index arithmetic).
            is_moving = np.zeros(len(self.joints), dtype=bool)
            is_moving[self.moving_rows] = True
            gather = np.where(is_moving, np.cumsum(is_moving) - 1, 0)
            rotations = xp.where(is_moving[:, None], xp.take(r_moving, gather, axis=0), fixed_rotations)
        else:
            rotations = fixed_rotations
        if self.move_root:
            translation = q[3 * M : 3 * M + 3]
        R_parent_joint = local_rotations(rotations, self.rest_rotations, xp)
        p_world_root = self.offsets[0] + translation
        R_world_joint, p_world_joint = forward_kinematics(self.levels, self.offsets, R_parent_joint, p_world_root, xp)
        # World angular velocity basis of each moving joint: R_world_joint @ J_r(r), J_r(r) = J_l(r)^T.
        R_world_moving = xp.take(R_world_joint, self.moving_rows, axis=0)
        W_world_dof = R_world_moving @ xp.swapaxes(left_jacobian(r_moving, xp), -1, -2)
        return KinematicState(self, R_world_joint, p_world_joint, W_world_dof, xp)

    def evaluate(self, q: Any, fixed_rotations: Any, translation: Any, params: Any, sqrt_weights: Any, xp: Any):
        """Weighted residual (m,), its Jacobian (m, n) and per-constraint errors (C,) at ``q``."""
        state = self.state(q, fixed_rotations, translation, xp)
        residuals, jacobians, errors = [], [], []
        for i, slot in enumerate(self.slots):
            r, J, err = slot.kind.residual(state, slot.joint_rows, params[slot.param_slice], xp)
            residuals.append(r * sqrt_weights[i])
            jacobians.append(J * sqrt_weights[i])
            errors.append(err)
        return xp.concatenate(residuals), xp.concatenate(jacobians, axis=0), xp.stack(errors)
