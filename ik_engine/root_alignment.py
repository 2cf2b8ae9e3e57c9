"""The whole-body alignment seed of a solve: the root moved rigidly so that the constraints'
alignment points (``Constraint.alignment_point``: Positions, Orientations) best fit their
targets, so that large changes of the whole body's heading or position need no slow search by
the root joint (``solvers/levenberg_marquardt.py`` tries it as a second candidate)."""

from __future__ import annotations

from typing import Any

from .problem import ProblemInputs, ResidualProblem
from .rotations import axis_angle_to_matrix, matrix_to_axis_angle


def can_align_root(problem: ResidualProblem) -> bool:
    """Whether a rigid whole-body alignment seed is possible: the root rotates and
    translates, and at least three constraints have alignment points."""
    root_moves = len(problem.moving_joints) > 0 and problem.moving_joints[0] == 0
    points = sum(slot.kind.alignment_point is not None for slot in problem.slots)
    return problem.move_root and root_moves and points >= 3


def root_aligned(problem: ResidualProblem, q: Any, inputs: ProblemInputs, xp: Any) -> Any:
    """Variables with the root moved rigidly to best fit the alignment points to their
    targets (weighted Kabsch), other joints unchanged. Needs ``can_align_root(problem)``."""
    state = problem.state(q, inputs, xp)
    pairs = [
        slot.kind.alignment_point(state, slot, inputs.params[slot.param_slice], xp)
        for slot in problem.slots
        if slot.kind.alignment_point is not None
    ]
    weights = xp.stack([inputs.sqrt_weights[i] ** 2 for i, slot in enumerate(problem.slots) if slot.kind.alignment_point is not None])
    a = xp.stack([p for p, _ in pairs])  # (k, 3) current points
    b = xp.stack([t for _, t in pairs])  # (k, 3) targets
    w = weights / xp.maximum(xp.sum(weights), 1e-12)
    ca, cb = w @ a, w @ b
    H = ((a - ca) * w[:, None]).T @ (b - cb)
    U, _, Vt = xp.linalg.svd(H)
    d = xp.sign(xp.linalg.det(Vt.T @ U.T))
    D = xp.stack([xp.ones_like(d), xp.ones_like(d), xp.where(d == 0, 1.0, d)])
    R_align = Vt.T @ (D[:, None] * U.T)  # rotation taking a - ca onto b - cb
    M = len(problem.moving_joints)
    r_root = q[0:3]
    R_root = axis_angle_to_matrix(r_root, xp)
    if problem.rest_rotations is not None:
        R_rest = problem.rest_rotations[0]
        R_new = R_rest.T @ R_align @ R_rest @ R_root
    else:
        R_new = R_align @ R_root
    p_root = state.p_world_joint[0]
    translation_old = q[3 * M : 3 * M + 3]
    translation_new = R_align @ (p_root - ca) + cb - (p_root - translation_old)
    return xp.concatenate([matrix_to_axis_angle(R_new, xp), q[3 : 3 * M], translation_new])
