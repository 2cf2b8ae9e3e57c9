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

Everything here is batched over leading axes; functions taking ``xp`` run in numpy, JAX or
TensorFlow alike. Radians throughout.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import scalar_rotations as scalar
from .rotations import axis_angle_to_matrix, left_jacobian, matrix_to_axis_angle

AXIS_ANGLE = "axis_angle"
EULER_ORDERS = ("xyz", "xzy", "yxz", "yzx", "zxy", "zyx")
COORDINATE_KINDS = (AXIS_ANGLE,) + EULER_ORDERS
_AXIS = {"x": 0, "y": 1, "z": 2}


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
    if xp is np:
        return _euler_to_matrix_numpy(np.asarray(c, dtype=np.float64), order)
    i, j, k = (_AXIS[a] for a in order)
    return _elementary(i, c[..., i], xp) @ _elementary(j, c[..., j], xp) @ _elementary(k, c[..., k], xp)


def _euler_to_matrix_numpy(c: np.ndarray, order: str) -> np.ndarray:
    """``euler_to_matrix`` in numpy by filling the elementary rotations in place (about 5x
    faster for a few rows than stacking them, which the JAX and TensorFlow paths need)."""
    cos, sin = np.cos(c), np.sin(c)
    R = None
    for axis in (_AXIS[a] for a in order):
        # About this axis, the plane of the next two axes (b, d), in cyclic order, turns.
        b, d = (axis + 1) % 3, (axis + 2) % 3
        turn = np.zeros(c.shape[:-1] + (3, 3))
        turn[..., axis, axis] = 1.0
        turn[..., b, b] = turn[..., d, d] = cos[..., axis]
        turn[..., b, d] = -sin[..., axis]
        turn[..., d, b] = sin[..., axis]
        R = turn if R is None else R @ turn
    return R


def euler_body_jacobian(c: Any, order: str, xp: Any) -> Any:
    """(..., 3, 3) E with ``omega = E @ dc``: the angular velocity, in the joint's own (turned)
    frame, per unit change of each coordinate (columns in x, y, z order).

    For ``R = R_i R_j R_k``: ``R^T dR = [omega]x`` with
    ``omega = R_k^T R_j^T e_i dc_i + R_k^T e_j dc_j + e_k dc_k``.
    """
    i, j, k = (_AXIS[a] for a in order)
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


def coordinates_to_matrix(c: Any, kind: str, xp: Any) -> Any:
    """Rotation matrices (..., 3, 3) of coordinates (..., 3) of one kind."""
    return axis_angle_to_matrix(c, xp) if kind == AXIS_ANGLE else euler_to_matrix(c, kind, xp)


def body_jacobian(c: Any, kind: str, xp: Any) -> Any:
    """(..., 3, 3) angular velocity in the joint's own frame per unit change of each coordinate.

    For axis-angle this is the right Jacobian ``J_r(r) = J_l(r)^T``.
    """
    if kind == AXIS_ANGLE:
        return xp.swapaxes(left_jacobian(c, xp), -1, -2)
    return euler_body_jacobian(c, kind, xp)


def axis_angle_to_coordinates(r: np.ndarray, kind: str) -> np.ndarray:
    """Coordinates (..., 3) of axis-angle vectors r (..., 3) (numpy; axis-angle passes through)."""
    r = np.asarray(r, dtype=np.float64)
    if kind == AXIS_ANGLE:
        return r
    if r.shape == (3,):  # one rotation (every single solve): plain floats, ~20x faster
        axes = tuple(_AXIS[a] for a in kind)
        return np.array(scalar.axis_angle_to_euler(tuple(r.tolist()), axes))
    return matrix_to_euler(axis_angle_to_matrix(r, np), kind)


def coordinates_to_axis_angle(c: np.ndarray, kind: str) -> np.ndarray:
    """Axis-angle vectors (..., 3) of coordinates c (..., 3) (numpy; axis-angle passes through)."""
    c = np.asarray(c, dtype=np.float64)
    if kind == AXIS_ANGLE:
        return c
    if c.shape == (3,):
        axes = tuple(_AXIS[a] for a in kind)
        return np.array(scalar.euler_to_axis_angle(tuple(c.tolist()), axes))
    return matrix_to_axis_angle(euler_to_matrix(c, kind, np), np)
