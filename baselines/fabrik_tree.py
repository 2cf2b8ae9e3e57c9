"""The body tree of the FABRIK baseline (fabrik.py): its levels, reaching passes and limits."""

from __future__ import annotations

import numpy as np

from ik_engine.constraints.position import Position

from .common import PreparedProblem
from .fabrik_rotations import TINY, Coordinates, best_rotation, rotation_between


class Level:
    """The bodies at one depth of the body tree and the points they carry.

    k bodies; "placed" points: every point of these bodies (child bodies' pivots and effector
    points), Q of them; "active" points: those with a position target at or below them, A.
    """

    def __init__(self, bodies, tree: "BodyTree") -> None:
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
        fit = incidence * (np.linalg.norm(self.active_d, axis=1) > TINY)[None, :]
        fit_count = (fit > 0).sum(axis=1)

        rotates = tree.rotates[self.bodies]
        oriented = tree.has_orientation[self.bodies] & rotates
        self.oriented = np.flatnonzero(oriented)  # slots taking their target rotation
        self.R_oriented = tree.R_orientation[self.bodies[self.oriented]]  # (ko, 3, 3)
        free = rotates & ~oriented
        self.single = np.flatnonzero(free & (fit_count == 1))  # one-point bodies
        self.single_point = first_true(fit[self.single] > 0)  # (ks,) their point
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
        self.child_coordinates = tree.coordinates_of(children)
        bounded = np.zeros(k, dtype=bool)
        bounded[voter_slot[self.bounding_voters]] = True
        voter_count = (votes > 0).sum(axis=1)
        self.bounded_one = np.flatnonzero(bounded & (voter_count == 1))  # slots
        self.bounded_one_voter = first_true(votes[self.bounded_one] > 0)
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
        self.coordinates = tree.coordinates_of(self.bodies)

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
                turn = rotation_between(current[self.single_point], wanted[self.single_point])
                R_new[self.single] = turn @ R_current[self.single]
            if len(self.multi):
                H = np.einsum("ka,ai,aj->kij", self.multi_weights, wanted, current)  # maps current -> wanted
                R_new[self.multi] = best_rotation(H) @ R_current[self.multi]
        return R_new


class BodyTree:
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
        self.elliptic = skeleton.elliptic_swing[problem.joints[body_rows]]  # (B,) swing-twist joints' ellipses
        self.neutral = None if skeleton.neutral_rotations is None else skeleton.neutral_rotations[problem.joints[body_rows]]
        self.reach = None if skeleton.swing_reach is None else skeleton.swing_reach[problem.joints[body_rows]]
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
                self.R_orientation[b] = self.ori_target[members[0]] if len(members) == 1 else best_rotation(mean[None])[0]

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
            if any(active and np.linalg.norm(d) > TINY for _, d, _, active in self.points[b]):
                self.informative[b] = True
            if b > 0 and self.informative[b] and self.rotates[b]:
                self.informative[self.body_parent[b]] = True

        depth = np.zeros(B, dtype=np.int64)
        for b in range(1, B):
            depth[b] = depth[self.body_parent[b]] + 1
        self.levels = [Level(np.flatnonzero(depth == k).tolist(), self) for k in range(int(depth.max()) + 1)]

    # -------------------------------------------------------------- passes
    def coordinates_of(self, bodies: np.ndarray) -> Coordinates:
        """The coordinate conversions of bodies (k,): their kinds, ellipses, centres and reach tables."""
        return Coordinates(self.kinds[bodies], self.elliptic[bodies], None if self.neutral is None else self.neutral[bodies],
                           None if self.reach is None else self.reach[bodies])

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
    def _bounded_by_children(level: Level, R_new: np.ndarray, R_in: np.ndarray) -> np.ndarray:
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
            R_new[level.bounded_many] = best_rotation(np.einsum("kv,vij->kij", level.bounded_many_weights, wanted))
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


def first_true(mask: np.ndarray) -> np.ndarray:
    """(k,) column of the first True of each row of ``mask`` (k, A)."""
    return np.argmax(mask, axis=1) if mask.size else np.zeros(len(mask), dtype=np.int64)


