"""From (skeleton, moving joints, constraint structure) to a residual problem.

The static structure (which joints move, which constraints of which kinds on which joints,
at which priorities) is fixed when a problem is built; everything that may change between
solves (targets, weights, the initial pose, tolerances) is passed as arrays, so a compiled
problem never needs recompiling for new targets.

Only the joints the constraints depend on (their ancestors) are evaluated, so an arm
problem on a 55-joint body runs forward kinematics on 9 joints.

Variables ``q`` (n,): the coordinates of each moving joint (3 each, in ``moving_joints``
order): its axis-angle components, or its Euler angles where the skeleton's limits use them
(``Skeleton.coordinates``); then the root translation (3) when the root moves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Hashable, NamedTuple, Sequence

import numpy as np

from .constraints.base import Constraint
from .errors import ConstraintError, SolverError
from .kinematics import TreeLevels, forward_kinematics, local_rotations
from .joint_coordinates import body_jacobian, coordinates_to_matrix
from .kinematic_state import KinematicState
from .moving_coordinates import MovingCoordinates
from .rotations import axis_angle_to_matrix, left_jacobian
from .skeleton import Skeleton
from .swing_limits import SwingLimits

TOLERANCE_KINDS = ("position", "orientation")
# A weight below this fraction of the largest weight of its priority level counts as zero.
NEGLIGIBLE_WEIGHT = 1e-12
SOFT = -1  # tolerance index of regularisers: never part of the convergence test


@dataclass(frozen=True)
class ConstraintSlot:
    """Where one constraint's data sits in the problem's arrays, and its static choices."""

    kind: type
    joint_rows: tuple[int, ...]
    static: Hashable
    param_slice: slice
    tolerance_index: int
    level: int
    residual_slice: slice | None = None  # rows in the stacked residual (set once sizes are known)


class ProblemInputs(NamedTuple):
    """The array inputs of one solve (besides the variables).

    fixed_rotations (S, 3): axis-angle of every subtree joint (moving ones are replaced by q);
    translation (3,): root translation when the root does not move; params (P,); sqrt_weights
    (C,); initial: the KinematicState at the initial variables (for Pin), or None;
    rest_offsets (S, 3): the subtree joints' rest offsets, metres, or None for the problem's
    skeleton's (an input, so that one compiled program serves bodies of other proportions).
    """

    fixed_rotations: Any
    translation: Any
    params: Any
    sqrt_weights: Any
    initial: Any = None
    rest_offsets: Any = None


class ResidualProblem:
    """Static structure of an IK problem and its weighted residual function.

    Args:
        skeleton: the kinematic tree.
        moving_joints: indices of the joints whose rotations are variables.
        move_root: whether the root translation is a variable.
        constraints: the constraints; only their kinds, joints, priorities and static
            choices are used here (and their parameter sizes).
    """

    def __init__(self, skeleton: Skeleton, moving_joints: Sequence[int], move_root: bool, constraints: Sequence[Constraint]):
        if not constraints:
            raise SolverError("no constraints given: pass at least one constraint to solve for")
        self.skeleton = skeleton
        self.move_root = bool(move_root)
        moving_set = set(int(j) for j in moving_joints)
        joint_lists = [skeleton.indices(c.joints()) for c in constraints]
        touched = {j for joints in joint_lists for j in joints}
        if any(c.reads_rotations for c in constraints):
            touched |= moving_set
        # The subtree: every joint read and its ancestors, in skeleton order.
        # (At least the root: a problem that reads no joint, e.g. a lone RestPose with only
        # the root translation moving, still places the root.)
        needed = sorted({a for j in touched for a in skeleton.ancestors[j]} | {0})
        self.joints = np.array(needed, dtype=np.int64)  # (S,) skeleton indices
        self.row_of = {int(j): r for r, j in enumerate(needed)}
        sub_parents = [-1 if skeleton.parents[j] < 0 else self.row_of[int(skeleton.parents[j])] for j in needed]
        self.levels = TreeLevels.from_parents(sub_parents)
        self.offsets = skeleton.rest_offsets[self.joints]
        self.rest_rotations = None if skeleton.rest_rotations is None else skeleton.rest_rotations[self.joints]

        # Moving joints that can influence a constraint; others keep their initial rotation.
        moving = sorted(moving_set & set(needed))
        self.moving_joints = np.array(moving, dtype=np.int64)  # (M,) skeleton indices
        self.moving_rows = np.array([self.row_of[j] for j in moving], dtype=np.int64)  # (M,) rows in the subtree
        # (S,) whether each subtree row moves, and (S,) where its rotation is among the moving joints.
        is_moving = np.bincount(self.moving_rows, minlength=len(needed)) > 0
        self.moving_scatter = (is_moving, np.where(is_moving, np.cumsum(is_moving) - 1, 0))
        # Moving joints that no constraint depends on (they keep their initial rotation).
        self.other_moving_joints = np.array(sorted(moving_set - set(moving)), dtype=np.int64)
        self.moving_coordinates = MovingCoordinates(skeleton, moving)
        # (position among the moving joints, coordinate kind) of the moving joints whose
        # coordinates are Euler angles or swing-twist, not their axis-angles.
        self.euler_moving = tuple((m, kind) for m, kind, _ in self.moving_coordinates.converted)
        neutral_of = {m: neutral for m, _, neutral in self.moving_coordinates.converted}
        # Per coordinate kind present (Euler orders, swing-twist), the positions among the moving
        # joints (k,) and the neutral rotations (k, 3, 3) (None: all the identity); and where
        # ``state`` reads each subtree row's rotation (S,) and each moving joint's body
        # Jacobian (M,) from: its axis-angle row, or row i of group g (after the S or M
        # axis-angle rows and the groups before g). One gather each instead of a masked
        # select per group: fewer kernels in a compiled iteration.
        self.euler_groups = []
        row_sources, moving_sources = np.arange(len(needed)), np.arange(len(moving))
        offset = 0
        for kind in sorted({kind for _, kind in self.euler_moving}):
            rows = np.array([m for m, k in self.euler_moving if k == kind])
            row_sources[self.moving_rows[rows]] = len(needed) + offset + np.arange(len(rows))
            moving_sources[rows] = len(moving) + offset + np.arange(len(rows))
            offset += len(rows)
            neutrals = [neutral_of[int(m)] for m in rows]
            neutral = None if all(n is None for n in neutrals) else np.stack([np.eye(3) if n is None else n for n in neutrals])
            self.euler_groups.append((kind, rows, neutral))
        self.row_sources, self.moving_sources = row_sources, moving_sources
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

        # Every constraint must be within reach of something that moves.
        moving_set_np = set(moving)
        for c, joints in zip(constraints, joint_lists):
            if c.reads_rotations or self.move_root:
                continue
            if not any(a in moving_set_np for j in joints for a in skeleton.ancestors[j]):
                raise SolverError(
                    f"nothing that may move affects {c!r}: none of {list(c.joints())} or their ancestors is among "
                    "the solver's joints (and the root translation does not move)"
                )

        lower = skeleton.lower[self.moving_joints].reshape(-1)
        upper = skeleton.upper[self.moving_joints].reshape(-1)
        # A component whose range spans a full turn has no limit: no bound at +-pi, where
        # the solver would otherwise stop instead of turning on round.
        full_turn = upper - lower >= 2 * np.pi - 1e-9
        self.swing_limits = SwingLimits(skeleton, moving, 3 * len(moving) + (3 if self.move_root else 0))
        lower, upper = self.swing_limits.bounds(np.where(full_turn, -np.inf, lower), np.where(full_turn, np.inf, upper))
        # Restart seeds are drawn in [sample_lower, sample_upper]; NaN: keep the value.
        sample_lower = np.maximum(lower, -np.pi)
        sample_upper = np.minimum(upper, np.pi)
        if self.move_root:
            lower = np.concatenate([lower, np.full(3, -np.inf)])
            upper = np.concatenate([upper, np.full(3, np.inf)])
            sample_lower = np.concatenate([sample_lower, np.full(3, np.nan)])
            sample_upper = np.concatenate([sample_upper, np.full(3, np.nan)])
        self.lower, self.upper = lower, upper
        # (M,) joints with no limit at all (they may turn past pi).
        M = len(moving)
        self.unlimited_moving_joints = np.isinf(lower[: 3 * M].reshape(M, 3)).all(axis=1)
        self.sample_lower, self.sample_upper = sample_lower, sample_upper
        self.neutral_mask, self.neutral_values, self.held_mask = self._start_masks(constraints, joint_lists)

        self.priorities = tuple(sorted({c.priority for c in constraints}))
        self.uses_initial_state = any(c.uses_initial_pose for c in constraints)
        slots, p = [], 0
        for c, joints in zip(constraints, joint_lists):
            size = c.parameter_size(skeleton)
            if c.tolerance_kind is not None and c.tolerance_kind not in TOLERANCE_KINDS:
                raise ConstraintError(f"{type(c).__name__} has unknown tolerance kind {c.tolerance_kind!r}")
            slots.append(
                ConstraintSlot(
                    kind=type(c),
                    joint_rows=tuple(self.row_of[j] for j in joints),
                    static=c.static(skeleton),
                    param_slice=slice(p, p + size),
                    tolerance_index=SOFT if c.tolerance_kind is None else TOLERANCE_KINDS.index(c.tolerance_kind),
                    level=self.priorities.index(c.priority),
                )
            )
            p += size
        self.slots = tuple(slots)
        self.num_parameters = p
        # Per priority level: whether a regulariser there weighs its variables unevenly.
        self.uneven_levels = tuple(any(s.kind.uneven_pull(s.static, self) for s in self.slots if s.level == k)
                                   for k in range(len(self.priorities)))
        # Constraints of one kind that can be evaluated together (``batched_residual``): one
        # evaluation for the group instead of one per constraint, fewer operations both
        # interpreted (about 2x faster for 5 Positions and 4 Orientations) and compiled.
        groups: dict[tuple, list[int]] = {}
        for i, slot in enumerate(self.slots):
            if slot.kind.batched_residual is not None:
                groups.setdefault((slot.kind, slot.static), []).append(i)
        self.residual_groups = tuple((members[0], tuple(members)) for members in groups.values() if len(members) > 1)
        self._grouped = {i for _, members in self.residual_groups for i in members}
        self.tolerance_index = np.array([s.tolerance_index for s in slots], dtype=np.int64)
        self.constraint_levels = np.array([s.level for s in slots], dtype=np.int64)
        self._last_weights: tuple = (None, None)  # (weights and per_level, their sqrt_weights), see pack_parameters
        self._recent_starts: tuple = ()  # ((rotations bytes, coordinates (3M,)), ...), see initial_variables
        self.level_members = tuple(np.flatnonzero(self.constraint_levels == k) for k in range(len(self.priorities)))  # (C_k,) each
        self.has_soft = bool((self.tolerance_index == SOFT).any())
        # Residual sizes are static: as the kinds declare them, else from one float64 evaluation at zero.
        sizes = [s.kind.residual_size(s.static, s.joint_rows, self) for s in self.slots]
        if None in sizes:
            sizes = self.evaluated_residual_sizes()
        self.num_residuals = int(sum(sizes))
        ends = np.cumsum(sizes)
        self.slots = tuple(replace(slot, residual_slice=slice(int(e - k), int(e))) for slot, k, e in zip(self.slots, sizes, ends))
        self.row_levels = np.concatenate([np.full(k, s.level) for k, s in zip(sizes, self.slots)]).astype(np.int64)

    def evaluated_residual_sizes(self) -> list[int]:
        """Each constraint's residual rows, found by evaluating every residual once at zero (float64)."""
        zeros = ProblemInputs(np.zeros((len(self.joints), 3)), np.zeros(3), np.zeros(self.num_parameters), np.ones(len(self.slots)))
        q = np.zeros(self.num_variables)
        if self.uses_initial_state:
            zeros = zeros._replace(initial=self.state(q, zeros, np))
        with np.errstate(all="ignore"):  # zero targets may be degenerate; only shapes matter
            return [len(r) for r in self.residuals(q, zeros, np)[0]]

    def _start_masks(self, constraints: Sequence[Constraint], joint_lists: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where cold starts and restarts put each variable: (n,) ``neutral_mask``, (n,)
        ``neutral_values``, (n,) ``held_mask``.

        Neutral: the bounded variables of the moving joints above a target that a chain must
        reach (``reaches_target``), except the root joint (the character's heading: the root
        alignment places it) and the joints above a constraint that holds the initial pose
        (``Pin``); a cold start puts them in the middle of their range (``neutral_values``).
        Held: the bounded variables of the joints above such a holding constraint.
        Measured on the full-body scenario (22 joints, move_root, 5 positions and 4
        orientations from random in-limit poses, 200 targets, no restarts): 55 % of cold
        starts from the rest pose (a T-pose) reach the targets, 93 % from the middle of the
        ranges (the arms, straight and level in the T-pose, were the ones stuck: with the arms'
        true rotations given, 99 %).
        """
        ancestors = self.skeleton.ancestors
        reaching = {a for c, joints in zip(constraints, joint_lists) if c.reaches_target for j in joints for a in ancestors[j]}
        held = {a for c, joints in zip(constraints, joint_lists) if c.uses_initial_pose for j in joints for a in ancestors[j]}
        bounded = np.isfinite(self.sample_lower) & np.isfinite(self.sample_upper)

        def variables(chosen: list[bool]) -> np.ndarray:
            mask = np.repeat(np.array(chosen, dtype=bool), 3)
            if self.move_root:
                mask = np.concatenate([mask, np.zeros(3, dtype=bool)])
            return mask & bounded

        neutral = variables([j in reaching and j not in held and j != 0 for j in self.moving_joints])
        middle = 0.5 * (self.sample_lower + self.sample_upper)  # NaN where unbounded: never neutral
        return neutral, np.where(neutral, middle, 0.0), variables([j in held for j in self.moving_joints])

    def cold_start(self, q: np.ndarray) -> np.ndarray:
        """The start of a solve the caller gave no initial pose for: ``q`` (..., n) (the rest
        pose's variables) with the joints of the chains to reaching targets in the middle of
        their ranges (see ``_start_masks``); the joints nothing reaches through keep ``q``."""
        return np.where(self.neutral_mask, self.neutral_values, q)

    @staticmethod
    def structure_key(skeleton: Skeleton, constraints: Sequence[Constraint]) -> tuple:
        """What must match for a compiled problem to be reused."""
        return tuple(
            (type(c), tuple(skeleton.indices(c.joints())), c.priority, c.static(skeleton), c.parameter_size(skeleton))
            for c in constraints
        )

    # ------------------------------------------------------------------ packing
    def pack_parameters(self, constraints: Sequence[Constraint], batch: int | None = None,
                        shift: np.ndarray | None = None, per_level: bool = False,
                        skeleton: Skeleton | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(params (P,) or (B, P), sqrt_weights (C,)) of constraints with this structure.

        With ``batch``, unbatched constraints are repeated for every problem of the batch.
        With ``shift`` ((3,) or (B, 3) metres), world points are given in the solve frame,
        the world moved by ``-shift`` (``Constraint.shifted_parameters``). Weights are
        normalised (``level_weights``): per priority level with ``per_level`` (a solver with
        priorities), else by the largest of all (a method that sums the levels). ``skeleton``:
        the body the parameters are for (default: the problem's; another body of the same
        articulation, ``Skeleton.articulation_key``, solved with this problem's programs).
        """
        skeleton = self.skeleton if skeleton is None else skeleton
        if shift is None:
            blocks = [c.parameters(skeleton) for c in constraints]
        else:
            blocks = [c.shifted_parameters(skeleton, shift) for c in constraints]
        if batch is not None:
            blocks = [np.broadcast_to(b, (batch, b.shape[-1])) for b in blocks]
        params = np.concatenate(blocks, axis=-1)
        key = (tuple(c.weight for c in constraints), per_level)
        last = self._last_weights  # (read once: other threads may solve with this problem too)
        if last[0] != key:  # a frame loop's weights rarely change: normalised once
            weights = np.sqrt(self.level_weights(np.array(key[0], dtype=np.float64), per_level))
            weights.flags.writeable = False
            last = self._last_weights = (key, weights)
        return params, last[1]

    def level_weights(self, weights: np.ndarray, per_level: bool = True) -> np.ndarray:
        """The weights (C,) as the solver uses them: divided by the largest weight of their
        priority level (``per_level``; else of all constraints), so that only ratios matter
        (a lone constraint of weight 1e-8 or 1e8 is solved exactly as one of weight 1; the
        damping, which scales with the cost, would otherwise stall tiny weights and overflow
        huge ones); a weight below ``NEGLIGIBLE_WEIGHT`` times that largest is 0: ignored
        (reported, never holding up convergence; ``IKResult.ignored`` lists them)."""
        out = np.zeros_like(weights)
        groups = self.level_members if per_level else [slice(None)]
        for members in groups:
            top = weights[members].max()
            if top > 0:
                out[members] = weights[members] / top
        out[out < NEGLIGIBLE_WEIGHT] = 0.0
        return out

    def ignored(self, sqrt_weights: np.ndarray) -> tuple[int, ...]:
        """Indices of the targets and inequalities not solved for, from the weights as
        ``pack_parameters`` gives them (zero where ``level_weights`` made them zero)."""
        if sqrt_weights.ndim == 1 and 0.0 not in sqrt_weights.tolist():  # every solve asks; hardly any has one
            return ()
        return tuple(int(i) for i in np.flatnonzero((sqrt_weights == 0) & (self.tolerance_index >= 0)))

    def within_limits(self, q: Any, xp: Any) -> Any:
        """q (..., n), already inside the box, with every swing-twist joint's swing brought
        inside its ellipse (``SwingLimits.project``, as Blender's IK clamps); q itself when no
        moving joint uses swing-twist coordinates."""
        return self.swing_limits.project(q, xp)

    def initial_variables(self, rotations: np.ndarray, translation: np.ndarray) -> np.ndarray:
        """q (..., n) from full poses (..., J, 3) and translations (..., 3), clipped into the limits.

        One pose that this problem has met lately (the last start, or the last result:
        ``remember_start``) gets its remembered coordinates: a frame loop starts each solve from
        the previous one's result, whose coordinates are the variables that solve ended with
        (converting them back costs 8-12 us a solve, an Euler elbow or a swing-twist shoulder;
        where two sets of coordinates give one rotation, an Euler joint at gimbal lock or an
        unlimited joint past pi, the frame loop continues from the ones it had)."""
        if rotations.ndim == 2:
            key = rotations.tobytes()
            recent = self._recent_starts  # (read once: other threads may solve with it)
            for k, (known, coordinates) in enumerate(recent):
                if known == key:
                    if k:  # most recently used first: a loop of cold starts keeps its rest pose
                        self._recent_starts = (recent[k],) + recent[:k] + recent[k + 1:]
                    return np.concatenate([coordinates, translation]) if self.move_root else coordinates.copy()
        moving = self.moving_coordinates.to_coordinates(rotations[..., self.moving_joints, :])  # (fancy indexing copies)
        q = moving.reshape(rotations.shape[:-2] + (-1,))
        if self.move_root:
            q = np.concatenate([q, translation], axis=-1)
        q = self.within_limits(np.clip(q, self.lower, self.upper), np)
        if rotations.ndim == 2:
            self.remember_start(rotations, q[: 3 * len(self.moving_joints)].copy())
        return q

    def remember_start(self, rotations: np.ndarray, coordinates: np.ndarray) -> None:
        """Remember that the pose with ``rotations`` (J, 3) starts a solve at the moving joints'
        coordinates ``coordinates`` (3M,) float64, inside the limits (``initial_variables``); the
        problem keeps that array itself (made read-only: hand it a copy); the two most recent are kept."""
        coordinates.flags.writeable = False
        entry = (rotations.tobytes(), coordinates)
        self._recent_starts = (entry,) + self._recent_starts[:1]

    # ------------------------------------------------------------------ evaluation
    def state(self, q: Any, inputs: ProblemInputs, xp: Any) -> KinematicState:
        """Forward kinematics of the subtree at variables ``q`` (n,)."""
        M = len(self.moving_joints)
        r_moving = xp.reshape(q[: 3 * M], (M, 3))
        fixed_rotations = inputs.fixed_rotations
        if M:
            # Scatter the moving rotations into the subtree's rows (static indices, from __init__).
            is_moving, gather = self.moving_scatter
            rotations = xp.where(is_moving[:, None], xp.take(r_moving, gather, axis=0), fixed_rotations)
        else:
            rotations = fixed_rotations
        translation = q[3 * M : 3 * M + 3] if self.move_root else inputs.translation
        # Angular velocity of each moving joint's own frame per unit change of its coordinates:
        # J_r(r) = J_l(r)^T for axis-angle joints.
        body_jacobians = xp.swapaxes(left_jacobian(r_moving, xp), -1, -2)
        if self.euler_moving:
            # Joints with Euler or swing-twist coordinates: their rotation matrices and Jacobians
            # replace the axis-angle ones computed for every row (static gathers, ``__init__``).
            R_parts, E_parts = [axis_angle_to_matrix(rotations, xp)], [body_jacobians]
            for kind, rows, neutral in self.euler_groups:
                c = xp.take(r_moving, rows, axis=0)
                R_kind = coordinates_to_matrix(c, kind, xp)
                E_kind = body_jacobian(c, kind, xp)
                if neutral is not None:  # R = C(c) @ N: the body angular velocity is N^T omega_C
                    # (3x3 products written as sums of elementwise products: they fuse with the
                    # arithmetic around them instead of running as batched matrix products.)
                    N = xp.asarray(neutral, R_kind.dtype)  # (k, 3, 3)
                    R_kind = xp.sum(R_kind[:, :, :, None] * N[:, None, :, :], axis=2)
                    E_kind = xp.sum(N[:, :, :, None] * E_kind[:, :, None, :], axis=1)
                R_parts.append(R_kind)
                E_parts.append(E_kind)
            R_pose = xp.take(xp.concatenate(R_parts, axis=0), self.row_sources, axis=0)
            body_jacobians = xp.take(xp.concatenate(E_parts, axis=0), self.moving_sources, axis=0)
            R_parent_joint = R_pose if self.rest_rotations is None else self.rest_rotations @ R_pose
        else:
            R_parent_joint = local_rotations(rotations, self.rest_rotations, xp)
        offsets = self.offsets if inputs.rest_offsets is None else inputs.rest_offsets
        p_world_root = offsets[0] + translation
        R_world_joint, p_world_joint = forward_kinematics(self.levels, offsets, R_parent_joint, p_world_root, xp)
        # World angular velocity basis of each moving joint: R_world_joint @ (body Jacobian).
        R_world_moving = xp.take(R_world_joint, self.moving_rows, axis=0)
        W_world_dof = R_world_moving @ body_jacobians
        return KinematicState(self, q, r_moving, R_world_joint, p_world_joint, W_world_dof, xp, inputs.initial)

    def residuals(self, q: Any, inputs: ProblemInputs, xp: Any):
        """Per constraint: weighted residuals, weighted Jacobians and unweighted errors."""
        state = self.state(q, inputs, xp)
        residuals, jacobians, errors = [None] * len(self.slots), [None] * len(self.slots), [None] * len(self.slots)
        for first, members in self.residual_groups:
            kind = self.slots[first].kind
            rows = np.array([self.slots[i].joint_rows[0] for i in members])
            params = xp.stack([inputs.params[self.slots[i].param_slice] for i in members])
            r, J, err = kind.batched_residual(state, rows, params, xp)  # (k, d), (k, d, n), (k,)
            w = xp.stack([inputs.sqrt_weights[i] for i in members])
            r, J = r * w[:, None], J * w[:, None, None]
            for g, i in enumerate(members):
                residuals[i], jacobians[i], errors[i] = r[g], J[g], err[g]
        for i, slot in enumerate(self.slots):
            if i in self._grouped:
                continue
            r, J, err = slot.kind.residual(state, slot, inputs.params[slot.param_slice], xp)
            residuals[i] = r * inputs.sqrt_weights[i]
            jacobians[i] = J * inputs.sqrt_weights[i]
            errors[i] = err
        return residuals, jacobians, errors

    def evaluate(self, q: Any, inputs: ProblemInputs, xp: Any):
        """Weighted residual (m,), its Jacobian (m, n) and per-constraint errors (C,) at ``q``."""
        residuals, jacobians, errors = self.residuals(q, inputs, xp)
        return xp.concatenate(residuals), xp.concatenate(jacobians, axis=0), xp.stack(errors)
