"""FABRIK (Forward And Backward Reaching Inverse Kinematics) on our skeleton and limits.

The method (Aristidou & Lasenby 2011, "FABRIK: A fast, iterative solver for the Inverse
Kinematics problem"; Aristidou, Chrysanthou & Lasenby 2016, "Extending FABRIK with model
constraints") works on joint *positions*, not angles. One iteration is two passes:

* forward reaching (inward, effectors -> root): each effector is put on its target; then
  each joint, from the effectors toward the root, is pulled onto the line toward its own
  previous position, at its bone length from the (already moved) joint below it. Where
  branches meet (a sub-base), every branch proposes a position and the sub-base goes to
  their centroid, then the pass continues toward the root;
* backward reaching (outward, root -> effectors): the root goes back to where it was
  (unless ``move_root``: then it stays where the inward pass left it) and every joint, from
  the root outward, is put at its bone length from its parent, toward the position the inward
  pass gave it.

Rigid bodies instead of bones. Only the moving joints turn; every joint that does not move
is welded to its parent. So the unit FABRIK moves is a *body*: a moving joint (or the root)
with every point fixed in its frame, i.e. the joints below it down to (and including) the
next moving joints, and the effector points (a Position's joint plus its offset). A body
with one point is a classic bone of fixed length (left_wrist -> left_middle1 when only
left_wrist moves; left_elbow -> left_wrist). A body with several points (spine3 -> neck,
left_collar, right_collar) is a sub-base whose branches are rigidly tied: both passes give it
one rotation, fitted to the points' new positions, instead of moving each bone on its own:

* one point: the smallest rotation turning the point's current direction from the pivot onto
  its new direction (exactly the paper's "pull onto the line"; twist is kept);
* several points: the weighted best-fit rotation (Kabsch) about the pivot, with a tiny pull
  toward the current rotation where the points leave it undetermined.

In the inward pass each point then proposes the pivot position that puts it on its new
position under that rotation (for one point: the paper's move), and the pivot goes to their
weighted centroid (the paper's sub-base centroid). A branch counts with weight 1, an
effector point with its constraint's weight.

Joint limits (the papers' rotational constraints, applied in both passes of every iteration).
A joint's limit is a box on its coordinates (``ik_engine.joint_coordinates``): its local
axis-angle ``r`` (``R_parent_joint = R_rest @ exp(r)``), or for a joint with Euler coordinates
(the SMPL-X elbows) its Euler angles ``c`` (``R_parent_joint = R_rest @ R_i(c_i) R_j(c_j)
R_k(c_k)``). "Clamping" a rotation means: express it in the joint's local coordinates, clip
them into the box. For axis-angle, whichever of its two vectors (``r`` and
``r (1 - 2 pi / |r|)``) lies nearer the box is clipped; Euler angles are taken with the middle
angle within +-90 degrees (the other set, beyond, lies outside any box of a middle axis with
a small range, as Euler coordinates are meant to be used). The rotations FABRIK keeps per
body, and its q, are these coordinates.

* Outward (backward reaching), where the paper keeps each new bone inside the cone its
  parent allows: each body's fitted rotation is clamped in its parent's (already placed)
  frame and the body's points are put where the clamped rotation puts them. Every bone
  direction the next body sees is one its parent can reach, and the pose at the end of an
  iteration *is* the forward kinematics of in-limit rotations.
* Inward (forward reaching), where the paper places each joint toward the root inside the
  cone defined by the already placed bone below it (``inward_limits``): once a body's
  children have their new rotations, the body is re-turned so that each child's local
  rotation is its clamped one (``R_body = R_child @ R(c_clamped)^T @ (C @ R_rest)^T``); with
  several children (or other points) it takes the weighted mean rotation of what each asks
  for. Its pivot then goes where that rotation puts it. This re-turn also hands the parent
  the twist the child's limits need (an elbow bends about one axis only: the upper arm is
  turned so that axis lies where the bend must happen), which a bone-only FABRIK has no way
  to express. The root, whose parent frame is the world, is clamped on its own.

Clamping coordinates is not the nearest reachable bone direction, and FABRIK with
limits has fixed points short of the target (an elbow that set off bending the wrong way
stays straight at its limit): what it cannot reach it leaves, as the papers' method does.
(A projected Gauss-Newton "nearest direction" projection instead of the clamp was tried and
did not raise the success rate.)

Recovering rotations. The outward pass *is* the recovery of joint rotations from the
positions: the rotation (in the parent's frame) taking the body's rest points onto the new
directions, the smallest such turn from the current rotation for one point (one direction
has no twist information), the best fit for several, clamped into the limits. The result
is measured on those clamped rotations with float64 forward kinematics
(``PreparedProblem.result``), so a pose that breaks a limit can never count as a success.

Orientation targets (``ik.Orientation``), after Aristidou et al. 2016, where the effector's
orientation fixes its last bone: an orientation target fixes the rotation of the body that
carries the joint. In the inward pass that body takes the target rotation and its pivot is
placed so its points sit on their new positions under it (e.g. the wrist is put at
``target(middle1) - R_target @ offset``); in the outward pass its local rotation is solved
from the target frame and clamped like any other. What the joint's own limits cannot turn
is handed up the chain by the inward limits (a parent re-turned so its child stays in its
box), so an orientation target alone, with no position below it, still moves the arm.

Stopping: when every target is within its tolerance, when ``max_iterations`` inward +
outward passes are done, or when ``patience`` iterations in a row fail to lower the
best weighted normalised error ``sum_c w_c (error_c / tolerance_c)^2`` by the fraction
``min_improvement``; the best iterate is returned.

Cost per iteration: two passes over the depth levels of the body tree; the bodies of one
level are handled together in numpy (a 4-joint arm chain is 4 levels of one body each, the
fixed root being skipped), so a chain pays numpy's per-call cost at every joint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ik_engine.constraints.base import Constraint
from ik_engine.constraints.orientation import Orientation
from ik_engine.constraints.position import Position
from ik_engine.errors import SolverError
from ik_engine.joint_coordinates import AXIS_ANGLE, euler_to_matrix, matrix_to_euler
from ik_engine.pose import Pose
from ik_engine.skeleton import Skeleton
from ik_engine.solver import IKResult
from ik_engine.validation import finite_number

from .common import BaselineOptions, PreparedProblem, prepare

METHOD = "FABRIK"
SUPPORTED = (Position, Orientation)

# Vectors shorter than this (metres) carry no direction.
_TINY = 1e-12
# Weight of the pull toward the current rotation in a several-point fit, relative to the fit.
_FIT_PRIOR = 1e-9


@dataclass(frozen=True)
class FABRIKOptions(BaselineOptions):
    """Settings of FABRIK (besides those every baseline takes).

    Attributes:
        max_iterations: iterations, each one forward (inward) and one backward (outward)
            reaching pass.
        inward_limits: apply the joint limits in the forward (inward) pass as well, by
            re-turning each parent so the child below it stays within its limits (the papers
            constrain both passes); False leaves that pass unconstrained.
        patience: stop after this many iterations in a row without progress.
        min_improvement: the fraction by which the best error must fall to count as progress.
    """

    max_iterations: int = 100
    inward_limits: bool = True
    patience: int = 20
    min_improvement: float = 1e-3


def fabrik(
    skeleton: Skeleton,
    constraints: Sequence[Constraint],
    joints: Iterable[str] | None = None,
    init: Pose | None = None,
    options: FABRIKOptions | None = None,
) -> IKResult:
    """Solve with FABRIK.

    The shared calling convention of the baselines (``ik_engine.baselines.common``): ``skeleton``,
    ``constraints`` (``ik.Position`` and ``ik.Orientation`` targets, any number, on any joints),
    ``joints`` that may rotate (default all), ``init`` (default rest) and ``options``
    (``FABRIKOptions``); the result is an ``IKResult`` measured on the clipped pose. Raises
    ``SolverError`` for other constraint kinds ("... not supported by FABRIK ...") and bad
    options, and the input errors ``IKSolver.solve`` raises.
    """
    prepared = prepare(METHOD, SUPPORTED, skeleton, constraints, joints, init, options, FABRIKOptions)
    _check_options(prepared.options)
    bodies = _BodyTree(prepared)
    q, iterations = bodies.run()
    return prepared.result(q, iterations)


def _check_options(options: FABRIKOptions) -> None:
    patience = options.patience
    if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 1:
        raise SolverError(f"FABRIKOptions.patience must be an integer >= 1, got {patience!r}")
    if not isinstance(options.inward_limits, (bool, np.bool_)):
        raise SolverError(f"FABRIKOptions.inward_limits must be True or False, got {options.inward_limits!r}")
    finite_number(options.min_improvement, "FABRIKOptions.min_improvement", SolverError, minimum=0.0)


class _Level:
    """The bodies at one depth of the body tree and the points they carry.

    k bodies; "placed" points: every point of these bodies (child bodies' pivots and effector
    points), Q of them; "active" points: those with a position target at or below them, A.
    """

    def __init__(self, bodies, tree: "_BodyTree") -> None:
        self.bodies = np.array(bodies, dtype=np.int64)  # (k,)
        k = len(bodies)
        slot_of = {b: s for s, b in enumerate(bodies)}
        placed, active = [], []
        for b in bodies:
            for node, d, weight, is_active in tree.points[b]:
                placed.append((slot_of[b], node, d))
                if is_active:
                    active.append((slot_of[b], node, d, weight))
        self.place_slot = np.array([s for s, _, _ in placed], dtype=np.int64)  # (Q,)
        self.place_node = np.array([n for _, n, _ in placed], dtype=np.int64)  # (Q,)
        self.place_d = np.array([d for _, _, d in placed], dtype=np.float64).reshape(-1, 3)  # (Q, 3)
        self.active_slot = np.array([s for s, *_ in active], dtype=np.int64)  # (A,)
        self.active_node = np.array([n for _, n, _, _ in active], dtype=np.int64)  # (A,)
        self.active_d = np.array([d for _, _, d, _ in active], dtype=np.float64).reshape(-1, 3)  # (A, 3)
        weights = np.array([w for *_, w in active], dtype=np.float64)  # (A,)
        # Pivot proposals are averaged with these weights: (k, A), rows sum to 1 (or are 0).
        incidence = np.zeros((k, len(active)))
        incidence[self.active_slot, np.arange(len(active))] = weights
        totals = incidence.sum(axis=1)
        self.has_active = totals > 0  # (k,)
        self.centroid = incidence / np.where(self.has_active, totals, 1.0)[:, None]
        # Points that can tell a rotation: active, away from the pivot.
        fit = incidence * (np.linalg.norm(self.active_d, axis=1) > _TINY)[None, :]
        fit_count = (fit > 0).sum(axis=1)

        rotates = tree.rotates[self.bodies]
        oriented = tree.has_orientation[self.bodies] & rotates
        self.oriented = np.flatnonzero(oriented)  # slots taking their target rotation
        self.R_oriented = tree.R_orientation[self.bodies[self.oriented]]  # (ko, 3, 3)
        free = rotates & ~oriented
        self.single = np.flatnonzero(free & (fit_count == 1))  # one-point bodies
        self.single_point = _first_true(fit[self.single] > 0)  # (ks,) their point
        self.multi = np.flatnonzero(free & (fit_count > 1))  # several-point bodies
        self.multi_weights = fit[self.multi]  # (km, A)
        # Inward, the limits of the turning child bodies whose rotation matters bound a body's
        # rotation. Voters on a bounded body's rotation: each of its active points (asking
        # for the fit) and each such child (asking for the rotation its limits allow).
        B = tree.num_bodies
        voters = []  # (slot, child body or -1, weight)
        for b in bodies:
            if not (tree.rotates[b] and not tree.has_orientation[b]):
                continue
            for node, _, weight, is_active in tree.points[b]:
                bounding = node < B and tree.rotates[node] and tree.informative[node]
                if is_active or bounding:
                    voters.append((slot_of[b], node if bounding else -1, weight))
        voter_slot = np.array([v[0] for v in voters], dtype=np.int64)  # (V,)
        voter_child = np.array([v[1] for v in voters], dtype=np.int64)
        votes = np.zeros((k, len(voters)))
        votes[voter_slot, np.arange(len(voters))] = [v[2] for v in voters]
        self.voter_slot = voter_slot
        self.bounding_voters = np.flatnonzero(voter_child >= 0)  # (Vb,)
        children = voter_child[self.bounding_voters]
        self.bounding_child = children  # (Vb,) body indices
        self.child_frame = tree.C[children] @ tree.R_rest[children]  # (Vb, 3, 3) child rest frame in ours
        self.child_lower = tree.lower[children]
        self.child_upper = tree.upper[children]
        self.child_coordinates = _Coordinates(tree.kinds[children])
        bounded = np.zeros(k, dtype=bool)
        bounded[voter_slot[self.bounding_voters]] = True
        voter_count = (votes > 0).sum(axis=1)
        self.bounded_one = np.flatnonzero(bounded & (voter_count == 1))  # slots
        self.bounded_one_voter = _first_true(votes[self.bounded_one] > 0)
        self.bounded_many = np.flatnonzero(bounded & (voter_count > 1))  # slots
        many = votes[self.bounded_many]
        self.bounded_many_weights = many / many.sum(axis=1, keepdims=True)  # (kbm, V)
        # Bodies nothing turns keep their local rotation; bounded ones without points take
        # their inward rotation.
        self.keep = np.flatnonzero(free & (fit_count == 0) & ~bounded)
        self.rotates = rotates
        self.all_rotate = bool(rotates.all())
        self.is_root_level = bool(self.bodies[0] == 0)
        # A root that neither turns nor moves: its points never move, nothing to do.
        self.static = self.is_root_level and not tree.rotates[0] and not tree.move_root
        self.parent = tree.body_parent[self.bodies]  # (k,)
        self.C = tree.C[self.bodies]  # (k, 3, 3)
        self.R_rest = tree.R_rest[self.bodies]  # (k, 3, 3)
        self.lower = tree.lower[self.bodies]  # (k, 3)
        self.upper = tree.upper[self.bodies]  # (k, 3)
        self.coordinates = _Coordinates(tree.kinds[self.bodies])

    def fitted_rotations(self, R_current: np.ndarray, pivots: np.ndarray, node_targets: np.ndarray) -> np.ndarray:
        """(k, 3, 3) world rotations of the bodies that bring their active points onto
        ``node_targets`` about ``pivots`` (k, 3), the smallest turn from ``R_current`` (k, 3, 3)."""
        R_new = R_current.copy()
        if len(self.oriented):
            R_new[self.oriented] = self.R_oriented
        if len(self.single) or len(self.multi):
            targets = node_targets[self.active_node]
            current = np.einsum("aij,aj->ai", R_current[self.active_slot], self.active_d)  # (A, 3)
            wanted = targets - pivots[self.active_slot]  # (A, 3)
            if len(self.single):
                turn = _rotation_between(current[self.single_point], wanted[self.single_point])
                R_new[self.single] = turn @ R_current[self.single]
            if len(self.multi):
                H = np.einsum("ka,ai,aj->kij", self.multi_weights, wanted, current)  # maps current -> wanted
                R_new[self.multi] = _best_rotation(H) @ R_current[self.multi]
        return R_new


class _BodyTree:
    """The bodies of one FABRIK solve (the root and every moving joint that matters), their
    points, targets and limits, and the iterations.

    Bodies are numbered in skeleton order (parents first); body 0 is the root joint. Nodes:
    bodies 0..B-1 (their pivots) then effector points B..B+E-1 (one per Position).
    """

    def __init__(self, prepared: PreparedProblem) -> None:
        self.prepared = prepared
        problem = prepared.problem
        inputs = prepared.inputs
        skeleton = prepared.skeleton
        self.options = prepared.options
        S = len(problem.joints)
        parent_rows = [-1 if skeleton.parents[j] < 0 else problem.row_of[int(skeleton.parents[j])] for j in problem.joints]
        pose0 = prepared.pose(prepared.q0)
        R_world_all, p_world_all = skeleton.world_transforms(pose0)
        R_world = R_world_all[problem.joints]  # (S, 3, 3) rows of the problem's subtree
        p_world = p_world_all[problem.joints]  # (S, 3)

        moving_rows = [int(r) for r in problem.moving_rows]
        body_rows = sorted({0, *moving_rows})
        B = len(body_rows)
        body_of_row = {row: b for b, row in enumerate(body_rows)}
        owner = np.empty(S, dtype=np.int64)  # body whose frame each row is welded to
        for row in range(S):
            owner[row] = body_of_row[row] if row in body_of_row else owner[parent_rows[row]]
        self.num_bodies = B
        self.move_root = problem.move_root
        self.rotates = np.array([row in set(moving_rows) for row in body_rows])  # (B,)
        self.moving_body = np.array([body_of_row[row] for row in moving_rows], dtype=np.int64)  # (M,) in q order

        # Frames: R_world_body = R_world[parent body] @ C @ R_rest @ exp(r).
        self.body_parent = np.full(B, -1, dtype=np.int64)
        self.C = np.tile(np.eye(3), (B, 1, 1))
        if problem.rest_rotations is None:
            self.R_rest = np.tile(np.eye(3), (B, 1, 1))
        else:
            self.R_rest = problem.rest_rotations[body_rows].copy()
        d_body = np.zeros((B, 3))  # pivot in the parent body's frame
        for b, row in enumerate(body_rows[1:], start=1):
            parent_body = owner[parent_rows[row]]
            prow = body_rows[parent_body]
            self.body_parent[b] = parent_body
            self.C[b] = R_world[prow].T @ R_world[parent_rows[row]]
            d_body[b] = R_world[prow].T @ (p_world[row] - p_world[prow])
        M = len(moving_rows)
        self.lower = np.zeros((B, 3))
        self.upper = np.zeros((B, 3))
        self.lower[self.moving_body] = problem.lower[: 3 * M].reshape(M, 3)
        self.upper[self.moving_body] = problem.upper[: 3 * M].reshape(M, 3)
        # Each body's kind of coordinates (the root's is axis-angle, as Skeleton demands).
        self.kinds = np.array([skeleton.coordinates[int(problem.joints[row])] for row in body_rows])  # (B,)
        # Local rotations: coordinates of the moving bodies (q), the root's initial axis-angle.
        self.r_initial = np.array(inputs.fixed_rotations, dtype=np.float64)[body_rows]  # (B, 3)
        self.r_initial[self.moving_body] = prepared.q0[: 3 * M].reshape(M, 3)
        self.R_world_initial = R_world[body_rows]  # (B, 3, 3)
        self.p_world_initial = p_world[body_rows]  # (B, 3)

        # Targets, in constraint order within each kind.
        weights = np.asarray(inputs.sqrt_weights, dtype=np.float64) ** 2
        params = np.asarray(inputs.params, dtype=np.float64)
        C = len(problem.slots)
        self.weights = weights
        self.tolerance = prepared.tolerances[problem.tolerance_index]  # (C,)
        pos, ori = [], []
        for c, slot in enumerate(problem.slots):
            row = slot.joint_rows[0]
            b = int(owner[row])
            prow = body_rows[b]
            p = params[slot.param_slice]
            if slot.kind is Position:
                d = R_world[prow].T @ (p_world[row] + R_world[row] @ p[3:6] - p_world[prow])
                pos.append((c, b, p[0:3], d))
            else:
                # The body's rotation that puts this joint's frame on the target.
                ori.append((c, b, p.reshape(3, 3) @ R_world[row].T @ R_world[prow]))
        self.pos_constraint = np.array([c for c, *_ in pos], dtype=np.int64)  # (E,)
        self.pos_body = np.array([b for _, b, _, _ in pos], dtype=np.int64)
        self.pos_target = np.array([t for *_, t, _ in pos]).reshape(-1, 3)  # (E, 3)
        self.ori_constraint = np.array([c for c, *_ in ori], dtype=np.int64)  # (O,)
        self.ori_body = np.array([b for _, b, _ in ori], dtype=np.int64)
        self.ori_target = np.array([R for *_, R in ori]).reshape(-1, 3, 3)  # (O, 3, 3) body rotations
        E = len(pos)
        self.num_constraints = C

        # A body's orientation target: the weighted mean of its targets' body rotations.
        self.has_orientation = np.zeros(B, dtype=bool)
        self.R_orientation = np.tile(np.eye(3), (B, 1, 1))
        for b in set(self.ori_body.tolist()):
            members = np.flatnonzero((self.ori_body == b) & (weights[self.ori_constraint] > 0))
            if len(members):
                mean = np.einsum("o,oij->ij", weights[self.ori_constraint[members]], self.ori_target[members])
                self.has_orientation[b] = True
                self.R_orientation[b] = self.ori_target[members[0]] if len(members) == 1 else _best_rotation(mean[None])[0]

        # Points of each body: (node, d in the body's frame, weight, active).
        has_target_below = np.zeros(B, dtype=bool)
        for e in range(E):
            if weights[self.pos_constraint[e]] > 0:
                has_target_below[self.pos_body[e]] = True
        for b in range(B - 1, 0, -1):
            if has_target_below[b]:
                has_target_below[self.body_parent[b]] = True
        self.points = [[] for _ in range(B)]
        for b in range(1, B):
            self.points[self.body_parent[b]].append((b, d_body[b], 1.0, bool(has_target_below[b])))
        for e in range(E):
            w = weights[self.pos_constraint[e]]
            self.points[self.pos_body[e]].append((B + e, pos[e][3], w, bool(w > 0)))

        # Bodies whose rotation matters: they carry points that turn with it (active, away from
        # the pivot), an orientation target, or a turning child whose rotation matters.
        self.informative = self.has_orientation.copy()
        for b in range(B - 1, -1, -1):
            if any(active and np.linalg.norm(d) > _TINY for _, d, _, active in self.points[b]):
                self.informative[b] = True
            if b > 0 and self.informative[b] and self.rotates[b]:
                self.informative[self.body_parent[b]] = True

        depth = np.zeros(B, dtype=np.int64)
        for b in range(1, B):
            depth[b] = depth[self.body_parent[b]] + 1
        self.levels = [_Level(np.flatnonzero(depth == k).tolist(), self) for k in range(int(depth.max()) + 1)]

    # -------------------------------------------------------------- passes
    def inward(self, R_world: np.ndarray, nodes: np.ndarray, nodes_in: np.ndarray, R_in: np.ndarray) -> None:
        """Forward reaching: effectors -> root. Fills ``nodes_in`` (B + E, 3) pivot rows and
        ``R_in`` (B, 3, 3) from the current pose (``R_world``, ``nodes``)."""
        for level in reversed(self.levels):
            if level.static:
                continue
            bodies = level.bodies
            pivots = nodes[bodies]
            R_new = level.fitted_rotations(R_world[bodies], pivots, nodes_in)
            if self.options.inward_limits and len(level.bounding_voters):
                R_new = self._bounded_by_children(level, R_new, R_in)
            if self.options.inward_limits and level.is_root_level and self.rotates[0]:
                # The root's own frame is the world's: its limits apply here as well.
                r_root = level.coordinates.clamped(np.swapaxes(level.R_rest, -1, -2) @ R_new, level.lower, level.upper)
                R_new = level.R_rest @ level.coordinates.matrices(r_root)
            if level.has_active.any():
                proposals = nodes_in[level.active_node] - np.einsum("aij,aj->ai", R_new[level.active_slot], level.active_d)
                pivots = np.where(level.has_active[:, None], level.centroid @ proposals, pivots)
            nodes_in[bodies] = pivots
            R_in[bodies] = R_new

    @staticmethod
    def _bounded_by_children(level: _Level, R_new: np.ndarray, R_in: np.ndarray) -> np.ndarray:
        """The paper's constraint in the forward stage: a body is re-turned so that each child
        body, at its new rotation ``R_in``, stays within its limits. Each such child asks for
        the body rotation that makes its local rotation the clamped one; a body with several
        voters takes the weighted mean (its points ask for the fitted ``R_new``)."""
        wanted = R_new[level.voter_slot]  # (V, 3, 3)
        R_child = R_in[level.bounding_child]
        R_frame = wanted[level.bounding_voters] @ level.child_frame  # each child's rest frame in the world
        coordinates = level.child_coordinates
        c_child = coordinates.clamped(np.swapaxes(R_frame, -1, -2) @ R_child, level.child_lower, level.child_upper)
        wanted[level.bounding_voters] = (
            R_child @ np.swapaxes(coordinates.matrices(c_child), -1, -2) @ np.swapaxes(level.child_frame, -1, -2)
        )
        R_new = R_new.copy()
        if len(level.bounded_one):
            R_new[level.bounded_one] = wanted[level.bounded_one_voter]
        if len(level.bounded_many):
            R_new[level.bounded_many] = _best_rotation(np.einsum("kv,vij->kij", level.bounded_many_weights, wanted))
        return R_new

    def outward(self, R_world: np.ndarray, r: np.ndarray, nodes: np.ndarray, nodes_in: np.ndarray, R_in: np.ndarray) -> None:
        """Backward reaching: root -> effectors, with the joint limits. Updates the pose
        (``R_world`` (B, 3, 3), local rotations ``r`` (B, 3) as coordinates, ``nodes``
        (B + E, 3)) in place."""
        for level in self.levels:
            if level.static:
                continue
            bodies = level.bodies
            if level.is_root_level:
                if self.move_root:
                    nodes[0] = nodes_in[0]
                R_parent = level.R_rest  # the root's rest frame in the world
            else:
                R_parent = R_world[level.parent] @ level.C @ level.R_rest  # (k, 3, 3)
            pivots = nodes[bodies]
            R_wanted = level.fitted_rotations(R_in[bodies], pivots, nodes_in)
            r_level = r[bodies]
            if level.all_rotate:
                r_new = level.coordinates.clamped(np.swapaxes(R_parent, -1, -2) @ R_wanted, level.lower, level.upper)
            else:  # only the root body may not turn, and it is alone on its level
                r_new = r_level.copy()
            if len(level.keep):
                r_new[level.keep] = r_level[level.keep]
            R_new = R_parent @ level.coordinates.matrices(r_new)
            r[bodies] = r_new
            R_world[bodies] = R_new
            nodes[level.place_node] = pivots[level.place_slot] + np.einsum(
                "qij,qj->qi", R_new[level.place_slot], level.place_d
            )

    # -------------------------------------------------------------- errors
    def errors(self, R_world: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """(C,) error of each constraint (metres / radians) at the current pose."""
        errors = np.zeros(self.num_constraints)
        B = self.num_bodies
        errors[self.pos_constraint] = np.linalg.norm(nodes[B:] - self.pos_target, axis=1)
        frame = R_world[self.ori_body] - self.ori_target
        frame_sq = np.sum(frame * frame, axis=(1, 2))  # = 8 sin^2(angle / 2)
        errors[self.ori_constraint] = 2.0 * np.arcsin(np.minimum(np.sqrt(frame_sq / 8.0), 1.0))
        return errors

    def variables(self, r: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """q (n,) of the problem from body rotations (B, 3) and the root pivot."""
        q = r[self.moving_body].reshape(-1)
        if self.move_root:
            translation = nodes[0] - self.prepared.problem.offsets[0]
            q = np.concatenate([q, translation])
        return q

    # -------------------------------------------------------------- iterations
    def run(self) -> tuple[np.ndarray, int]:
        """(variables q (n,) of the best iterate, iterations done)."""
        options = self.options
        B = self.num_bodies
        R_world = self.R_world_initial.copy()
        r = self.r_initial.copy()
        nodes = np.concatenate([self.p_world_initial, np.zeros((len(self.pos_target), 3))])
        for level in self.levels:  # effector points of the initial pose
            nodes[level.place_node] = nodes[level.bodies][level.place_slot] + np.einsum(
                "qij,qj->qi", R_world[level.bodies][level.place_slot], level.place_d
            )
        nodes_in = nodes.copy()
        nodes_in[B:] = self.pos_target  # effectors reach for their targets
        R_in = R_world.copy()
        counted = self.weights > 0
        scale = np.where(counted, self.weights, 0.0) / self.tolerance**2

        errors = self.errors(R_world, nodes)
        best_q, best_score = self.variables(r, nodes), float(scale @ errors**2)
        reference = best_score
        if np.all(errors[counted] <= self.tolerance[counted]):
            return best_q, 0
        stalled = 0
        iterations = 0
        while iterations < options.max_iterations:
            self.inward(R_world, nodes, nodes_in, R_in)
            self.outward(R_world, r, nodes, nodes_in, R_in)
            iterations += 1
            errors = self.errors(R_world, nodes)
            score = float(scale @ errors**2)
            if score < best_score:
                best_q, best_score = self.variables(r, nodes), score
            if np.all(errors[counted] <= self.tolerance[counted]):
                break
            if best_score < reference * (1.0 - options.min_improvement):
                reference, stalled = best_score, 0
            else:
                stalled += 1
                if stalled >= options.patience:
                    break
        return best_q, iterations


def _first_true(mask: np.ndarray) -> np.ndarray:
    """(k,) column of the first True of each row of ``mask`` (k, A)."""
    return np.argmax(mask, axis=1) if mask.size else np.zeros(len(mask), dtype=np.int64)


# ------------------------------------------------------------------ rotations
# Batched 3x3 rotation helpers written for arrays of a few rows: each is a handful of numpy
# calls (ik_engine.rotations serves every backend and costs several times more per call).

# [v]x = (v @ _SKEW).reshape(3, 3): the cross-product matrix of v.
_SKEW = np.zeros((3, 9))
_SKEW[2, 1], _SKEW[1, 2], _SKEW[0, 5] = -1.0, 1.0, -1.0
_SKEW[2, 3], _SKEW[1, 6], _SKEW[0, 7] = 1.0, -1.0, 1.0
_NEXT, _AFTER = np.array([1, 2, 0]), np.array([2, 0, 1])


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(n, 3) row-wise cross products."""
    return u[:, _NEXT] * v[:, _AFTER] - u[:, _AFTER] * v[:, _NEXT]


def _exp(r: np.ndarray) -> np.ndarray:
    """Rodrigues: axis-angle (n, 3) -> rotation matrices (n, 3, 3).

    (``ik_engine.rotations.axis_angle_to_matrix`` / ``matrix_to_axis_angle`` compute the same
    through an array namespace; on the few rows of a FABRIK pass, these numpy-only forms make
    a whole arm solve about 1.8 times faster: 14 against 26 ms median, measured.)
    """
    theta_sq = np.einsum("ij,ij->i", r, r)
    small = theta_sq < 1e-8
    theta = np.sqrt(np.where(small, 1.0, theta_sq))
    a = np.where(small, 1.0 - theta_sq / 6.0, np.sin(theta) / theta)  # sin t / t
    half = np.sin(0.5 * theta)
    b = np.where(small, 0.5 - theta_sq / 24.0, 2.0 * half * half / np.where(small, 1.0, theta_sq))  # (1 - cos t) / t^2
    c = 1.0 - b * theta_sq  # cos t
    # R = cos t I + (sin t / t) [r]x + ((1 - cos t) / t^2) r r^T
    R = (a[:, None] * r) @ _SKEW + (b[:, None, None] * (r[:, :, None] * r[:, None, :])).reshape(-1, 9)
    R[:, ::4] += c[:, None]
    return R.reshape(-1, 3, 3)


def _log(R: np.ndarray) -> np.ndarray:
    """Rotation matrices (n, 3, 3) -> axis-angle (n, 3), angle in [0, pi]."""
    flat = R.reshape(-1, 9)
    w = 0.5 * (flat[:, [7, 2, 3]] - flat[:, [5, 6, 1]])  # sin(t) * axis
    cos = np.clip(0.5 * (flat[:, 0] + flat[:, 4] + flat[:, 8] - 1.0), -1.0, 1.0)
    sin = np.sqrt(np.einsum("ij,ij->i", w, w))
    theta = np.arctan2(sin, cos)
    small = sin < 1e-9
    r = w * np.where(small, 1.0, theta / np.where(small, 1.0, sin))[:, None]
    obtuse = cos < 0.0
    if obtuse.any():
        # Past 90 degrees the axis is better read from the symmetric part:
        # (R + R^T) / 2 - cos I = (1 - cos) axis axis^T.
        i = np.flatnonzero(obtuse)
        sym = 0.5 * (R[i] + np.swapaxes(R[i], -1, -2)) - cos[i, None, None] * np.eye(3)
        column = np.argmax(np.diagonal(sym, axis1=1, axis2=2), axis=1)
        axis = sym[np.arange(len(i)), :, column]
        axis /= np.sqrt(np.sum(axis * axis, axis=1, keepdims=True))
        sign = np.where(np.sum(axis * w[i], axis=1) < 0.0, -1.0, 1.0)
        r[i] = axis * (sign * theta[i])[:, None]
    return r


def _rotation_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(s, 3, 3) the smallest rotations turning directions ``u`` (s, 3) onto ``v`` (s, 3);
    the identity where either is (nearly) zero."""
    nu = np.sqrt(np.einsum("ij,ij->i", u, u))
    nv = np.sqrt(np.einsum("ij,ij->i", v, v))
    degenerate = (nu < _TINY) | (nv < _TINY)
    u = u / np.maximum(nu, _TINY)[:, None]
    v = v / np.maximum(nv, _TINY)[:, None]
    w = _cross(u, v)  # sin(angle) * axis
    cos = np.einsum("ij,ij->i", u, v)
    opposite = cos < -1.0 + 1e-12
    # R = cos I + [w]x + w w^T / (1 + cos)
    R = w @ _SKEW + ((w[:, :, None] * w[:, None, :]) / np.where(opposite, 1.0, 1.0 + cos)[:, None, None]).reshape(-1, 9)
    R[:, ::4] += cos[:, None]
    R = R.reshape(-1, 3, 3)
    if opposite.any():
        # Half a turn about an axis perpendicular to u.
        uo = u[opposite]
        helper = np.where(np.abs(uo[:, :1]) < 0.9, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
        n = _cross(uo, helper)
        n /= np.sqrt(np.sum(n * n, axis=1, keepdims=True))
        R[opposite] = 2.0 * n[:, :, None] * n[:, None, :] - np.eye(3)
    if degenerate.any():
        R[degenerate] = np.eye(3)
    return R


def _best_rotation(H: np.ndarray) -> np.ndarray:
    """(k, 3, 3) the rotations R maximising trace(R^T H) (Kabsch), for H = sum w v u^T mapping
    u onto v. A tiny multiple of the identity picks the smallest turn where the pairs leave
    the rotation undetermined."""
    scale = np.abs(H).sum(axis=(1, 2))
    U, _, Vt = np.linalg.svd(H + (_FIT_PRIOR * np.maximum(scale, _TINY))[:, None, None] * np.eye(3))
    sign = np.sign(np.linalg.det(U @ Vt))
    U[:, :, 2] *= np.where(sign == 0, 1.0, sign)[:, None]
    return U @ Vt


class _Coordinates:
    """The kinds of coordinates of k bodies' local rotations (``"axis_angle"`` or an Euler
    order each): their conversions from and to rotation matrices, with the Euler work done
    only for the Euler rows (none, on most skeletons)."""

    def __init__(self, kinds: np.ndarray) -> None:
        self.axis_angle_rows = np.flatnonzero(kinds == AXIS_ANGLE)  # (k_aa,)
        # (order, (k_order,) rows) per Euler order present.
        self.euler = [(order, np.flatnonzero(kinds == order)) for order in sorted(set(kinds.tolist()) - {AXIS_ANGLE})]

    def clamped(self, R_pose: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        """(k, 3) coordinates of local rotations ``R_pose`` (k, 3, 3) clamped into boxes
        [lower, upper] (k, 3)."""
        if not self.euler:
            return _clamped_axis_angle(R_pose, lower, upper)
        c = np.empty((len(R_pose), 3))
        rows = self.axis_angle_rows
        if len(rows):
            c[rows] = _clamped_axis_angle(R_pose[rows], lower[rows], upper[rows])
        for order, rows in self.euler:
            c[rows] = np.clip(matrix_to_euler(R_pose[rows], order), lower[rows], upper[rows])
        return c

    def matrices(self, c: np.ndarray) -> np.ndarray:
        """(k, 3, 3) local rotations of coordinates ``c`` (k, 3)."""
        if not self.euler:
            return _exp(c)
        R = np.empty((len(c), 3, 3))
        rows = self.axis_angle_rows
        if len(rows):
            R[rows] = _exp(c[rows])
        for order, rows in self.euler:
            R[rows] = euler_to_matrix(c[rows], order, np)
        return R


def _clamped_axis_angle(R_pose: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """(k, 3) axis-angle of rotations ``R_pose`` (k, 3, 3) clamped into boxes [lower, upper] (k, 3).

    A rotation has two axis-angle vectors of angle <= 2 pi: ``r`` (angle <= pi) and
    ``r (1 - 2 pi / |r|)``; the one nearer the box (smaller total excess) is clamped.
    """
    r = _log(R_pose)
    if np.all((r >= lower) & (r <= upper)):
        return r
    theta = np.sqrt(np.sum(r * r, axis=1, keepdims=True))
    other = np.where(theta > 1e-12, r * (1.0 - 2.0 * np.pi / np.maximum(theta, 1e-12)), r)

    def excess(x):
        return np.sum(np.maximum(lower - x, 0.0) + np.maximum(x - upper, 0.0), axis=1)

    r = np.where((excess(other) < excess(r))[:, None], other, r)
    return np.clip(r, lower, upper)
