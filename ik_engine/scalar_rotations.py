"""One rotation at a time, in plain floats.

``ik_engine.rotations`` and ``ik_engine.joint_coordinates`` work on arrays through a
namespace (numpy, JAX, TensorFlow); for a single 3x3, as in a CCD step or when a solve turns
one joint's Euler angles into the pose's axis-angle, their numpy overhead costs tens of
microseconds. These do the same for one rotation, several times faster, with the same
conventions (axis-angle angle in [0, pi]; Euler coordinates stored by axis (c_x, c_y, c_z),
turning about ``axes`` (i, j, k) in order, middle angle in [-pi/2, pi/2]).
"""

from __future__ import annotations

import math

import numpy as np


def axis_angle_to_matrix(r: tuple[float, float, float]) -> np.ndarray:
    """Rodrigues' formula for one axis-angle vector -> (3, 3), in scalar arithmetic."""
    return np.array(axis_angle_to_rows(r))


def axis_angle_to_rows(r: tuple[float, float, float]) -> list[list[float]]:
    """Rodrigues' formula for one axis-angle vector -> the rotation as nested lists (3x3)."""
    x, y, z = r
    theta_sq = x * x + y * y + z * z
    if theta_sq < 1e-8:
        a, b = 1.0 - theta_sq / 6.0, 0.5 - theta_sq / 24.0
    else:
        theta = math.sqrt(theta_sq)
        a = math.sin(theta) / theta
        half = math.sin(0.5 * theta)
        b = 2.0 * half * half / theta_sq
    return [
        [1.0 - b * (y * y + z * z), b * x * y - a * z, b * x * z + a * y],
        [b * x * y + a * z, 1.0 - b * (x * x + z * z), b * y * z - a * x],
        [b * x * z - a * y, b * y * z + a * x, 1.0 - b * (x * x + y * y)],
    ]


def matrix_to_axis_angle(R: list[list[float]]) -> tuple[float, float, float]:
    """Logarithm of one rotation (nested lists, 3x3) -> axis-angle, angle in [0, pi], in
    scalar arithmetic, through the quaternion with Shepperd's best-conditioned formula (as
    ik_engine.rotations.matrix_to_axis_angle does batched)."""
    (m00, m01, m02), (m10, m11, m12), (m20, m21, m22) = R
    trace = m00 + m11 + m22
    candidates = (1.0 + trace, 1.0 + 2.0 * m00 - trace, 1.0 + 2.0 * m11 - trace, 1.0 + 2.0 * m22 - trace)
    best = max(range(4), key=candidates.__getitem__)
    if best == 0:
        w, x, y, z = candidates[0], m21 - m12, m02 - m20, m10 - m01
    elif best == 1:
        w, x, y, z = m21 - m12, candidates[1], m01 + m10, m02 + m20
    elif best == 2:
        w, x, y, z = m02 - m20, m01 + m10, candidates[2], m12 + m21
    else:
        w, x, y, z = m10 - m01, m02 + m20, m12 + m21, candidates[3]
    if w < 0:
        w, x, y, z = -w, -x, -y, -z
    v = math.sqrt(x * x + y * y + z * z)  # the quaternion is (w, x, y, z) times a positive factor
    if v == 0.0:
        return (0.0, 0.0, 0.0)
    scale = 2.0 * math.atan2(v, w) / v
    return (x * scale, y * scale, z * scale)


def euler_to_matrix(c: tuple[float, float, float], axes: tuple[int, int, int]) -> np.ndarray:
    """Rotation (3, 3) of one set of Euler coordinates ``c`` stored by axis (c_x, c_y, c_z),
    turning about ``axes`` (i, j, k) in order: ``R_i(c_i) @ R_j(c_j) @ R_k(c_k)``, in scalar
    arithmetic (about 5 us, measured; the batched numpy paths of ik_engine.joint_coordinates
    take about twice that for one 3x3, and matrix_to_euler about 13 us against 0.5 here).
    """
    R = None
    for axis in axes:
        cos, sin = math.cos(c[axis]), math.sin(c[axis])
        turn = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        # About this axis, the plane of the next two axes (b, d), in cyclic order, turns.
        b, d = (axis + 1) % 3, (axis + 2) % 3
        turn[b][b] = turn[d][d] = cos
        turn[b][d], turn[d][b] = -sin, sin
        R = np.array(turn) if R is None else R @ turn
    return R


def matrix_to_euler(R: list[list[float]], axes: tuple[int, int, int]) -> tuple[float, float, float]:
    """Euler coordinates, stored by axis, of one rotation (nested lists, 3x3) turning about
    ``axes`` (i, j, k) in order, the middle angle in [-pi/2, pi/2], in scalar arithmetic (the
    convention of ik_engine.joint_coordinates.matrix_to_euler, first angle 0 where only
    first +- last is defined)."""
    i, j, k = axes
    sign = 1.0 if (j - i) % 3 == 1 else -1.0  # +1 for the cyclic orders (xyz, yzx, zxy)
    # Row i of R_i R_j R_k is row i of R_j R_k: (cos_j cos_k, -+cos_j sin_k, +-sin_j) on (i, j, k).
    middle = math.asin(min(max(sign * R[i][k], -1.0), 1.0))
    if math.hypot(R[i][i], R[i][j]) > 1e-9:
        first = math.atan2(-sign * R[j][k], R[k][k])
        last = math.atan2(-sign * R[i][j], R[i][i])
    else:  # gimbal lock: R = R_j R_k with first = 0, and row j of R is row j of R_k
        first, last = 0.0, math.atan2(sign * R[j][i], R[j][j])
    c = [0.0, 0.0, 0.0]
    c[i], c[j], c[k] = first, middle, last
    return (c[0], c[1], c[2])


def euler_to_axis_angle(c: tuple[float, float, float], axes: tuple[int, int, int]) -> tuple[float, float, float]:
    """Axis-angle (angle in [0, pi]) of one set of Euler coordinates, stored by axis, turning
    about ``axes`` (i, j, k) in order: the product of the three half-angle quaternions."""
    w, v = 1.0, [0.0, 0.0, 0.0]
    for axis in axes:
        half = 0.5 * c[axis]
        # (w, v) times (cos h, sin h e_axis): w' = w cos h - v_axis sin h,
        # v' = w sin h e_axis + cos h v + sin h (v x e_axis).
        cos, sin = math.cos(half), math.sin(half)
        b, d = (axis + 1) % 3, (axis + 2) % 3
        turned = [0.0, 0.0, 0.0]
        turned[axis] = w * sin + cos * v[axis]
        turned[b] = cos * v[b] + sin * v[d]  # (v x e_axis)_b = v_d
        turned[d] = cos * v[d] - sin * v[b]  # (v x e_axis)_d = -v_b
        w, v = w * cos - v[axis] * sin, turned
    if w < 0:
        w, v = -w, [-v[0], -v[1], -v[2]]
    norm = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    if norm == 0.0:
        return (0.0, 0.0, 0.0)
    scale = 2.0 * math.atan2(norm, w) / norm
    return (v[0] * scale, v[1] * scale, v[2] * scale)


def axis_angle_to_euler(r: tuple[float, float, float], axes: tuple[int, int, int]) -> tuple[float, float, float]:
    """Euler coordinates, stored by axis, turning about ``axes`` (i, j, k) in order, of one
    axis-angle vector."""
    return matrix_to_euler(axis_angle_to_rows(r), axes)
