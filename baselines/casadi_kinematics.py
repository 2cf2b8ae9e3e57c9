"""The forward kinematics of a residual problem as CasADi expressions (the IPOPT baseline's
model: exact derivatives by CasADi's automatic differentiation), the same frames as
``ik_engine.kinematics``."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ik_engine.errors import SolverError
from ik_engine.joint_coordinates import MAX_SWING, SWING_TWIST_KINDS, reach_directions, swing_axes, twist_axis
from ik_engine.problem import ResidualProblem

# Below this squared angle (about 0.1 rad) exp(r) uses Taylor series in angle^2: the closed
# forms sin(t)/t and (1 - cos t)/t^2 cancel there, which would spoil their second
# derivatives. The series are truncated after the t^8 term: error below 1e-17.
_SERIES_ANGLE_SQ = 1e-2


def casadi_module() -> Any:
    """The casadi module (imported on first use: importing this file stays cheap)."""
    try:
        import casadi
    except ImportError:
        raise SolverError(
            "the IPOPT baseline needs CasADi, which ships IPOPT: pip install \"casadi>=3.6\" (ik-engine's extra 'ipopt')"
        ) from None
    return casadi


def _skew(v: Any) -> Any:
    casadi = casadi_module()
    return casadi.vertcat(
        casadi.horzcat(0, -v[2], v[1]),
        casadi.horzcat(v[2], 0, -v[0]),
        casadi.horzcat(-v[1], v[0], 0),
    )


def casadi_axis_angle_to_matrix(r: Any) -> Any:
    """Rodrigues' formula on a CasADi (3, 1) expression: ``exp([r]x)`` (3, 3).

    Twice differentiable everywhere, zero included: near zero the coefficients are series
    in angle^2 (no square root there).
    """
    casadi = casadi_module()
    theta_sq = casadi.dot(r, r)
    series = theta_sq < _SERIES_ANGLE_SQ
    safe_sq = casadi.if_else(series, 1.0, theta_sq)  # keeps the unused branch finite
    theta = casadi.sqrt(safe_sq)
    t2, t4 = theta_sq, theta_sq * theta_sq
    # sin(t)/t and (1 - cos t)/t^2 and their series 1 - t^2/3! + t^4/5! - ..., 1/2! - t^2/4! + ...
    a_series = 1.0 - t2 / 6.0 + t4 / 120.0 - t4 * t2 / 5040.0 + t4 * t4 / 362880.0
    b_series = 0.5 - t2 / 24.0 + t4 / 720.0 - t4 * t2 / 40320.0 + t4 * t4 / 3628800.0
    sin_half = casadi.sin(0.5 * theta)
    a = casadi.if_else(series, a_series, casadi.sin(theta) / theta)
    b = casadi.if_else(series, b_series, 2.0 * sin_half * sin_half / safe_sq)
    K = _skew(r)
    return casadi.SX.eye(3) + a * K + b * (K @ K)


def casadi_elementary_rotation(axis: int, angle: Any) -> Any:
    """(3, 3) CasADi rotation by the scalar expression ``angle`` about coordinate axis
    ``axis`` (0, 1, 2 for x, y, z)."""
    casadi = casadi_module()
    c, s = casadi.cos(angle), casadi.sin(angle)
    if axis == 0:
        rows = ((1, 0, 0), (0, c, -s), (0, s, c))
    elif axis == 1:
        rows = ((c, 0, s), (0, 1, 0), (-s, 0, c))
    else:
        rows = ((c, -s, 0), (s, c, 0), (0, 0, 1))
    return casadi.vertcat(*(casadi.horzcat(*row) for row in rows))


def casadi_euler_to_matrix(c: Any, order: str) -> Any:
    """(3, 3) rotation of Euler coordinates ``c`` (3, 1), stored by axis (c_x, c_y, c_z), in
    ``order`` (intrinsic: ``"yzx"`` is ``R_y(c_y) @ R_z(c_z) @ R_x(c_x)``), as
    ``ik_engine.joint_coordinates.euler_to_matrix`` defines them. Smooth everywhere."""
    axes = ["xyz".index(a) for a in order]
    first, middle, last = (casadi_elementary_rotation(axis, c[axis]) for axis in axes)
    return first @ middle @ last


def _casadi_swing(c: Any, t: int) -> tuple[Any, Any, Any]:
    """(w, s_b, s_d) of the swing quaternion of swing-twist coordinates c (3, 1)."""
    casadi = casadi_module()
    b, d = swing_axes(t)
    s_b, s_d = casadi.sin(0.5 * c[b]), casadi.sin(0.5 * c[d])
    return casadi.sqrt(casadi.fmax(1.0 - s_b * s_b - s_d * s_d, 1e-12)), s_b, s_d


def casadi_swing_twist_to_matrix(c: Any, t: int) -> Any:
    """(3, 3) rotation ``S @ R_t(tau)`` of swing-twist coordinates c (3, 1), as
    ``ik_engine.joint_coordinates.swing_twist_to_matrix`` defines it."""
    casadi = casadi_module()
    w, s_b, s_d = _casadi_swing(c, t)
    v = [0, 0, 0]
    b, d = swing_axes(t)
    v[b], v[d] = s_b, s_d
    x, y, z = v
    S = casadi.vertcat(
        casadi.horzcat(1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)),
        casadi.horzcat(2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)),
        casadi.horzcat(2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)),
    )
    return S @ casadi_elementary_rotation(t, c[t])


def casadi_swing_limits(problem: ResidualProblem, q: Any) -> list[Any]:
    """Inequalities ``g <= 1`` that keep each moving swing-twist joint's swing inside its
    ellipse (per quadrant, the semi-axes of ``joint_coordinates.swing_scale``; once
    differentiable) or reach table and within ``MAX_SWING``: the limits the box bounds cannot express."""
    casadi = casadi_module()
    skeleton = problem.skeleton
    rho_sq = float(np.sin(0.5 * MAX_SWING)) ** 2
    g = []
    for m, joint in enumerate(problem.moving_joints):
        kind = skeleton.coordinates[int(joint)]
        if kind not in SWING_TWIST_KINDS:
            continue
        t = twist_axis(kind)
        b, d = swing_axes(t)
        _, s_b, s_d = _casadi_swing(q[3 * m : 3 * m + 3], t)
        radius_sq = s_b * s_b + s_d * s_d
        g.append(radius_sq / rho_sq)
        reach = skeleton.reach(int(joint))
        if reach is not None and (reach < MAX_SWING).any():
            g.append(_reach_level(s_b, s_d, radius_sq, reach))
        if skeleton.elliptic_swing[int(joint)]:
            lower, upper = skeleton.lower[int(joint)], skeleton.upper[int(joint)]
            terms = []
            for s, a in ((s_b, b), (s_d, d)):
                positive, negative = np.sin(0.5 * min(upper[a], np.pi)), -np.sin(0.5 * max(lower[a], -np.pi))
                # A zero semi-axis: the box already holds the coordinate at 0 on that side.
                terms.append(casadi.if_else(s >= 0, s * s / max(positive**2, 1e-12), s * s / max(negative**2, 1e-12)))
            g.append(terms[0] + terms[1])
    return g


def _reach_level(s_b: Any, s_d: Any, radius_sq: Any, reach: np.ndarray) -> Any:
    """``|s|^2 / sin(r / 2)^2`` of a swing ``(s_b, s_d)`` against the reach r of table ``reach``
    (R,) in its direction (``joint_coordinates.reach_sine``, written out for casadi); 0 near
    the centre, where the direction (and its derivative) is undefined."""
    casadi = casadi_module()
    near_centre = radius_sq < 1e-12
    direction = casadi.atan2(s_d, casadi.if_else(near_centre, 1.0, s_b))
    total = 0
    count = len(reach)
    for angle, r in zip(reach_directions(count), reach):
        offset = casadi.atan2(casadi.sin(direction - angle), casadi.cos(direction - angle))
        total = total + casadi.fmax(1.0 - casadi.fabs(offset) * (count / (2.0 * np.pi)), 0.0) * float(r)
    return casadi.if_else(near_centre, 0.0, radius_sq / casadi.sin(0.5 * total) ** 2)


def swing_limit_count(problem: ResidualProblem) -> int:
    """How many inequalities ``casadi_swing_limits`` makes for this problem."""
    skeleton = problem.skeleton
    count = 0
    for joint in problem.moving_joints:
        if skeleton.coordinates[int(joint)] in SWING_TWIST_KINDS:
            reach = skeleton.reach(int(joint))
            count += 1 + int(skeleton.elliptic_swing[int(joint)]) + int(reach is not None and bool((reach < MAX_SWING).any()))
    return count


def casadi_forward_kinematics(problem: ResidualProblem, q: Any, R_parent_fixed: Sequence[Any], translation: Any):
    """World transforms of the problem's subtree as CasADi expressions.

    Args:
        problem: the residual problem (subtree rows ``problem.joints``, moving rows, offsets).
        q: (n, 1) CasADi variables (moving joints' coordinates: axis-angles, or Euler or
            swing-twist coordinates for the joints in ``problem.euler_moving``; then the root translation when the
            root moves).
        R_parent_fixed: one (3, 3) expression per subtree row that does not move, in row
            order: its ``R_parent_joint`` (rest rotation included).
        translation: (3, 1) root translation used when the root does not move.

    Returns:
        (R_world_joint, p_world_joint): lists over subtree rows of (3, 3) and (3, 1) expressions.
    """
    casadi = casadi_module()
    M = len(problem.moving_joints)
    moving_index = {int(row): m for m, row in enumerate(problem.moving_rows)}
    euler_order = dict(problem.euler_moving)  # m -> Euler order, for Euler joints only
    fixed = iter(R_parent_fixed)
    offsets = problem.offsets
    parents = problem.skeleton.parents
    R_world, p_world = [], []
    root_translation = q[3 * M : 3 * M + 3] if problem.move_root else translation
    for row, joint in enumerate(problem.joints):
        if row in moving_index:
            m = moving_index[row]
            coordinates = q[3 * m : 3 * m + 3]
            if euler_order.get(m) in SWING_TWIST_KINDS:
                R_local = casadi_swing_twist_to_matrix(coordinates, twist_axis(euler_order[m]))
                neutral = problem.skeleton.neutral(int(joint))
                if neutral is not None:
                    R_local = R_local @ casadi.DM(neutral)
            elif m in euler_order:
                R_local = casadi_euler_to_matrix(coordinates, euler_order[m])
            else:
                R_local = casadi_axis_angle_to_matrix(coordinates)
            if problem.rest_rotations is not None:
                R_local = casadi.DM(problem.rest_rotations[row]) @ R_local
        else:
            R_local = next(fixed)
        parent = int(parents[joint])
        if parent < 0:
            R_world.append(R_local)
            p_world.append(casadi.DM(offsets[row]) + root_translation)
        else:
            # Rows are in skeleton order, so a parent's row is already done.
            parent_row = problem.row_of[parent]
            R_world.append(R_world[parent_row] @ R_local)
            p_world.append(p_world[parent_row] + R_world[parent_row] @ casadi.DM(offsets[row]))
    return R_world, p_world


def fixed_rows(problem: ResidualProblem) -> np.ndarray:
    """(F,) subtree rows whose rotation is not a variable."""
    return np.setdiff1d(np.arange(len(problem.joints)), problem.moving_rows)
