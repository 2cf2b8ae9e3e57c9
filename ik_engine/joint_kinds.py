"""Which coordinates a skeleton's joints use, checked against their limits when a Skeleton is
built: the kinds (axis-angle, Euler, swing-twist), the swing-twist joints' neutral rotations,
elliptic swings and reach tables, and how far a swing lies beyond its ellipse or table
(``Skeleton.joint_limit_excess``)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .errors import SkeletonError
from .joint_coordinates import AXIS_ANGLE, MAX_SWING, SWING_TWIST_KINDS, check_kind, swing_axes, swing_scale, twist_axis

FULL_TURN = 2 * np.pi - 1e-9  # a range this wide has no limit


def check_rotation_matrices(names: Sequence[str], matrices: np.ndarray, what: str) -> None:
    """SkeletonError naming the first joint whose (3, 3) entry of ``matrices`` (J, 3, 3) is not
    a rotation (orthonormal within 1e-6, determinant +1)."""
    err = np.abs(matrices @ np.swapaxes(matrices, -1, -2) - np.eye(3)).max(axis=(-1, -2))
    bad = np.flatnonzero((err > 1e-6) | (np.linalg.det(matrices) < 0))
    if len(bad):
        raise SkeletonError(f"{what} of joint {names[bad[0]]!r} is not a rotation matrix")


def checked_coordinates(names: Sequence[str], coordinates, lower: np.ndarray, upper: np.ndarray) -> tuple[str, ...]:
    """J kinds (all axis-angle for None), or SkeletonError naming the joint that cannot use its
    kind with its limits (lower, upper: (J, 3) radians)."""
    J = len(names)
    if coordinates is None:
        return (AXIS_ANGLE,) * J
    if isinstance(coordinates, str):
        raise SkeletonError("coordinates must be a sequence of one kind per joint, not a single string")
    kinds = tuple(coordinates)
    if len(kinds) != J:
        raise SkeletonError(f"coordinates must name one kind per joint ({J}), got {len(kinds)}")
    for j, kind in enumerate(kinds):
        try:
            check_kind(kind, f"joint {names[j]!r}")
        except ValueError as exc:
            raise SkeletonError(str(exc)) from None
    if kinds[0] != AXIS_ANGLE:
        raise SkeletonError(f"the root joint {names[0]!r} must use axis_angle coordinates, not {kinds[0]!r}")
    for j, kind in enumerate(kinds):
        if kind == AXIS_ANGLE:
            continue
        if kind in SWING_TWIST_KINDS:
            # The swing is limited along rays from its centre (c = 0: the rest pose, or the
            # neutral rotation): its box must hold the centre.
            for a in swing_axes(twist_axis(kind)):
                if not lower[j, a] <= 0.0 <= upper[j, a]:
                    raise SkeletonError(
                        f"joint {names[j]!r} uses swing-twist coordinates {kind!r}: its swing range about "
                        f"{'xyz'[a]} must contain 0 (its centre: the rest pose, or its neutral rotation), got {np.degrees(lower[j, a]):.6g} .. "
                        f"{np.degrees(upper[j, a]):.6g} degrees"
                    )
            continue
        # Euler angles are singular at a middle angle of +-90 degrees, and beyond it a rotation
        # has a second set: a limited middle range must stay strictly inside (a full turn, no
        # limit at all, is fine).
        m = "xyz".index(kind[1])
        unlimited = upper[j, m] - lower[j, m] >= FULL_TURN
        if not unlimited and not -np.pi / 2 < lower[j, m] <= upper[j, m] < np.pi / 2:
            raise SkeletonError(
                f"joint {names[j]!r} uses Euler coordinates {kind!r}: its middle axis ({kind[1]}) must keep "
                f"within +-90 degrees (or have no limit), got {np.degrees(lower[j, m]):.6g} .. {np.degrees(upper[j, m]):.6g}"
            )
    return kinds


def _numbers(value, what: str) -> np.ndarray:
    """``value`` as a float64 array, or SkeletonError saying that ``what`` must be numbers."""
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SkeletonError(f"{what} must be numbers: {exc}") from None


def centred_joints(neutral: np.ndarray) -> np.ndarray:
    """(J,) bool: the joints whose neutral rotation (J, 3, 3) is not the identity (within 1e-12)."""
    return np.abs(neutral - np.eye(3)).max(axis=(1, 2)) > 1e-12


def checked_neutral_rotations(names: Sequence[str], kinds: Sequence[str], neutral_rotations) -> np.ndarray | None:
    """(J, 3, 3) neutral rotations, None when all are the identity (or none are given), or
    SkeletonError: not rotations, or on a joint whose coordinates are not swing-twist."""
    if neutral_rotations is None:
        return None
    J = len(names)
    neutral = _numbers(neutral_rotations, "neutral_rotations")
    if neutral.shape != (J, 3, 3) or not np.isfinite(neutral).all():
        raise SkeletonError(f"neutral_rotations must be finite with shape ({J}, 3, 3), got {neutral.shape}")
    check_rotation_matrices(names, neutral, "neutral_rotations")
    moved = np.flatnonzero(centred_joints(neutral)).tolist()
    wrong = [names[j] for j in moved if kinds[j] not in SWING_TWIST_KINDS]
    if wrong:
        raise SkeletonError(f"joints {wrong} have a neutral rotation but no swing-twist coordinates: only a "
                            "swing-twist joint's limits have a centre to move")
    return neutral if moved else None


def checked_swing_reach(names: Sequence[str], kinds: Sequence[str], swing_reach) -> np.ndarray | None:
    """(J, R) reach tables, radians (``joint_coordinates.reach_sine``), with ``MAX_SWING`` in
    the rows of joints without one; None when no joint has one; or SkeletonError: not finite
    numbers in (0, pi] (rows of ``inf``, NaN or at least ``MAX_SWING``: no table), fewer than 3
    directions, or a table on a joint whose coordinates are not swing-twist."""
    if swing_reach is None:
        return None
    J = len(names)
    reach = _numbers(swing_reach, "swing_reach")
    if reach.ndim != 2 or reach.shape[0] != J or reach.shape[1] < 3:
        raise SkeletonError(f"swing_reach must have shape ({J}, R) with R >= 3 directions, got {reach.shape}")
    absent = (~np.isfinite(reach) | (reach >= MAX_SWING)).all(axis=1)  # (J,): rows that limit nothing
    for j in np.flatnonzero(~absent):
        if not np.isfinite(reach[j]).all() or (reach[j] <= 0).any() or (reach[j] > np.pi).any():
            raise SkeletonError(f"swing_reach of joint {names[j]!r} must be R angles in (0, pi] radians "
                                f"(or all inf: no table), got {np.degrees(reach[j]).round(3).tolist()} degrees")
        if kinds[j] not in SWING_TWIST_KINDS:
            raise SkeletonError(f"joint {names[j]!r} has a swing_reach table but {kinds[j]!r} coordinates: only a "
                                "swing-twist joint's swing has a reach")
    if absent.all():
        return None
    return np.where(absent[:, None], MAX_SWING, np.minimum(reach, MAX_SWING))


def elliptic_swings(kinds: Sequence[str], lower: np.ndarray, upper: np.ndarray, reach: np.ndarray | None = None) -> np.ndarray:
    """(J,) bool: swing-twist joints whose both swing coordinates are limited (a range below a
    full turn), so that an ellipse limits the swing (Blender's rule), unless a reach table
    (J, R) limits it instead (rows below ``MAX_SWING``)."""
    out = np.zeros(len(kinds), dtype=bool)
    for j, kind in enumerate(kinds):
        if kind in SWING_TWIST_KINDS:
            out[j] = all(upper[j, a] - lower[j, a] < FULL_TURN for a in swing_axes(twist_axis(kind)))
            out[j] &= reach is None or bool((reach[j] >= MAX_SWING).all())
    return out


def swing_limit_excess(c: np.ndarray, t: int, lower: np.ndarray, upper: np.ndarray, elliptic: bool,
                       reach: np.ndarray | None = None) -> float:
    """Radians by which swing-twist coordinates c (3,) swing beyond their ellipse or reach
    table (R,) (or ``MAX_SWING``), along the ray from the centre; the box part is the box's
    to count."""
    b, d = swing_axes(t)
    lower, upper = np.maximum(lower, -np.pi), np.minimum(upper, np.pi)
    inside = np.clip(c, lower, upper)
    k = float(swing_scale(inside, t, lower, upper, np.asarray(elliptic), np, None if reach is None else np.asarray(reach)))
    radius = float(np.hypot(np.sin(0.5 * inside[b]), np.sin(0.5 * inside[d])))
    return 2.0 * (np.arcsin(min(radius, 1.0)) - np.arcsin(min(k * radius, 1.0)))
