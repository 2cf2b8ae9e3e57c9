"""Cyclic coordinate descent (CCD): the classic heuristic IK baseline, on our skeleton and limits.

The method (Wang & Chen 1991, "A combined optimization method for solving the inverse
kinematics problem of mechanical manipulators"; Kenwright 2012, "Inverse kinematics - cyclic
coordinate descent"): one iteration is a sweep over the moving joints from the effectors
toward the root. Each joint in turn is given the rotation that best brings the effectors
below it onto their targets with every other joint held still, then that rotation is
clamped to the joint's limits, and the subtree below it moves rigidly with it.

Our joints are ball joints (three rotational degrees of freedom), so "the best rotation" is
the weighted best-fit rotation about the joint's centre (Kabsch / Horn), with one point pair
per position effector: (effector - joint, target - joint), weight = the constraint's weight.
With a single point pair it is the smallest rotation taking one vector onto the other, the
textbook CCD step. Orientation targets enter the same fit, as in Wang & Chen's combined
position and orientation objective: the three axes of the effector's frame and of the
target frame, each scaled to ``orientation_length`` metres, are three more pairs. A rotation
about the joint turns the points and the frame axes alike, so one fit serves both kinds; an
orientation error of ``theta`` radians then weighs like a position error of about
``orientation_length * theta * sqrt(2)`` metres. (0.15 m measured best of 0.05-0.3 m on the
arm_pose and full_body scenarios.)

Joint limits: the joint's new rotation is expressed in its coordinates, the numbers its
limits box (``ik_engine.joint_coordinates``): its local axis-angle (in the skeleton's
convention ``R_parent_joint = R_rest @ exp(r)``), or for a joint with Euler coordinates (the
SMPL-X elbows) its Euler angles (``R_parent_joint = R_rest @ R_i(c_i) R_j(c_j) R_k(c_k)``,
middle angle within +-90 degrees), and clipped into the limit box,
``np.clip(c, lower, upper)``. Like the variables of our solver, CCD's q holds these
coordinates. A clipped step can be worse than none (clipping coordinates is not a
projection in rotation space); with ``monotone`` such a step is not taken, so the weighted
error never grows and "no progress" is a meaningful stop.

With ``move_root`` the root translation is a prismatic degree of freedom: after each sweep
the whole body moves by the weighted mean of the position errors (the least-squares
translation; orientations do not depend on it). The root joint's rotation and that
translation then form one rigid step, so the root's fit is taken about the effectors'
weighted centroid (Kabsch with centring): unclamped, it is the exact best rigid motion.

One addition to the textbook sweep for a free-floating body, ``align_root`` (on by default;
it acts only with ``move_root``, as in the full-body scenario): each sweep starts with the
root's rigid step (rotation, when the root joint moves, and translation), then visits the
joints from the leaves toward the root as usual. Without it the limbs first contort toward
targets on the far side of a body still facing the wrong way, pin themselves on their
limits and take hundreds of sweeps to crawl out (full_body, 50 targets, 100 sweeps: 2 %
within 1 mm and 1 degree, median position error 77 mm; with it 12 % and 30 mm).

Cost: per joint step a 3x3 fit (closed form for one point pair, an SVD otherwise), two
scalar rotation conversions and a rigid update of the slice of joints and effector points
below it; joints are stored depth-first so every subtree is one contiguous slice. Forward
kinematics runs once per solve; each step rebuilds the turned joint's frame exactly from
its parent's frame and its clamped coordinates, so rounding in the incremental updates
never compounds. About 0.1 ms per sweep on the 4-joint arm, 1 ms on the 22-joint body; a
joint with Euler coordinates adds about 5 us per step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ik_engine.constraints.base import Constraint
from ik_engine.constraints.orientation import Orientation
from ik_engine.constraints.position import Position
from ik_engine.errors import SolverError
from ik_engine.joint_coordinates import AXIS_ANGLE, SWING_TWIST_KINDS, clamped_coordinates, coordinates_to_matrix, matrix_to_coordinates
from ik_engine.scalar_rotations import axis_angle_to_matrix, euler_to_matrix, matrix_to_axis_angle, matrix_to_euler
from ik_engine.kinematics import forward_kinematics, local_rotations
from ik_engine.pose import Pose
from ik_engine.skeleton import Skeleton
from ik_engine.solver import IKResult
from ik_engine.validation import finite_number

from .common import BaselineOptions, PreparedProblem, prepare

METHOD = "CCD"
SUPPORTED = (Position, Orientation)


@dataclass(frozen=True)
class CCDOptions(BaselineOptions):
    """Settings of CCD (besides those every baseline takes).

    Attributes:
        max_iterations: sweeps over the moving joints (effectors toward the root).
        orientation_length: metres; an orientation target's frame axes enter each joint's
            rotation fit as point pairs of this length.
        monotone: skip a joint's step when clamping it to the limits would make the
            weighted error grow (the unclamped step never does).
        align_root: with ``move_root``, start each sweep with the root joint's step and the
            translation step (see the module notes); no effect without ``move_root``.
        stall_tolerance: stop when a sweep lowers the weighted squared error by less than
            this fraction of it (no progress); 0 sweeps on to ``max_iterations``.
    """

    max_iterations: int = 100
    orientation_length: float = 0.15
    monotone: bool = True
    align_root: bool = True
    stall_tolerance: float = 1e-6


def ccd(
    skeleton: Skeleton,
    constraints: Sequence[Constraint],
    joints: Iterable[str] | None = None,
    init: Pose | None = None,
    options: CCDOptions | None = None,
) -> IKResult:
    """Solve with cyclic coordinate descent.

    The shared calling convention of the baselines (``ik_engine.baselines.common``): ``skeleton``,
    ``constraints`` (``ik.Position`` and ``ik.Orientation`` targets, any number, on any joints),
    ``joints`` that may rotate (default all), ``init`` (default rest) and ``options``
    (``CCDOptions``); the result is an ``IKResult`` measured on the clipped pose. Raises
    ``SolverError`` for other constraint kinds ("... not supported by CCD ...") and bad
    options, and the input errors ``IKSolver.solve`` raises.
    """
    prepared = prepare(METHOD, SUPPORTED, skeleton, constraints, joints, init, options, CCDOptions)
    options = prepared.options
    finite_number(options.orientation_length, "CCDOptions.orientation_length", SolverError, minimum=0.0, strictly_above=True)
    finite_number(options.stall_tolerance, "CCDOptions.stall_tolerance", SolverError, minimum=0.0)
    for name in ("monotone", "align_root"):
        if not isinstance(getattr(options, name), (bool, np.bool_)):
            raise SolverError(f"CCDOptions.{name} must be True or False, got {getattr(options, name)!r}")
    chain = _Chain(prepared)
    q, sweeps = chain.run(prepared.q0)
    return prepared.result(q, sweeps)


class _Chain:
    """The static layout of one CCD solve and its sweeps.

    Joints are kept in depth-first order ("nodes"), so the joints that move with a joint
    (its subtree) are one contiguous range of nodes, and the effectors below it one
    contiguous range of effectors (sorted by node): a joint's step updates slices, with
    no index lists.
    """

    def __init__(self, prepared: PreparedProblem) -> None:
        self.prepared = prepared
        problem = prepared.problem
        inputs = prepared.inputs
        skeleton = prepared.skeleton
        S = len(problem.joints)
        parent_rows = [-1 if skeleton.parents[j] < 0 else problem.row_of[int(skeleton.parents[j])] for j in problem.joints]
        children = [[] for _ in range(S)]
        for row in range(1, S):
            children[parent_rows[row]].append(row)
        order, stack = [], [0]  # row 0 is the skeleton's root: every subtree contains it
        while stack:
            row = stack.pop()
            order.append(row)
            stack.extend(reversed(children[row]))
        node_of_row = np.empty(S, dtype=np.int64)
        node_of_row[order] = np.arange(S)
        size = np.ones(S, dtype=np.int64)
        for row in range(S - 1, 0, -1):  # children come after their parents in row order
            size[parent_rows[row]] += size[row]
        self.order = np.array(order, dtype=np.int64)  # node -> row
        self.node_of_row = node_of_row
        self.move_root = problem.move_root
        self.num_constraints = len(problem.slots)
        rest = problem.rest_rotations

        # Effectors, sorted by node (stable: constraint order within a node).
        weights = np.asarray(inputs.sqrt_weights, dtype=np.float64) ** 2
        params = np.asarray(inputs.params, dtype=np.float64)

        def node_of(c: int) -> int:
            return int(node_of_row[problem.slots[c].joint_rows[0]])

        def params_of(c: int) -> np.ndarray:
            return params[problem.slots[c].param_slice]

        pos = sorted((c for c, slot in enumerate(problem.slots) if issubclass(slot.kind, Position)), key=node_of)
        ori = sorted((c for c, slot in enumerate(problem.slots) if issubclass(slot.kind, Orientation)), key=node_of)
        self.pos_constraint = np.array(pos, dtype=np.int64)  # (P,) constraint index of each
        self.pos_node = np.array([node_of(c) for c in pos], dtype=np.int64)  # (P,)
        self.pos_targets = np.array([params_of(c)[0:3] for c in pos]).reshape(-1, 3)  # (P, 3)
        self.pos_offsets = np.array([params_of(c)[3:6] for c in pos]).reshape(-1, 3)  # (P, 3) in the joint's frame
        self.pos_weights = weights[self.pos_constraint]  # (P,)
        self.ori_constraint = np.array(ori, dtype=np.int64)  # (O,)
        self.ori_node = np.array([node_of(c) for c in ori], dtype=np.int64)  # (O,)
        self.ori_targets = np.array([params_of(c).reshape(3, 3) for c in ori]).reshape(-1, 3, 3)  # (O, 3, 3) R_world_target
        # Weight of each frame-axis pair: constraint weight * length^2 (the axes are unit vectors).
        self.ori_weights = weights[self.ori_constraint] * prepared.options.orientation_length**2  # (O,)
        pos_weight_sum = self.pos_weights.sum()
        self.translation_weights = self.pos_weights / pos_weight_sum if pos_weight_sum > 0 else None

        # One step per moving joint that can turn a weighted effector, from the leaves
        # toward the root (descending rows: every child before its parent).
        M = len(problem.moving_rows)
        lower = problem.lower[: 3 * M].reshape(M, 3)
        upper = problem.upper[: 3 * M].reshape(M, 3)
        self.steps = []
        for m in sorted(range(M), key=lambda m: -problem.moving_rows[m]):
            row = int(problem.moving_rows[m])
            node, end = int(node_of_row[row]), int(node_of_row[row] + size[row])
            pa, pb = (int(i) for i in np.searchsorted(self.pos_node, [node, end]))
            oa, ob = (int(i) for i in np.searchsorted(self.ori_node, [node, end]))
            weighted_points = [i for i in range(pa, pb) if self.pos_weights[i] > 0]
            weighted_frames = [i for i in range(oa, ob) if self.ori_weights[i] > 0]
            if not weighted_points and not weighted_frames:
                continue
            # With move_root the root's rotation and the translation form one rigid 6-DoF
            # step: its fit is about the effectors' weighted centroid (see turn_joint).
            centred = row == 0 and self.move_root
            single = weighted_points[0] if len(weighted_points) == 1 and not weighted_frames and not centred else -1
            parent = parent_rows[row]
            kind = prepared.skeleton.coordinates[int(problem.moving_joints[m])]
            self.steps.append(
                _Step(
                    m, node, end, -1 if parent < 0 else int(node_of_row[parent]), None if rest is None else rest[row],
                    pa, pb, oa, ob, single, centred, tuple(lower[m].tolist()), tuple(upper[m].tolist()),
                    None if kind == AXIS_ANGLE or kind in SWING_TWIST_KINDS else tuple("xyz".index(a) for a in kind),
                    self._swing_twist_step(prepared.skeleton, int(problem.moving_joints[m])) if kind in SWING_TWIST_KINDS else None,
                )
            )
        self.root_step = self.steps[-1] if self.steps and self.steps[-1].node == 0 else None

    # -------------------------------------------------------------- state
    @staticmethod
    def _swing_twist_step(skeleton: Skeleton, joint: int) -> tuple[str, bool, np.ndarray, np.ndarray | None]:
        """(kind, elliptic, neutral rotation, reach table or None) of a swing-twist joint, for its ``_Step``."""
        neutral = skeleton.neutral(joint)
        return (skeleton.coordinates[joint], bool(skeleton.elliptic_swing[joint]), np.eye(3) if neutral is None else neutral,
                skeleton.reach(joint))

    def initial_state(self, q0: np.ndarray):
        """(c_moving (M, 3) coordinates of the moving joints, translation (3,), R_world (S, 3, 3),
        p_world (S, 3) in node order, effector points (P, 3)) at variables ``q0`` (n,)."""
        prepared = self.prepared
        problem = prepared.problem
        M = len(problem.moving_rows)
        c_moving = np.array(q0[: 3 * M], dtype=np.float64).reshape(M, 3)
        translation = np.array(q0[3 * M : 3 * M + 3] if self.move_root else prepared.inputs.translation, dtype=np.float64)
        rotations = np.array(prepared.inputs.fixed_rotations, dtype=np.float64)  # (S, 3) axis-angles
        rotations[problem.moving_rows] = prepared.pose(q0).rotations[problem.moving_joints]
        R_parent_joint = local_rotations(rotations, problem.rest_rotations, np)
        R_world, p_world = forward_kinematics(problem.levels, problem.offsets, R_parent_joint, problem.offsets[0] + translation, np)
        R_world, p_world = R_world[self.order], p_world[self.order]
        points = p_world[self.pos_node] + np.einsum("pij,pj->pi", R_world[self.pos_node], self.pos_offsets)
        return c_moving, translation, R_world, p_world, points

    def errors_and_cost(self, R_world: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, float]:
        """((C,) unweighted errors in constraint order, the weighted squared error CCD lowers)."""
        errors = np.zeros(self.num_constraints)
        position = points - self.pos_targets
        position_sq = np.sum(position * position, axis=1)
        errors[self.pos_constraint] = np.sqrt(position_sq)
        frame = R_world[self.ori_node] - self.ori_targets
        frame_sq = np.sum(frame * frame, axis=(1, 2))  # = 8 sin^2(angle / 2)
        errors[self.ori_constraint] = 2.0 * np.arcsin(np.minimum(np.sqrt(frame_sq / 8.0), 1.0))
        return errors, float(self.pos_weights @ position_sq + self.ori_weights @ frame_sq)

    def variables(self, c_moving: np.ndarray, translation: np.ndarray) -> np.ndarray:
        q = c_moving.reshape(-1)
        return np.concatenate([q, translation]) if self.move_root else q.copy()

    # -------------------------------------------------------------- sweeps
    def run(self, q0: np.ndarray) -> tuple[np.ndarray, int]:
        """(final variables q (n,), sweeps done) from initial variables ``q0`` (n,)."""
        prepared = self.prepared
        options = prepared.options
        c_moving, translation, R_world, p_world, points = self.initial_state(q0)
        errors, cost = self.errors_and_cost(R_world, points)
        sweeps = 0
        while True:
            # The incremental state agrees with FK to rounding; the official measure decides.
            if prepared.converged(errors) and prepared.converged(prepared.errors(self.variables(c_moving, translation))):
                break
            if sweeps >= options.max_iterations:
                break
            if options.align_root and self.move_root:
                if self.root_step is not None:
                    self.turn_joint(self.root_step, c_moving, R_world, p_world, points)
                self.translate_root(translation, p_world, points)
            for step in self.steps:
                self.turn_joint(step, c_moving, R_world, p_world, points)
            self.translate_root(translation, p_world, points)
            sweeps += 1
            previous = cost
            errors, cost = self.errors_and_cost(R_world, points)
            if previous - cost <= options.stall_tolerance * previous:
                break
        return self.variables(c_moving, translation), sweeps

    def translate_root(self, translation, p_world, points) -> None:
        """With ``move_root``: move everything by the weighted mean position error, the
        least-squares translation (in place)."""
        if self.move_root and self.translation_weights is not None:
            shift = self.translation_weights @ (self.pos_targets - points)
            translation += shift
            p_world += shift
            points += shift

    def turn_joint(self, step: "_Step", c_moving, R_world, p_world, points) -> None:
        """One CCD step at one joint: best rotation, clamp, move its subtree (in place)."""
        k = step.node
        p_joint = p_world[k]
        if step.single >= 0:
            a = points[step.single] - p_joint
            b = self.pos_targets[step.single] - p_joint
            R_turn = _rotation_between(a, b)
            H = None
        else:
            # The best rotation maximises trace(R H), H = sum_i w_i a_i b_i^T.
            H = np.zeros((3, 3))
            if step.pa < step.pb:
                w = self.pos_weights[step.pa : step.pb]
                a = points[step.pa : step.pb] - p_joint
                b = self.pos_targets[step.pa : step.pb] - p_joint
                if step.centred:
                    # The root's turn followed by the least-squares translation: Kabsch
                    # about the weighted centroids, the exact rigid fit when unclamped.
                    w_sum = w.sum()
                    if w_sum > 0:
                        a = a - (w @ a) / w_sum
                        b = b - (w @ b) / w_sum
                H += (a * w[:, None]).T @ b
            if step.oa < step.ob:
                A = R_world[self.ori_node[step.oa : step.ob]]  # columns: the effector frames' axes
                B = self.ori_targets[step.oa : step.ob]
                H += np.einsum("k,kij,klj->il", self.ori_weights[step.oa : step.ob], A, B)
            R_turn = _best_rotation(H)
        if R_turn is None:
            return

        # The joint's rest frame in the world: R_world_joint = R_frame @ R_pose(c).
        R_world_joint = R_world[k]
        R_frame = None if step.parent < 0 else R_world[step.parent]
        if step.R_rest is not None:
            R_frame = step.R_rest if R_frame is None else R_frame @ step.R_rest
        R_pose = R_turn @ R_world_joint
        if R_frame is not None:
            R_pose = R_frame.T @ R_pose
        if step.swing_twist is not None:
            # A ball joint with an elliptic swing limit or a reach table: clipped, then projected onto it.
            kind, elliptic, neutral, reach = step.swing_twist
            c_wanted = tuple(matrix_to_coordinates(R_pose @ neutral.T, kind).tolist())
            c_new = tuple(clamped_coordinates(np.array(c_wanted), kind, np.array(step.lower), np.array(step.upper), elliptic, reach).tolist())
            R_pose = coordinates_to_matrix(np.array(c_new), kind, np) @ neutral
        else:
            if step.euler is None:
                c_wanted = matrix_to_axis_angle(R_pose.tolist())
            else:
                c_wanted = matrix_to_euler(R_pose.tolist(), step.euler)
            c_new = tuple(min(max(v, lo), hi) for v, lo, hi in zip(c_wanted, step.lower, step.upper))
            # The joint's new frame, exactly from its parent's and c_new (so that rounding in
            # the incremental updates never feeds back), and the turn it makes in the world.
            R_pose = axis_angle_to_matrix(c_new) if step.euler is None else euler_to_matrix(c_new, step.euler)
        R_world_new = R_pose if R_frame is None else R_frame @ R_pose
        if c_new != c_wanted:
            R_turn = R_world_new @ R_world_joint.T
            if self.prepared.options.monotone:
                if H is None:
                    H = np.outer(a, b)
                # trace(R H) - trace(H): how much the step lowers the weighted error, halved.
                if np.vdot(R_turn, H.T) <= H[0, 0] + H[1, 1] + H[2, 2]:
                    return
        c_moving[step.m] = c_new
        e = step.end
        R_world[k + 1 : e] = R_turn @ R_world[k + 1 : e]
        R_world[k] = R_world_new
        p_world[k + 1 : e] = p_joint + (p_world[k + 1 : e] - p_joint) @ R_turn.T
        if step.pa < step.pb:
            points[step.pa : step.pb] = p_joint + (points[step.pa : step.pb] - p_joint) @ R_turn.T


@dataclass(frozen=True)
class _Step:
    """One joint of a sweep.

    m: its index among the moving joints; node, end: its subtree's node range; parent: its
    parent's node (-1 for the root); R_rest: its rest rotation (3, 3) or None; pa:pb, oa:ob:
    the position / orientation effectors below it; single: the one weighted position
    effector when it is alone (closed-form step), else -1; centred: the root of a body
    whose translation moves (fit about the effectors' centroid); lower, upper: its limit box
    on its coordinates; euler: the axes (i, j, k) of its Euler coordinates in their order
    (``"yzx"``: (1, 2, 0)), None for axis-angle coordinates; swing_twist: for swing-twist
    coordinates, (kind, whether an ellipse limits the swing, its neutral rotation (3, 3)), else None.
    """

    m: int
    node: int
    end: int
    parent: int
    R_rest: np.ndarray | None
    pa: int
    pb: int
    oa: int
    ob: int
    single: int
    centred: bool
    lower: tuple[float, float, float]
    upper: tuple[float, float, float]
    euler: tuple[int, int, int] | None
    swing_twist: tuple[str, bool, np.ndarray] | None = None


# Below this, a vector or a cross product is treated as zero (metres, metres^2).
_TINY = 1e-12
_EYE = np.eye(3)


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """The smallest rotation (3, 3) turning direction ``a`` (3,) onto direction ``b`` (3,);
    None when either is (nearly) zero or they already agree."""
    ax, ay, az = a.tolist()
    bx, by, bz = b.tolist()
    a_norm = math.sqrt(ax * ax + ay * ay + az * az)
    if a_norm < _TINY or math.sqrt(bx * bx + by * by + bz * bz) < _TINY:
        return None
    cx, cy, cz = ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx
    sin_norm = math.sqrt(cx * cx + cy * cy + cz * cz)  # |a| |b| sin(angle)
    cos_norm = ax * bx + ay * by + az * bz  # |a| |b| cos(angle)
    angle = math.atan2(sin_norm, cos_norm)
    if angle == 0.0:
        return None
    if sin_norm < _TINY * _TINY:
        # Opposite directions: half a turn about an axis perpendicular to a.
        ux, uy, uz = (0.0, az, -ay) if abs(ax) < 0.9 * a_norm else (-az, 0.0, ax)  # a x e_x or a x e_y
        scale = math.pi / math.sqrt(ux * ux + uy * uy + uz * uz)
        return axis_angle_to_matrix((ux * scale, uy * scale, uz * scale))
    scale = angle / sin_norm
    return axis_angle_to_matrix((cx * scale, cy * scale, cz * scale))


def _best_rotation(H: np.ndarray) -> np.ndarray | None:
    """The rotation R (3, 3) maximising trace(R H) (Kabsch), for H = sum_i w_i a_i b_i^T (3, 3).

    A small multiple of the identity is added to H: where the pairs leave the rotation
    undetermined (all vectors on one line), it picks the smallest of the best rotations, as
    single-pair CCD does; a determined answer moves by about 1e-9 rad only.
    """
    scale = np.abs(H).sum()
    if scale < _TINY * _TINY:
        return None
    U, _, Vt = np.linalg.svd(H + (1e-9 * scale) * _EYE)
    R = Vt.T @ U.T
    (r00, r01, r02), (r10, r11, r12), (r20, r21, r22) = R.tolist()
    if r00 * (r11 * r22 - r12 * r21) - r01 * (r10 * r22 - r12 * r20) + r02 * (r10 * r21 - r11 * r20) < 0:
        Vt[2] *= -1.0  # a reflection fits better: take the best proper rotation instead
        R = Vt.T @ U.T
    return R


