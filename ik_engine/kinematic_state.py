"""The kinematic state of a problem at one value of its variables: world frames and the
Jacobians of points and frames in the variables, as constraints read them."""

from __future__ import annotations

from typing import Any

import numpy as np

from .rotations import skew


class KinematicState:
    """The kinematic state at one value of the variables, as constraints see it.

    Attributes:
        problem: the ResidualProblem (static structure).
        q: (n,) the variables.
        r_moving: (M, 3) coordinates of the moving joints (their axis-angle rotations, or
            Euler angles for joints whose limits use Euler coordinates).
        R_world_joint: (S, 3, 3) world rotations of the problem's joints.
        p_world_joint: (S, 3) world positions.
        initial: the state at the initial variables (or None).
    """

    def __init__(self, problem, q, r_moving, R_world_joint, p_world_joint, W_world_dof, xp, initial=None):
        self.problem = problem
        self.q = q
        self.r_moving = r_moving
        self.R_world_joint = R_world_joint
        self.p_world_joint = p_world_joint
        # (M, 3, 3): column k of block m is the world angular velocity per unit change of
        # moving joint m's k-th coordinate.
        self.W_world_dof = W_world_dof
        self.xp = xp
        self.initial = initial

    def rotation_jacobian(self, row: int) -> Any:
        """(3, n) world angular velocity of joint ``row``'s frame per unit change of q."""
        return self.rotation_jacobians(np.array([row]))[0]

    def point_jacobian(self, row: int, p_world_point: Any) -> Any:
        """(3, n) world velocity of a point rigidly attached to joint ``row``, per unit change of q."""
        return self.point_jacobians(np.array([row]), self.xp.reshape(p_world_point, (1, 3)))[0]

    def rotation_jacobians(self, rows: np.ndarray) -> Any:
        """(k, 3, n): the world angular velocity of each of the joints ``rows`` (k,) per unit
        change of q."""
        xp = self.xp
        mask = self.problem.ancestor_mask[rows]  # (k, M) static
        blocks = self.W_world_dof[None] * mask[:, :, None, None]  # (k, M, 3, 3)
        J = xp.reshape(xp.transpose(blocks, (0, 2, 1, 3)), (len(rows), 3, -1))
        if not self.problem.move_root:
            return J
        return xp.concatenate([J, xp.zeros((len(rows), 3, 3), dtype=J.dtype)], axis=2)

    def point_jacobians(self, rows: np.ndarray, p_world_points: Any) -> Any:
        """(k, 3, n): the world velocity of k points (k, 3), each rigidly attached to its joint
        in ``rows`` (k,), per unit change of q."""
        xp = self.xp
        mask = self.problem.ancestor_mask[rows]  # (k, M) static
        p_moving = xp.take(self.p_world_joint, self.problem.moving_rows, axis=0)  # (M, 3)
        # omega x (p - p_joint) = [p_joint - p]x omega
        levers = p_moving[None, :, :] - p_world_points[:, None, :]  # (k, M, 3)
        blocks = (skew(levers, xp) @ self.W_world_dof[None]) * mask[:, :, None, None]  # (k, M, 3, 3)
        J = xp.reshape(xp.transpose(blocks, (0, 2, 1, 3)), (len(rows), 3, -1))
        if not self.problem.move_root:
            return J
        return xp.concatenate([J, xp.broadcast_to(xp.eye(3, dtype=J.dtype), (len(rows), 3, 3))], axis=2)

    def rotation_variables_jacobian(self) -> Any:
        """(3M, n) Jacobian of the moving joints' coordinates (flattened) in q."""
        n = self.problem.num_variables
        M3 = 3 * len(self.problem.moving_joints)
        return self.xp.asarray(np.eye(M3, n), dtype=self.q.dtype)
