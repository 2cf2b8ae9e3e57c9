"""Axis-angle rotations <-> swing-twist coordinates in numpy, through unit quaternions.

Every solve converts its start pose into coordinates and its result back (``ResidualProblem.
initial_variables``, ``solution.pose_arrays``): for the SMPL-X shoulders and hips a few rows.
Going through rotation matrices (``matrix_to_swing_twist``: two matrix-to-quaternion
conversions, a matrix product, then the way back) took about 0.6 ms of a 1.3 ms arm solve
(cProfile, 100 solves, 2026-12-03); these quaternion formulas give the same coordinates
(tests/test_swing_reach.py compares them with the matrix route and scipy) with a few dozen
numpy operations on the rows themselves, and for a single row (every single solve) with
Python floats: 70-80 us a conversion with numpy arrays, about 5 us with floats (timeit, the
same machine), as ``scalar_rotations`` does for Euler angles.

Definitions as in ``joint_coordinates``: the rotation's quaternion ``q`` (``w >= 0``) relative
to the neutral rotation N (``q = q_R * conj(q_N)``), the twist ``tau = 2 atan2(q_t, q_w)``, the
swing ``s = q * conj(q_tau)`` (its ``t`` part is 0 and its ``w`` part ``|(q_w, q_t)| >= 0``),
``c_b = 2 asin(s_b)``, ``c_d = 2 asin(s_d)``. Radians; batched over leading axes.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .rotations import axis_angle_to_quaternion, matrix_to_quaternion, quaternion_conjugate, quaternion_product, quaternion_to_axis_angle


@functools.lru_cache(maxsize=256)
def _quaternion_of_matrix_bytes(matrix_bytes: bytes) -> np.ndarray:
    """The unit quaternion (4,) of a neutral rotation given by its (3, 3) float64 bytes."""
    return matrix_to_quaternion(np.frombuffer(matrix_bytes, dtype=np.float64).reshape(3, 3), np)


def _scalar_product(p: tuple, q: tuple) -> tuple:
    """The Hamilton product of two quaternions (w, x, y, z) of floats."""
    pw, px, py, pz = p
    qw, qx, qy, qz = q
    return (pw * qw - px * qx - py * qy - pz * qz, pw * qx + px * qw + py * qz - pz * qy,
            pw * qy - px * qz + py * qw + pz * qx, pw * qz + px * qy - py * qx + pz * qw)


def scalar_axis_angle_to_swing_twist(r, t: int, q_neutral: tuple | None) -> list:
    """``axis_angle_to_swing_twist`` of one vector r (3 floats), in floats; ``q_neutral``: the
    neutral rotation's quaternion (``neutral_quaternion``) or None."""
    theta = math.sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2])
    scale = math.sin(0.5 * theta) / theta if theta > 1e-6 else 0.5 - theta * theta / 48.0
    q = (math.cos(0.5 * theta), r[0] * scale, r[1] * scale, r[2] * scale)
    if q_neutral is not None:
        q = _scalar_product(q, (q_neutral[0], -q_neutral[1], -q_neutral[2], -q_neutral[3]))
    if q[0] < 0.0:
        q = tuple(-v for v in q)
    b, d = (t + 1) % 3, (t + 2) % 3
    tau = 2.0 * math.atan2(q[1 + t], q[0])
    cos_half, sin_half = math.cos(0.5 * tau), math.sin(0.5 * tau)
    c = [0.0, 0.0, 0.0]
    c[t] = tau
    c[b] = 2.0 * math.asin(min(max(cos_half * q[1 + b] - sin_half * q[1 + d], -1.0), 1.0))
    c[d] = 2.0 * math.asin(min(max(cos_half * q[1 + d] + sin_half * q[1 + b], -1.0), 1.0))
    return c


def scalar_swing_twist_to_axis_angle(c, t: int, q_neutral: tuple | None) -> list:
    """``swing_twist_to_axis_angle`` of one vector c (3 floats), in floats; ``q_neutral`` as for
    ``scalar_axis_angle_to_swing_twist``."""
    b, d = (t + 1) % 3, (t + 2) % 3
    s_b, s_d = math.sin(0.5 * c[b]), math.sin(0.5 * c[d])
    w = math.sqrt(max(1.0 - s_b * s_b - s_d * s_d, 0.0))
    cos_half, sin_half = math.cos(0.5 * c[t]), math.sin(0.5 * c[t])
    q = [w * cos_half, 0.0, 0.0, 0.0]
    q[1 + t] = w * sin_half
    q[1 + b] = s_b * cos_half + s_d * sin_half
    q[1 + d] = s_d * cos_half - s_b * sin_half
    if q_neutral is not None:
        q = list(_scalar_product(tuple(q), q_neutral))
    if q[0] < 0.0:
        q = [-v for v in q]
    norm = math.sqrt(q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
    scale = 2.0 * math.atan2(norm, q[0]) / norm if norm > 1e-8 else 2.0 / q[0]
    return [q[1] * scale, q[2] * scale, q[3] * scale]


def _neutral_array(neutral: np.ndarray) -> np.ndarray:
    """The unit quaternion (4,) of a neutral rotation (3, 3), remembered by its bytes."""
    return _quaternion_of_matrix_bytes(np.ascontiguousarray(neutral, dtype=np.float64).tobytes())


def neutral_quaternion(neutral: np.ndarray | None) -> tuple | None:
    """The unit quaternion (w, x, y, z), as floats, of a neutral rotation (3, 3); None for None."""
    return None if neutral is None else tuple(_neutral_array(neutral).tolist())


def axis_angle_to_swing_twist(r: np.ndarray, t: int, neutral: np.ndarray | None = None) -> np.ndarray:
    """Swing-twist coordinates (..., 3) about axis t of axis-angle vectors r (..., 3), relative
    to ``neutral`` (3, 3) (the rotation ``exp(r) @ neutral^T``)."""
    r = np.asarray(r, dtype=np.float64)
    if r.shape == (3,):
        return np.array(scalar_axis_angle_to_swing_twist(r.tolist(), t, neutral_quaternion(neutral)))
    q = axis_angle_to_quaternion(r)
    if neutral is not None:
        q = quaternion_product(q, quaternion_conjugate(_neutral_array(neutral)))
    q = np.where(q[..., :1] < 0.0, -q, q)
    b, d = (t + 1) % 3, (t + 2) % 3
    tau = 2.0 * np.arctan2(q[..., 1 + t], q[..., 0])
    cos_half, sin_half = np.cos(0.5 * tau), np.sin(0.5 * tau)
    # s = q conj(q_tau): with e_b x e_t = -e_d and e_d x e_t = e_b.
    s_b = cos_half * q[..., 1 + b] - sin_half * q[..., 1 + d]
    s_d = cos_half * q[..., 1 + d] + sin_half * q[..., 1 + b]
    c = np.empty(q.shape[:-1] + (3,))
    c[..., t] = tau
    c[..., b] = 2.0 * np.arcsin(np.clip(s_b, -1.0, 1.0))
    c[..., d] = 2.0 * np.arcsin(np.clip(s_d, -1.0, 1.0))
    return c


def swing_twist_to_axis_angle(c: np.ndarray, t: int, neutral: np.ndarray | None = None) -> np.ndarray:
    """Axis-angle vectors (..., 3) of swing-twist coordinates c (..., 3) about axis t: of the
    rotation ``S R_t(tau) @ neutral``."""
    c = np.asarray(c, dtype=np.float64)
    if c.shape == (3,):
        return np.array(scalar_swing_twist_to_axis_angle(c.tolist(), t, neutral_quaternion(neutral)))
    b, d = (t + 1) % 3, (t + 2) % 3
    s_b, s_d = np.sin(0.5 * c[..., b]), np.sin(0.5 * c[..., d])
    q = np.zeros(c.shape[:-1] + (4,))
    # swing (w, s) with s_t = 0, times the twist (cos, sin e_t): e_b x e_t = -e_d, e_d x e_t = e_b.
    w = np.sqrt(np.maximum(1.0 - s_b * s_b - s_d * s_d, 0.0))
    cos_half, sin_half = np.cos(0.5 * c[..., t]), np.sin(0.5 * c[..., t])
    q[..., 0] = w * cos_half
    q[..., 1 + t] = w * sin_half
    q[..., 1 + b] = s_b * cos_half + s_d * sin_half
    q[..., 1 + d] = s_d * cos_half - s_b * sin_half
    if neutral is not None:
        q = quaternion_product(q, _neutral_array(neutral))
    return quaternion_to_axis_angle(np.where(q[..., :1] < 0.0, -q, q), np)  # the angle <= pi
