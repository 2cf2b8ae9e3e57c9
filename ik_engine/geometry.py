"""Capsule geometry of the body, written once against an array namespace ``xp``.

* closest points between two segments and between a point and a segment (batched over any
  leading axes, branch-free, finite for parallel and zero-length segments);
* ``point_jacobians``: the batched form of ``KinematicState.point_jacobian``;
* ``body_capsules(skeleton)``: the body's capsules (``smplx_body.BODY_CAPSULES``) on a skeleton.

The body model (SMPL-X joint names; 25 capsules; the table is in ``smplx_body``)
-------------------------------------------------------------------------------

A capsule is a segment swept by a sphere. Each body capsule moves rigidly with one joint's
frame (its *frame*); its end points are fixed in that frame. Most are the bone from a joint's
parent to the joint, with radius ``skeleton.radii[joint]`` (the skeleton's "capsule radius of
the segment from each joint's parent to the joint"); the root's radius is a sphere at the
pelvis joint. Two are made differently:

* ``left_hand`` / ``right_hand``: wrist -> middle1 (the palm, up to the knuckle of the middle
  finger), radius ``radii[wrist]``: the finger joints' radii are those of single fingers,
  far thinner than the palm, and the fingers themselves are left out (they curl and spread;
  a body solve does not move them).
* ``head``: the skull, which has no joint of its own above the head joint: a segment from
  4 cm to 10 cm above the head joint (along the rest pose's up direction, in the head's
  frame), radius 9 cm, so its top is 19 cm above the skull base (a rough adult head is
  15-16 cm broad and 19-20 cm long: the capsule errs on the broad, safe side). ``neck`` is
  the bone neck -> head.

Left out: fingers, thumbs, eyes and jaw (inside the head capsule), and the toes (SMPL-X has
no joint beyond the ball of the foot, ``*_foot``).
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, NamedTuple

import numpy as np

from .rotations import skew
from .skeleton_cache import SkeletonCache
from .smplx_body import BODY_CAPSULES, BODY_JOINTS, CapsuleSpec  # noqa: F401  (BODY_JOINTS, CapsuleSpec: public here too)

# Squared lengths below this (m^2) make a segment a point.
DEGENERATE_LENGTH_SQ = 1e-12
# Distances below this (m) have no direction; the gradient falls back to the centre line.
DIRECTION_EPS = 1e-9

# Inequalities aim this far (m) inside their feasible side, so the solver ends strictly inside
# it rather than on the boundary, where float32 rounding would flip it in and out.
INEQUALITY_SLACK = 1e-3

_cache = SkeletonCache()


def cached_for(skeleton: Any, key: Hashable, compute: Callable[[], Any]) -> Any:
    """``compute()``, remembered per (skeleton, key): skeletons are immutable, and constraints
    derive their static choices and parameters from them before every solve."""
    return _cache.get(skeleton, key, compute)


# ---------------------------------------------------------------------------- distances
def _dot(a: Any, b: Any, xp: Any) -> Any:
    return xp.sum(a * b, axis=-1)


def closest_points_on_segments(p1: Any, q1: Any, p2: Any, q2: Any, xp: Any) -> tuple[Any, Any, Any, Any]:
    """Closest points between segments p1-q1 and p2-q2 (each (..., 3)).

    Returns ``(s, t, c1, c2)``: parameters (...,) in [0, 1] and points (..., 3) with
    ``c1 = p1 + s (q1 - p1)``, ``c2 = p2 + t (q2 - p2)``. Branch-free (Ericson's clamping
    scheme): the closest points of the two lines, s clamped to segment 1, t from s, and
    when t leaves [0, 1] it is clamped and s recomputed for that end. Parallel segments
    take s = 0 first (any s is a closest point of the lines); zero-length segments are
    points. Every division is guarded, so the result is finite for any finite input.
    """
    d1 = q1 - p1
    d2 = q2 - p2
    r = p1 - p2
    a = _dot(d1, d1, xp)
    e = _dot(d2, d2, xp)
    b = _dot(d1, d2, xp)
    c = _dot(d1, r, xp)
    f = _dot(d2, r, xp)
    a_safe = xp.maximum(a, DEGENERATE_LENGTH_SQ)
    e_safe = xp.maximum(e, DEGENERATE_LENGTH_SQ)
    denom = a * e - b * b  # |d1 x d2|^2 >= 0 (up to rounding)
    parallel = denom <= 1e-12 * a * e
    s = xp.where(parallel, 0.0, xp.clip((b * f - c * e) / xp.where(parallel, 1.0, denom), 0.0, 1.0))
    t = (b * s + f) / e_safe
    s = xp.where(t < 0.0, xp.clip(-c / a_safe, 0.0, 1.0), xp.where(t > 1.0, xp.clip((b - c) / a_safe, 0.0, 1.0), s))
    t = xp.clip(t, 0.0, 1.0)
    point1 = a <= DEGENERATE_LENGTH_SQ
    point2 = e <= DEGENERATE_LENGTH_SQ
    s = xp.where(point1, 0.0, xp.where(point2, xp.clip(-c / a_safe, 0.0, 1.0), s))
    t = xp.where(point2, 0.0, xp.where(point1, xp.clip(f / e_safe, 0.0, 1.0), t))
    c1 = p1 + s[..., None] * d1
    c2 = p2 + t[..., None] * d2
    return s, t, c1, c2


def segment_distance(p1: Any, q1: Any, p2: Any, q2: Any, xp: Any) -> Any:
    """Distance (...,) between segments p1-q1 and p2-q2 (each (..., 3))."""
    _, _, c1, c2 = closest_points_on_segments(p1, q1, p2, q2, xp)
    diff = c1 - c2
    return xp.sqrt(_dot(diff, diff, xp))


def closest_point_on_segment(x: Any, a: Any, b: Any, xp: Any) -> tuple[Any, Any]:
    """Closest point of segment a-b to point x (each (..., 3)): ``(t (...,), point (..., 3))``."""
    d = b - a
    t = xp.clip(_dot(x - a, d, xp) / xp.maximum(_dot(d, d, xp), DEGENERATE_LENGTH_SQ), 0.0, 1.0)
    return t, a + t[..., None] * d


def point_segment_distance(x: Any, a: Any, b: Any, xp: Any) -> Any:
    """Distance (...,) from point x to segment a-b (each (..., 3))."""
    _, c = closest_point_on_segment(x, a, b, xp)
    diff = x - c
    return xp.sqrt(_dot(diff, diff, xp))


def separation(c1: Any, c2: Any, fallback: Any, xp: Any) -> tuple[Any, Any]:
    """Distance (...,) between points c1 and c2 and the unit direction (..., 3) from c2 to c1.

    When the points coincide (crossing centre lines) the direction is ``fallback``
    normalised (e.g. between the two segments' midpoints), so the gradient still pushes
    the capsules apart; if that vanishes too, +Y.
    """
    diff = c1 - c2
    distance = xp.sqrt(_dot(diff, diff, xp))
    fallback_norm = xp.sqrt(_dot(fallback, fallback, xp))
    up = xp.zeros_like(fallback) + xp.asarray([0.0, 1.0, 0.0], dtype=diff.dtype)
    fallback_unit = xp.where(
        (fallback_norm > DIRECTION_EPS)[..., None], fallback / xp.maximum(fallback_norm, DIRECTION_EPS)[..., None], up
    )
    normal = xp.where(
        (distance > DIRECTION_EPS)[..., None], diff / xp.maximum(distance, DIRECTION_EPS)[..., None], fallback_unit
    )
    return distance, normal


# ---------------------------------------------------------------------------- Jacobians
def point_jacobians(state: Any, rows: Any, points: Any, xp: Any) -> Any:
    """(K, 3, n) Jacobians of K world points, point k rigidly attached to joint ``rows[k]``.

    The batched form of ``KinematicState.point_jacobian`` (one vectorised expression
    instead of K traced calls); ``rows`` are static subtree rows (K,).
    """
    problem = state.problem
    rows = np.asarray(rows, dtype=np.int64)
    K, M = len(rows), len(problem.moving_joints)
    mask = problem.ancestor_mask[rows]  # (K, M) static
    p_moving = xp.take(state.p_world_joint, problem.moving_rows, axis=0)  # (M, 3)
    # omega x (p - p_joint) = [p_joint - p]x omega, per moving joint.
    blocks = skew(p_moving[None, :, :] - points[:, None, :], xp) @ state.W_world_dof[None] * mask[:, :, None, None]
    J = xp.reshape(xp.transpose(blocks, (0, 2, 1, 3)), (K, 3, 3 * M))
    if problem.move_root:
        translation = xp.broadcast_to(xp.eye(3, dtype=J.dtype), (K, 3, 3))
        J = xp.concatenate([J, translation], axis=2)
    return J


def attached_points(state: Any, rows: Any, local: Any, xp: Any) -> Any:
    """(K, 3) world positions of points fixed at ``local`` (K, 3) in the frames of joints ``rows``."""
    rows = np.asarray(rows, dtype=np.int64)
    R = xp.take(state.R_world_joint, rows, axis=0)
    p = xp.take(state.p_world_joint, rows, axis=0)
    return p + xp.sum(R * local[:, None, :], axis=-1)


# ---------------------------------------------------------------------------- body capsules
CAPSULE_NAMES: tuple[str, ...] = tuple(c.name for c in BODY_CAPSULES)
CAPSULE_INDEX: dict[str, int] = {name: i for i, name in enumerate(CAPSULE_NAMES)}


class BodyCapsule(NamedTuple):
    """A body capsule resolved on a skeleton.

    ``frame`` is a joint index; ``start`` and ``end`` (3,) are fixed in that joint's frame,
    metres; ``radius`` in metres.
    """

    name: str
    frame: int
    start: np.ndarray
    end: np.ndarray
    radius: float


def body_capsules(skeleton: Any, names: tuple[str, ...] | None = None) -> tuple[BodyCapsule, ...]:
    """The body capsules (all of ``BODY_CAPSULES``, or those named) on ``skeleton``.

    Needs ``skeleton.radii`` and the SMPL-X joint names; raises ``ValueError`` without radii
    and ``UnknownJointError`` for a missing joint (constraints turn both into clear errors).
    """
    if skeleton.radii is None:
        raise ValueError(f"skeleton {skeleton.name!r} has no capsule radii (Skeleton.radii is None)")
    specs = BODY_CAPSULES if names is None else tuple(BODY_CAPSULES[CAPSULE_INDEX[n]] for n in names)
    R_world_joint, p_world_joint = skeleton.world_transforms(skeleton.rest_pose())
    up = np.array([0.0, 1.0, 0.0])
    out = []
    for spec in specs:
        frame = skeleton.index(spec.frame)
        ends = []
        for joint, lift in (spec.start, spec.end):
            p_world = p_world_joint[skeleton.index(joint)] + lift * up
            ends.append(R_world_joint[frame].T @ (p_world - p_world_joint[frame]))
        radius = float(skeleton.radii[skeleton.index(spec.radius)]) if isinstance(spec.radius, str) else float(spec.radius)
        out.append(BodyCapsule(spec.name, frame, ends[0], ends[1], radius))
    return tuple(out)


def capsule_world_segments(
    skeleton: Any, pose: Any, capsules: tuple[BodyCapsule, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World end points (K, 3), (K, 3) and radii (K,) of resolved capsules in ``pose`` (numpy)."""
    R_world_joint, p_world_joint = skeleton.world_transforms(pose)
    frames = np.array([c.frame for c in capsules], dtype=np.int64)
    start = np.stack([c.start for c in capsules])
    end = np.stack([c.end for c in capsules])
    R, p = R_world_joint[frames], p_world_joint[frames]
    return p + np.einsum("kij,kj->ki", R, start), p + np.einsum("kij,kj->ki", R, end), np.array([c.radius for c in capsules])


def capsule_parameters(skeleton: Any, names: tuple[str, ...]) -> np.ndarray:
    """(7 K,) float64: start (3), end (3) and radius of each named capsule on ``skeleton``, for a
    constraint's parameters (computed once per skeleton)."""

    def compute() -> np.ndarray:
        packed = np.concatenate([np.concatenate([c.start, c.end, [c.radius]]) for c in body_capsules(skeleton, names)])
        packed.flags.writeable = False
        return packed

    return cached_for(skeleton, ("capsule_parameters", tuple(names)), compute)


def capsule_segments(state: Any, rows: Any, packed: Any, xp: Any) -> tuple[Any, Any, Any]:
    """World end points (K, 3), (K, 3) and radii (K,) of K capsules (K, 7) as
    ``capsule_parameters`` packs them, capsule k attached to subtree row ``rows[k]``."""
    start = attached_points(state, rows, packed[:, 0:3], xp)
    end = attached_points(state, rows, packed[:, 3:6], xp)
    return start, end, packed[:, 6]
