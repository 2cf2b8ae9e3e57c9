"""Joint coordinates: the three numbers that describe a joint's rotation, and that its limits box.

Most joints use the axis-angle vector itself (``"axis_angle"``, SMPL-X's convention). A box on
axis-angle components is exact for a rotation about one axis but couples axes when a joint
combines two motions: an elbow flexed 90 degrees and pronated 40 has the axis-angle vector
(31, -86, 31) degrees, whose z component no hinge-like box admits. Such joints use Euler
(Tait-Bryan) coordinates instead, one angle per anatomical motion, applied in a fixed order.

An Euler kind is a permutation of ``"xyz"`` naming the order of the rotations, in the joint's
rest frame, each about the axis as already turned by the ones before (intrinsic):
``"yzx"`` is ``R = R_y(c_y) @ R_z(c_z) @ R_x(c_x)``. Coordinates are always stored by axis,
``c = (c_x, c_y, c_z)``, so that a rotation about one axis has the same three numbers in
every kind (the angle on that axis, zeros elsewhere) and a limit file reads the same.
The middle axis should be one with a small range: the coordinates are singular where the
middle angle reaches +-90 degrees, so a Skeleton requires its limits there to stay within.

A swing-twist kind (``"swing_twist_x"``, ``"swing_twist_y"``, ``"swing_twist_z"``, named by
the twist axis, the bone's own axis) describes a ball joint as anatomy and Blender's IK solver
do: the rotation is ``R = S @ R_t(tau)``, a twist ``tau`` about the bone axis ``t`` followed
by a swing ``S`` about an axis in the plane of the other two axes ``b, d`` (cyclic order
after ``t``). The swing's unit quaternion is ``(w, s)`` with ``s_t = 0`` and ``w >= 0``; its
coordinates are ``c_b = 2 asin(s_b)`` and ``c_d = 2 asin(s_d)`` (a swing about axis ``b``
alone by angle ``a`` has ``c_b = a``), and ``c_t = tau = 2 atan2(q_t, q_w)`` of the whole
rotation's quaternion ``q``: exactly Blender's reading (``IK_Math.h``'s ``ComputeTwist`` and
``SphericalRangeParameters``, up to its sign convention on the swing). The box limits each
coordinate; when both swing coordinates are limited (a range below a full turn), the swing
is also limited to an ellipse in ``(s_b, s_d)`` whose semi-axes, per quadrant, are the
sines of the half limits (Blender's ``EllipseClamp``): a cone with a different reach in each
direction, not a box. ``project_swing`` brings coordinates into that region the way Blender
does, along the ray from the centre. Instead of the ellipse a joint may have a *reach table*:
R reach angles at directions evenly spaced around the twist axis (``reach_directions``), the
swing's largest angle in each direction, read between them linearly in the direction's angle
(``reach_sine``): a cone whose reach the data give per direction (the SMPL-X shoulders, which
reach across the chest at shoulder height but not far straight across the body). A swing-twist
joint may have a ``neutral`` rotation N, the
centre of its limits: its rotation is then ``R = S @ R_t(tau) @ N`` and its coordinates those
of ``R @ N^T`` (the SMPL-X shoulders centre their cone on the hanging arm). Swings beyond ``MAX_SWING`` (175 degrees, where the
coordinates' derivative grows as ``1 / w``) are projected back too.

Everything here is batched over leading axes; functions taking ``xp`` run in numpy, JAX or
TensorFlow alike. Radians throughout.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import scalar_rotations as scalar
from .numpy_namespace import is_numpy
from .rotations import axis_angle_to_matrix, left_jacobian, matrix_to_axis_angle, matrix_to_quaternion, quaternion_to_matrix
from .swing_twist_conversions import axis_angle_to_swing_twist, swing_twist_to_axis_angle

AXIS_ANGLE = "axis_angle"
EULER_ORDERS = ("xyz", "xzy", "yxz", "yzx", "zxy", "zyx")
SWING_TWIST_KINDS = ("swing_twist_x", "swing_twist_y", "swing_twist_z")
COORDINATE_KINDS = (AXIS_ANGLE,) + EULER_ORDERS + SWING_TWIST_KINDS
MAX_SWING = float(np.radians(175.0))
_AXIS = {"x": 0, "y": 1, "z": 2}


def euler_axes(order: str) -> tuple[int, int, int]:
    """The axes (i, j, k), 0-2, of an Euler order such as ``"yzx"``, in the order it turns."""
    i, j, k = (_AXIS[a] for a in order)
    return i, j, k


def check_kind(kind: Any, what: str) -> str:
    """``kind`` if it is one of COORDINATE_KINDS; else a ValueError naming ``what``."""
    if not isinstance(kind, str) or kind not in COORDINATE_KINDS:
        raise ValueError(f"{what}: unknown joint coordinates {kind!r}; expected one of {', '.join(COORDINATE_KINDS)}")
    return kind


def _elementary(axis: int, angle: Any, xp: Any) -> Any:
    """(..., 3, 3) rotation by ``angle`` (...) about coordinate axis ``axis`` (0, 1, 2)."""
    c, s = xp.cos(angle), xp.sin(angle)
    one, zero = xp.ones_like(angle), xp.zeros_like(angle)
    if axis == 0:
        rows = [[one, zero, zero], [zero, c, -s], [zero, s, c]]
    elif axis == 1:
        rows = [[c, zero, s], [zero, one, zero], [-s, zero, c]]
    else:
        rows = [[c, -s, zero], [s, c, zero], [zero, zero, one]]
    return xp.stack([xp.stack(row, axis=-1) for row in rows], axis=-2)


def euler_to_matrix(c: Any, order: str, xp: Any) -> Any:
    """Rotation matrices (..., 3, 3) of Euler coordinates ``c`` (..., 3) stored by axis."""
    if is_numpy(xp):
        return _euler_to_matrix_numpy(np.asarray(c, dtype=np.float64), order)
    i, j, k = (_AXIS[a] for a in order)
    return _elementary(i, c[..., i], xp) @ _elementary(j, c[..., j], xp) @ _elementary(k, c[..., k], xp)


def _elementary_numpy(axis: int, angle: np.ndarray) -> np.ndarray:
    """``_elementary`` in numpy by filling the matrices in place (about 5x faster for a few
    rows than stacking them, which the JAX and TensorFlow paths need)."""
    cos, sin = np.cos(angle), np.sin(angle)
    # About this axis, the plane of the next two axes (b, d), in cyclic order, turns.
    b, d = (axis + 1) % 3, (axis + 2) % 3
    turn = np.zeros(np.shape(angle) + (3, 3))
    turn[..., axis, axis] = 1.0
    turn[..., b, b] = turn[..., d, d] = cos
    turn[..., b, d] = -sin
    turn[..., d, b] = sin
    return turn


def _euler_to_matrix_numpy(c: np.ndarray, order: str) -> np.ndarray:
    """``euler_to_matrix`` in numpy (``_elementary_numpy``)."""
    i, j, k = (_AXIS[a] for a in order)
    return _elementary_numpy(i, c[..., i]) @ _elementary_numpy(j, c[..., j]) @ _elementary_numpy(k, c[..., k])


def euler_body_jacobian(c: Any, order: str, xp: Any) -> Any:
    """(..., 3, 3) E with ``omega = E @ dc``: the angular velocity, in the joint's own (turned)
    frame, per unit change of each coordinate (columns in x, y, z order).

    For ``R = R_i R_j R_k``: ``R^T dR = [omega]x`` with
    ``omega = R_k^T R_j^T e_i dc_i + R_k^T e_j dc_j + e_k dc_k``.
    """
    i, j, k = (_AXIS[a] for a in order)
    if is_numpy(xp):  # in place: 85 -> 15 us a call in the interpreter (one Euler elbow)
        c = np.asarray(c, dtype=np.float64)
        R_k_T = np.swapaxes(_elementary_numpy(k, c[..., k]), -1, -2)
        E = np.empty(c.shape + (3,))
        E[..., :, k] = np.eye(3)[k]
        E[..., :, j] = R_k_T[..., :, j]
        E[..., :, i] = (R_k_T @ np.swapaxes(_elementary_numpy(j, c[..., j]), -1, -2))[..., :, i]
        return E
    R_j_T = xp.swapaxes(_elementary(j, c[..., j], xp), -1, -2)
    R_k_T = xp.swapaxes(_elementary(k, c[..., k], xp), -1, -2)
    columns = [None, None, None]
    columns[k] = xp.broadcast_to(xp.asarray(np.eye(3)[k], dtype=c.dtype), c.shape)
    columns[j] = R_k_T[..., :, j]
    columns[i] = (R_k_T @ R_j_T)[..., :, i]
    return xp.stack(columns, axis=-1)


def matrix_to_euler(R: np.ndarray, order: str) -> np.ndarray:
    """Euler coordinates (..., 3), stored by axis, of rotation matrices R (..., 3, 3) (numpy).

    The middle angle lies in [-pi/2, pi/2], the others in (-pi, pi]. At the singularity
    (middle angle +-pi/2) the first angle is set to zero.
    """
    R = np.asarray(R, dtype=np.float64)
    i, j, k = (_AXIS[a] for a in order)
    sign = 1.0 if (j - i) % 3 == 1 else -1.0  # +1 for cyclic orders (xyz, yzx, zxy)
    middle = np.arcsin(np.clip(sign * R[..., i, k], -1.0, 1.0))
    cos_middle = np.hypot(R[..., i, i], R[..., i, j])
    regular = cos_middle > 1e-9
    first = np.where(regular, np.arctan2(-sign * R[..., j, k], R[..., k, k]), 0.0)
    last = np.where(
        regular,
        np.arctan2(-sign * R[..., i, j], R[..., i, i]),
        # Singular: only first +- last is defined; take first = 0, then R = R_j R_k and
        # row j of R is row j of R_k.
        np.arctan2(sign * R[..., j, i], R[..., j, j]),
    )
    c = np.empty(R.shape[:-2] + (3,))
    c[..., i], c[..., j], c[..., k] = first, middle, last
    return c


def twist_axis(kind: str) -> int:
    """The twist (bone) axis 0, 1, 2 of a swing-twist kind."""
    return _AXIS[kind[-1]]


def swing_axes(t: int) -> tuple[int, int]:
    """The two swing axes ``(b, d)`` of twist axis ``t``, in cyclic order after it."""
    return (t + 1) % 3, (t + 2) % 3


def _swing_quaternion(c: Any, t: int, xp: Any) -> tuple[Any, Any, Any]:
    """(w, s_b, s_d) (...) of the swing of swing-twist coordinates c (..., 3)."""
    b, d = swing_axes(t)
    s_b, s_d = xp.sin(0.5 * c[..., b]), xp.sin(0.5 * c[..., d])
    w = xp.sqrt(xp.maximum(1.0 - s_b * s_b - s_d * s_d, 0.0))
    return w, s_b, s_d


def _by_axis(t: int, value_t: Any, value_b: Any, value_d: Any, xp: Any) -> Any:
    """(..., 3) with the twist axis' value at ``t`` and the swing axes' at ``b, d``."""
    b, d = swing_axes(t)
    columns = [None, None, None]
    columns[t], columns[b], columns[d] = value_t, value_b, value_d
    return xp.stack(columns, axis=-1)


def swing_twist_to_matrix(c: Any, t: int, xp: Any) -> Any:
    """Rotation matrices (..., 3, 3) ``S @ R_t(tau)`` of swing-twist coordinates c (..., 3)."""
    w, s_b, s_d = _swing_quaternion(c, t, xp)
    # The quaternion of S R_t(tau), the swing (w, s) times the twist (cos, sin e_t), with
    # e_b x e_t = -e_d and e_d x e_t = e_b: one quaternion, no matrix product.
    cos_half, sin_half = xp.cos(0.5 * c[..., t]), xp.sin(0.5 * c[..., t])
    v = _by_axis(t, w * sin_half, s_b * cos_half + s_d * sin_half, s_d * cos_half - s_b * sin_half, xp)
    return quaternion_to_matrix(xp.concatenate([(w * cos_half)[..., None], v], axis=-1), xp)


def swing_twist_body_jacobian(c: Any, t: int, xp: Any) -> Any:
    """(..., 3, 3) E with ``omega = E @ dc`` for swing-twist coordinates (columns by axis).

    For ``R = S R_t``: ``omega = R_t^T omega_S + e_t dtau``; for the swing quaternion
    ``(w, v)``, ``omega_S = 2 (w dv - dw v - v x dv)`` with ``dv = cos(c/2) / 2 e`` and
    ``dw = -(v . dv) / w``; checked against finite differences in the tests.
    """
    w, s_b, s_d = _swing_quaternion(c, t, xp)
    zero = xp.zeros_like(w)
    w_safe = xp.maximum(w, 1e-9)
    b, d = swing_axes(t)
    h_b, h_d = 0.5 * xp.cos(0.5 * c[..., b]), 0.5 * xp.cos(0.5 * c[..., d])
    # With e_b x e_d = e_t: v x e_b = -s_d e_t and v x e_d = s_b e_t.
    # omega_S per unit c_b and c_d, by component (t, b, d).
    cross = s_b * s_d / w_safe
    wb_t, wb_b, wb_d = 2.0 * h_b * s_d, 2.0 * h_b * (w + s_b * s_b / w_safe), 2.0 * h_b * cross
    wd_t, wd_b, wd_d = -2.0 * h_d * s_b, 2.0 * h_d * cross, 2.0 * h_d * (w + s_d * s_d / w_safe)
    # R_t^T turns (v_t, v_b, v_d) into (v_t, cos v_b + sin v_d, -sin v_b + cos v_d), written
    # out rather than as a matrix product.
    cos, sin = xp.cos(c[..., t]), xp.sin(c[..., t])
    entries = {(t, t): xp.ones_like(w), (b, t): zero, (d, t): zero,
               (t, b): wb_t, (b, b): cos * wb_b + sin * wb_d, (d, b): cos * wb_d - sin * wb_b,
               (t, d): wd_t, (b, d): cos * wd_b + sin * wd_d, (d, d): cos * wd_d - sin * wd_b}
    return xp.stack([xp.stack([entries[(row, column)] for column in range(3)], axis=-1) for row in range(3)], axis=-2)


def matrix_to_swing_twist(R: np.ndarray, t: int) -> np.ndarray:
    """Swing-twist coordinates (..., 3) of rotation matrices R (..., 3, 3) (numpy).

    The twist lies in (-pi, pi], each swing coordinate in [-pi, pi]; a swing of exactly
    180 degrees leaves the twist undefined, and it is taken as 0 there.
    """
    R = np.asarray(R, dtype=np.float64)
    q = matrix_to_quaternion(R, np)  # w >= 0
    tau = 2.0 * np.arctan2(q[..., 1 + t], q[..., 0])
    S = R @ np.swapaxes(_elementary(t, tau, np), -1, -2)
    s = matrix_to_quaternion(S, np)
    b, d = swing_axes(t)
    c = np.empty(R.shape[:-2] + (3,))
    c[..., t] = tau
    c[..., b] = 2.0 * np.arcsin(np.clip(s[..., 1 + b], -1.0, 1.0))
    c[..., d] = 2.0 * np.arcsin(np.clip(s[..., 1 + d], -1.0, 1.0))
    return c


def reach_directions(count: int) -> np.ndarray:
    """(count,) the angles, radians, of a reach table's directions: evenly spaced from the
    swing axis ``b`` (angle 0) toward ``d`` (pi / 2), in the plane of ``(s_b, s_d)``."""
    return 2.0 * np.pi * np.arange(count) / count


def reach_sine(s_b: Any, s_d: Any, reach: Any, xp: Any) -> Any:
    """(...) ``sin(r / 2)`` of the reach r of a table ``reach`` (..., R) radians in the direction
    of the swing ``(s_b, s_d)`` (...): linear in the direction's angle between the table's two
    nearest directions (hat weights, so that numpy, JAX and TensorFlow run the same code)."""
    count = reach.shape[-1]
    # At the centre the direction is undefined: read direction 0 there (any reach holds a
    # zero swing), so that no NaN reaches a derivative through atan2(0, 0).
    away = s_b * s_b + s_d * s_d > 1e-24
    angle = xp.arctan2(xp.where(away, s_d, 0.0), xp.where(away, s_b, 1.0))[..., None] - reach_directions(count)  # (..., R)
    # Wrapped into [-pi, pi] by whole turns (arithmetic: atan2(sin, cos) of every entry made
    # the projection the costliest part of a swing-twist joint in a compiled program).
    angle = angle - (2.0 * np.pi) * xp.round(angle * (0.5 / np.pi))
    weights = xp.maximum(1.0 - xp.abs(angle) * (count / (2.0 * np.pi)), 0.0)
    return xp.sin(0.5 * xp.sum(weights * reach, axis=-1))


def swing_scale(c: Any, t: int, lower: Any, upper: Any, elliptic: Any, xp: Any, reach: Any = None) -> Any:
    """(...) factor k in (0, 1] that brings the swing of coordinates c (..., 3) inside its
    limits along the ray from c = 0 (the rest pose, or the neutral rotation): ``s -> k s``. 1 when already inside.

    lower, upper: (..., 3) the box; elliptic: (...) bool, whether the ellipse limits the
    swing (both swing coordinates limited); reach: optional (..., R) reach tables, radians
    (``reach_sine``; a table of ``MAX_SWING`` everywhere limits nothing); every swing is kept
    within ``MAX_SWING``.
    """
    b, d = swing_axes(t)
    _, s_b, s_d = _swing_quaternion(c, t, xp)
    tiny = 1e-12
    if isinstance(elliptic, (bool, np.bool_, np.ndarray)) and not np.any(elliptic):
        k_ellipse = 1.0  # known while tracing: no ellipse to evaluate (reach tables, swing-only joints)
    else:
        # Semi-axes per quadrant: the sines of the half limits on the side the swing lies.
        a_b = xp.where(s_b >= 0, xp.sin(0.5 * xp.minimum(upper[..., b], np.pi)), -xp.sin(0.5 * xp.maximum(lower[..., b], -np.pi)))
        a_d = xp.where(s_d >= 0, xp.sin(0.5 * xp.minimum(upper[..., d], np.pi)), -xp.sin(0.5 * xp.maximum(lower[..., d], -np.pi)))
        # A zero semi-axis means the box already holds that coordinate at 0 (its term is 0).
        level = s_b * s_b / xp.maximum(a_b * a_b, tiny) + s_d * s_d / xp.maximum(a_d * a_d, tiny)
        k_ellipse = xp.where(elliptic & (level > 1.0), 1.0 / xp.sqrt(xp.maximum(level, tiny)), 1.0)
    radius_sq = s_b * s_b + s_d * s_d
    rho = float(np.sin(0.5 * MAX_SWING))
    if reach is not None and reach.shape[-1]:
        rho = xp.minimum(reach_sine(s_b, s_d, reach, xp), rho)
    k_disc = xp.where(radius_sq > rho * rho, rho / xp.sqrt(xp.maximum(radius_sq, tiny)), 1.0)
    return k_disc if isinstance(k_ellipse, float) else xp.minimum(k_ellipse, k_disc)


def project_swing(c: Any, t: int, lower: Any, upper: Any, elliptic: Any, xp: Any, reach: Any = None) -> Any:
    """Swing-twist coordinates (..., 3), already inside their box, with the swing brought
    inside the ellipse or reach table and ``MAX_SWING`` along the ray from c = 0 (the rest
    pose, or the neutral rotation) (``swing_scale``).
    Radial scaling keeps the box, which contains c = 0 (the Skeleton requires it)."""
    b, d = swing_axes(t)
    k = swing_scale(c, t, lower, upper, elliptic, xp, reach)
    _, s_b, s_d = _swing_quaternion(c, t, xp)
    inside = k >= 1.0  # left exactly as they are (no rounding through asin(sin(.)))
    c_b = xp.where(inside, c[..., b], 2.0 * xp.arcsin(k * s_b))
    c_d = xp.where(inside, c[..., d], 2.0 * xp.arcsin(k * s_d))
    return _by_axis(t, c[..., t], c_b, c_d, xp)


def matrix_to_coordinates(R: np.ndarray, kind: str) -> np.ndarray:
    """Coordinates (..., 3) of one kind of rotation matrices R (..., 3, 3) (numpy)."""
    if kind == AXIS_ANGLE:
        return matrix_to_axis_angle(np.asarray(R, dtype=np.float64), np)
    if kind in SWING_TWIST_KINDS:
        return matrix_to_swing_twist(R, twist_axis(kind))
    return matrix_to_euler(R, kind)


def clamped_coordinates(c: np.ndarray, kind: str, lower: np.ndarray, upper: np.ndarray, elliptic: bool,
                        reach: np.ndarray | None = None) -> np.ndarray:
    """Coordinates (..., 3) of one kind clipped into the box [lower, upper] (3,) and, for a
    swing-twist kind, with the swing brought into its ellipse or reach table (R,)
    (``project_swing``) (numpy)."""
    c = np.clip(c, lower, upper)
    if kind in SWING_TWIST_KINDS:
        lo, hi = np.maximum(lower, -np.pi), np.minimum(upper, np.pi)
        c = project_swing(c, twist_axis(kind), lo, hi, np.asarray(elliptic), np, None if reach is None else np.asarray(reach))
    return c


def coordinates_to_matrix(c: Any, kind: str, xp: Any) -> Any:
    """Rotation matrices (..., 3, 3) of coordinates (..., 3) of one kind."""
    if kind == AXIS_ANGLE:
        return axis_angle_to_matrix(c, xp)
    if kind in SWING_TWIST_KINDS:
        return swing_twist_to_matrix(c, twist_axis(kind), xp)
    return euler_to_matrix(c, kind, xp)


def body_jacobian(c: Any, kind: str, xp: Any) -> Any:
    """(..., 3, 3) angular velocity in the joint's own frame per unit change of each coordinate.

    For axis-angle this is the right Jacobian ``J_r(r) = J_l(r)^T``.
    """
    if kind == AXIS_ANGLE:
        return xp.swapaxes(left_jacobian(c, xp), -1, -2)
    if kind in SWING_TWIST_KINDS:
        return swing_twist_body_jacobian(c, twist_axis(kind), xp)
    return euler_body_jacobian(c, kind, xp)


def axis_angle_to_coordinates(r: np.ndarray, kind: str, neutral: np.ndarray | None = None) -> np.ndarray:
    """Coordinates (..., 3) of axis-angle vectors r (..., 3) (numpy; axis-angle passes through).

    neutral: optional (3, 3) rotation at which a swing-twist joint's coordinates are zero (the
    centre of its swing limits): the coordinates are those of ``exp(r) @ neutral^T``.
    """
    r = np.asarray(r, dtype=np.float64)
    if kind in SWING_TWIST_KINDS:  # through quaternions: the same numbers, about 10x faster for a few rows
        return axis_angle_to_swing_twist(r, twist_axis(kind), neutral)
    if neutral is not None:
        return matrix_to_coordinates(axis_angle_to_matrix(r, np) @ np.swapaxes(neutral, -1, -2), kind)
    if kind == AXIS_ANGLE:
        return r
    if r.shape == (3,):  # one rotation (every single solve): plain floats, ~20x faster
        axes = tuple(_AXIS[a] for a in kind)
        return np.array(scalar.axis_angle_to_euler(tuple(r.tolist()), axes))
    return matrix_to_euler(axis_angle_to_matrix(r, np), kind)


def coordinates_to_axis_angle(c: np.ndarray, kind: str, neutral: np.ndarray | None = None) -> np.ndarray:
    """Axis-angle vectors (..., 3) of coordinates c (..., 3) (numpy; axis-angle passes through);
    with ``neutral`` (3, 3), of ``coordinates_to_matrix(c) @ neutral``."""
    c = np.asarray(c, dtype=np.float64)
    if kind in SWING_TWIST_KINDS:
        return swing_twist_to_axis_angle(c, twist_axis(kind), neutral)
    if neutral is not None:
        return matrix_to_axis_angle(coordinates_to_matrix(c, kind, np) @ neutral, np)
    if kind == AXIS_ANGLE:
        return c
    if c.shape == (3,):
        axes = tuple(_AXIS[a] for a in kind)
        return np.array(scalar.euler_to_axis_angle(tuple(c.tolist()), axes))
    return matrix_to_axis_angle(euler_to_matrix(c, kind, np), np)
