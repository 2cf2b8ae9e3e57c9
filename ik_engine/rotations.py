"""Rotation maps written against an array namespace ``xp`` (numpy or jax.numpy).

All functions are batched over leading axes and safe (finite values and finite
gradients) at the zero rotation. Angles in radians; axis-angle vectors ``r`` have the
rotation angle as their norm.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .numpy_namespace import is_numpy

# Below this squared angle the closed forms lose precision; Taylor series take over.
_SMALL_ANGLE_SQ = 1e-8
# Below this squared angle, expressions that cancel (t - sin t, 1/t^2 - cot(t/2)/(2t)) use
# their Taylor series; the truncation error there is below 1e-9.
_SERIES_ANGLE_SQ = 1e-2


def skew(v: Any, xp: Any) -> Any:
    """Cross-product matrix ``[v]x`` of ``v``: (..., 3) -> (..., 3, 3)."""
    if is_numpy(xp):
        # The interpreter (numpy backend): element assignment instead of four stacks, each
        # with numpy's per-call overhead (5 us against 25 us a call; 1,800 calls a full-body solve).
        out = np.zeros(v.shape + (3,), dtype=v.dtype)
        out[..., 0, 1], out[..., 0, 2] = -v[..., 2], v[..., 1]
        out[..., 1, 0], out[..., 1, 2] = v[..., 2], -v[..., 0]
        out[..., 2, 0], out[..., 2, 1] = -v[..., 1], v[..., 0]
        return out
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    zero = xp.zeros_like(x)
    return xp.stack(
        [
            xp.stack([zero, -z, y], axis=-1),
            xp.stack([z, zero, -x], axis=-1),
            xp.stack([-y, x, zero], axis=-1),
        ],
        axis=-2,
    )


def _angle_coefficients(theta_sq: Any, xp: Any) -> tuple[Any, Any, Any]:
    """``sin(t)/t``, ``(1-cos t)/t^2`` and ``(t - sin t)/t^3``, accurate in float32 too.

    ``1 - cos t`` is computed as ``2 sin^2(t/2)`` (no cancellation), and ``t - sin t``,
    which cancels badly below t ~ 0.1, is replaced there by its Taylor series.
    """
    small = theta_sq < _SMALL_ANGLE_SQ
    safe_sq = xp.where(small, xp.ones_like(theta_sq), theta_sq)
    theta = xp.sqrt(safe_sq)
    a = xp.where(small, 1.0 - theta_sq / 6.0, xp.sin(theta) / theta)
    sin_half = xp.sin(0.5 * theta)
    b = xp.where(small, 0.5 - theta_sq / 24.0, 2.0 * sin_half * sin_half / safe_sq)
    series = theta_sq < _SERIES_ANGLE_SQ
    c = xp.where(
        series,
        1.0 / 6.0 - theta_sq / 120.0 + theta_sq * theta_sq / 5040.0,
        (theta - xp.sin(theta)) / (safe_sq * theta),
    )
    return a, b, c


def axis_angle_to_matrix(r: Any, xp: Any) -> Any:
    """Rodrigues' formula: axis-angle (..., 3) -> rotation matrix (..., 3, 3)."""
    theta_sq = xp.sum(r * r, axis=-1)
    a, b, _ = _angle_coefficients(theta_sq, xp)
    K = skew(r, xp)
    eye = xp.eye(3, dtype=r.dtype)
    return eye + a[..., None, None] * K + b[..., None, None] * (K @ K)


def left_jacobian(r: Any, xp: Any) -> Any:
    """Left Jacobian of SO(3) at ``r`` (..., 3) -> (..., 3, 3).

    For ``R = exp([r]x)``, the angular velocity in the frame ``R`` is expressed in
    (the parent frame) is ``omega = left_jacobian(r) @ dr/dt``.
    """
    theta_sq = xp.sum(r * r, axis=-1)
    _, b, c = _angle_coefficients(theta_sq, xp)
    K = skew(r, xp)
    eye = xp.eye(3, dtype=r.dtype)
    return eye + b[..., None, None] * K + c[..., None, None] * (K @ K)


def matrix_to_quaternion(R: Any, xp: Any) -> Any:
    """Rotation matrix (..., 3, 3) -> unit quaternion (..., 4) as (w, x, y, z) with w >= 0.

    Shepperd's method: of the four candidate formulas, the one with the largest
    denominator is taken, so the result is accurate for every rotation, 180 degrees included.
    """
    if is_numpy(xp):
        return _matrix_to_quaternion_numpy(R)
    m00, m11, m22 = R[..., 0, 0], R[..., 1, 1], R[..., 2, 2]
    trace = m00 + m11 + m22
    candidates_sq = xp.stack([1.0 + trace, 1.0 + 2 * m00 - trace, 1.0 + 2 * m11 - trace, 1.0 + 2 * m22 - trace], axis=-1)
    s = xp.sqrt(xp.maximum(candidates_sq, 1e-12))
    # Each row: (w, x, y, z) * 4 * component, for the case whose component is largest.
    q_w = xp.stack([s[..., 0] ** 2, R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], axis=-1) / s[..., 0:1]
    q_x = xp.stack([R[..., 2, 1] - R[..., 1, 2], s[..., 1] ** 2, R[..., 0, 1] + R[..., 1, 0], R[..., 0, 2] + R[..., 2, 0]], axis=-1) / s[..., 1:2]
    q_y = xp.stack([R[..., 0, 2] - R[..., 2, 0], R[..., 0, 1] + R[..., 1, 0], s[..., 2] ** 2, R[..., 1, 2] + R[..., 2, 1]], axis=-1) / s[..., 2:3]
    q_z = xp.stack([R[..., 1, 0] - R[..., 0, 1], R[..., 0, 2] + R[..., 2, 0], R[..., 1, 2] + R[..., 2, 1], s[..., 3] ** 2], axis=-1) / s[..., 3:4]
    best = xp.argmax(candidates_sq, axis=-1)[..., None]
    q = xp.where(best == 0, q_w, xp.where(best == 1, q_x, xp.where(best == 2, q_y, q_z))) * 0.5
    q = q / xp.sqrt(xp.sum(q * q, axis=-1, keepdims=True))
    return xp.where(q[..., 0:1] < 0, -q, q)


def _matrix_to_quaternion_numpy(R: np.ndarray) -> np.ndarray:
    """``matrix_to_quaternion`` for numpy arrays: the same formulas (Shepperd's method), with
    the four candidates filled into one array rather than stacked (the interpreter's hot path)."""
    R = np.asarray(R)
    m00, m11, m22 = R[..., 0, 0], R[..., 1, 1], R[..., 2, 2]
    trace = m00 + m11 + m22
    candidates_sq = np.empty(R.shape[:-2] + (4,), dtype=R.dtype)
    candidates_sq[..., 0] = 1.0 + trace
    candidates_sq[..., 1] = 1.0 + 2 * m00 - trace
    candidates_sq[..., 2] = 1.0 + 2 * m11 - trace
    candidates_sq[..., 3] = 1.0 + 2 * m22 - trace
    s = np.sqrt(np.maximum(candidates_sq, 1e-12))
    d21, d02, d10 = R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]
    s01, s02, s12 = R[..., 0, 1] + R[..., 1, 0], R[..., 0, 2] + R[..., 2, 0], R[..., 1, 2] + R[..., 2, 1]
    # rows[..., k, :] = (w, x, y, z) * 4 * component k, for the case whose component is largest.
    rows = np.empty(R.shape[:-2] + (4, 4), dtype=R.dtype)
    rows[..., 0, 0], rows[..., 0, 1], rows[..., 0, 2], rows[..., 0, 3] = s[..., 0] ** 2, d21, d02, d10
    rows[..., 1, 0], rows[..., 1, 1], rows[..., 1, 2], rows[..., 1, 3] = d21, s[..., 1] ** 2, s01, s02
    rows[..., 2, 0], rows[..., 2, 1], rows[..., 2, 2], rows[..., 2, 3] = d02, s01, s[..., 2] ** 2, s12
    rows[..., 3, 0], rows[..., 3, 1], rows[..., 3, 2], rows[..., 3, 3] = d10, s02, s12, s[..., 3] ** 2
    best = np.argmax(candidates_sq, axis=-1)
    q = np.take_along_axis(rows, best[..., None, None], axis=-2)[..., 0, :]
    q = q / np.take_along_axis(s, best[..., None], axis=-1) * 0.5
    q = q / np.sqrt(np.sum(q * q, axis=-1, keepdims=True))
    return np.where(q[..., 0:1] < 0, -q, q)


def quaternion_to_axis_angle(q: Any, xp: Any) -> Any:
    """Unit quaternion (..., 4) as (w, x, y, z) -> axis-angle (..., 3) with angle in [0, pi]."""
    q = xp.where(q[..., 0:1] < 0, -q, q)
    v = q[..., 1:]
    v_sq = xp.sum(v * v, axis=-1)
    small = v_sq < _SMALL_ANGLE_SQ
    v_norm = xp.sqrt(xp.where(small, xp.ones_like(v_sq), v_sq))
    angle = 2.0 * xp.arctan2(v_norm, q[..., 0])
    # For tiny angles, angle / |v| -> 2 / w.
    scale = xp.where(small, 2.0 / q[..., 0], angle / v_norm)
    return v * scale[..., None]


def matrix_to_axis_angle(R: Any, xp: Any) -> Any:
    """Logarithm of SO(3): rotation matrix (..., 3, 3) -> axis-angle (..., 3), angle in [0, pi]."""
    return quaternion_to_axis_angle(matrix_to_quaternion(R, xp), xp)


def quaternion_to_matrix(q: Any, xp: Any) -> Any:
    """Quaternion (..., 4) as (w, x, y, z), normalised first -> rotation matrix (..., 3, 3)."""
    q = q / xp.sqrt(xp.sum(q * q, axis=-1, keepdims=True))
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return xp.stack(
        [
            xp.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], axis=-1),
            xp.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], axis=-1),
            xp.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=-1),
        ],
        axis=-2,
    )


def inverse_left_jacobian(e: Any, xp: Any) -> Any:
    """Inverse of the left Jacobian at ``e`` (..., 3) -> (..., 3, 3), for |e| < 2 pi.

    If ``e = log(R)`` and ``R`` turns with world angular velocity ``omega``,
    then ``de/dt = inverse_left_jacobian(e) @ omega``.
    """
    theta_sq = xp.sum(e * e, axis=-1)
    small = theta_sq < _SERIES_ANGLE_SQ
    safe_sq = xp.where(small, xp.ones_like(theta_sq), theta_sq)
    theta = xp.sqrt(safe_sq)
    half = 0.5 * theta
    # 1/t^2 - cot(t/2) / (2 t), with its Taylor series near zero.
    series = 1.0 / 12.0 + theta_sq / 720.0 + theta_sq * theta_sq / 30240.0
    d = xp.where(small, series, 1.0 / safe_sq - xp.cos(half) / (2.0 * theta * xp.sin(half)))
    K = skew(e, xp)
    eye = xp.eye(3, dtype=e.dtype)
    return eye - 0.5 * K + d[..., None, None] * (K @ K)


def canonical_axis_angle(r):
    """numpy only: the same rotations (..., 3) with every angle brought into [0, pi].

    A turn by theta about u is the turn by ``theta - 2 pi k`` about u; the k nearest
    ``theta / 2 pi`` leaves an angle within pi (a negative one turns the axis round). Closed
    form rather than through the rotation matrix: exact to rounding at any angle, and about
    10 us less per solve for an unlimited root past pi.
    """
    import numpy as np

    r = np.asarray(r, dtype=np.float64)
    squared = np.einsum("...i,...i->...", r, r)
    beyond = squared > np.pi**2
    if not beyond.any():
        return r
    out = r.copy()
    theta = np.sqrt(squared[beyond])
    wrapped = theta - 2.0 * np.pi * np.round(theta / (2.0 * np.pi))
    out[beyond] = r[beyond] * (wrapped / theta)[:, None]
    return out


def axis_angle_to_quaternion(r: np.ndarray) -> np.ndarray:
    """numpy only: unit quaternions (..., 4), (w, x, y, z), of axis-angle vectors r (..., 3)."""
    r = np.asarray(r, dtype=np.float64)
    theta = np.sqrt(np.einsum("...i,...i->...", r, r))
    half = 0.5 * theta
    # sin(theta / 2) / theta, with its series near 0.
    scale = np.where(theta > 1e-6, np.sin(half) / np.maximum(theta, 1e-300), 0.5 - theta * theta / 48.0)
    q = np.empty(r.shape[:-1] + (4,))
    q[..., 0] = np.cos(half)
    q[..., 1:] = r * scale[..., None]
    return q


def quaternion_product(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """numpy only: Hamilton products ``p q`` of quaternions (..., 4), (w, x, y, z), broadcast."""
    pw, px, py, pz = p[..., 0], p[..., 1], p[..., 2], p[..., 3]
    qw, qx, qy, qz = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    out = np.empty(np.broadcast_shapes(np.shape(p), np.shape(q)))
    out[..., 0] = pw * qw - px * qx - py * qy - pz * qz
    out[..., 1] = pw * qx + px * qw + py * qz - pz * qy
    out[..., 2] = pw * qy - px * qz + py * qw + pz * qx
    out[..., 3] = pw * qz + px * qy - py * qx + pz * qw
    return out


def quaternion_conjugate(q: np.ndarray) -> np.ndarray:
    """numpy only: conjugates (..., 4) of quaternions (w, x, y, z): the inverse rotations of unit ones."""
    return q * np.array([1.0, -1.0, -1.0, -1.0])
