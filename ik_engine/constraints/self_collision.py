"""SelfCollision: capsules of non-adjacent body parts do not interpenetrate.

Which pairs are checked
-----------------------

A body of 25 capsules has 300 pairs; most can never meet (a foot and the head) or always
touch (the thigh and the pelvis, which are one continuous region of the real body cut into
capsules). The default list is the pairs that a reaching or stepping pose can make collide:

* each arm's upper arm, forearm and hand against the torso (pelvis, abdomen, chest, upper
  chest and their side parts) and against the head and neck;
* each arm's forearm and hand against both legs (thigh, shank, foot), the upper arm against
  both thighs;
* left arm against right arm, left leg against right leg.

From these (and from a user's own ``pairs``) two kinds are dropped when the constraint meets
its skeleton:

* adjacent capsules: those sharing a joint, or whose frames are parent and child; their
  capsules overlap at the shared joint by construction;
* capsules closer than ``REST_CONTACT_CLEARANCE`` (1 cm, surfaces) in the rest pose: there
  the capsules approximate one continuous part of the body (the hip girdle and the top of
  the thigh), so keeping them apart would only push every pose away from rest without
  preventing any real interpenetration.

``SelfCollision.active_pairs(skeleton)`` lists what remains (about a hundred pairs on the
default skeleton). Fingers, toes, jaw and eyes have no capsules (see ``ik_engine.geometry``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..errors import ConstraintError
from ..geometry import (
    BODY_CAPSULES,
    CAPSULE_INDEX,
    INEQUALITY_SLACK,
    body_capsules,
    cached_for,
    capsule_parameters,
    capsule_segments,
    capsule_world_segments,
    closest_points_on_segments,
    point_jacobians,
    segment_distance,
    separation,
)
from .avoid import check_capsule_names, check_margin, require_radii
from .base import Constraint, check_priority, check_weight
from .parameter_structure import pack, unpack

# Pairs whose surfaces are closer than this at rest are not checked (metres).
REST_CONTACT_CLEARANCE = 0.01

TORSO = (
    "pelvis", "left_pelvis", "right_pelvis", "lower_abdomen", "abdomen", "chest", "upper_chest",
    "left_upper_chest", "right_upper_chest",
)
HEAD = ("neck", "head")


def _arm(side: str) -> tuple[str, ...]:
    return (f"{side}_upper_arm", f"{side}_forearm", f"{side}_hand")


def _leg(side: str) -> tuple[str, ...]:
    return (f"{side}_thigh", f"{side}_shank", f"{side}_foot")


def _default_pairs() -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for side in ("left", "right"):
        arm = _arm(side)
        pairs += [(a, t) for a in arm for t in TORSO]
        pairs += [(a, h) for a in arm for h in HEAD]
        legs = _leg("left") + _leg("right")
        pairs += [(a, g) for a in arm[1:] for g in legs]
        pairs += [(arm[0], thigh) for thigh in ("left_thigh", "right_thigh")]
    pairs += [(a, b) for a in _arm("left") for b in _arm("right")]
    pairs += [(a, b) for a in _leg("left") for b in _leg("right")]
    return tuple(pairs)


DEFAULT_PAIRS: tuple[tuple[str, str], ...] = _default_pairs()


def adjacent(skeleton: Any, name_a: str, name_b: str) -> bool:
    """Do two body capsules share a joint, or are their frames parent and child?"""
    a, b = BODY_CAPSULES[CAPSULE_INDEX[name_a]], BODY_CAPSULES[CAPSULE_INDEX[name_b]]
    joints_a = {a.frame, a.start[0], a.end[0]}
    joints_b = {b.frame, b.start[0], b.end[0]}
    if joints_a & joints_b:
        return True
    fa, fb = skeleton.index(a.frame), skeleton.index(b.frame)
    return int(skeleton.parents[fa]) == fb or int(skeleton.parents[fb]) == fa


def rest_clearances(skeleton: Any, pairs) -> np.ndarray:
    """(P,) distance between the two capsules' surfaces of each pair in the rest pose
    (negative: overlapping), metres."""
    a, b, radius = capsule_world_segments(skeleton, skeleton.rest_pose(), body_capsules(skeleton))
    i = np.array([CAPSULE_INDEX[x] for x, _ in pairs], dtype=np.int64)
    j = np.array([CAPSULE_INDEX[y] for _, y in pairs], dtype=np.int64)
    return segment_distance(a[i], b[i], a[j], b[j], np) - radius[i] - radius[j]


class SelfCollisionParameters(NamedTuple):
    """SelfCollision's parameters: the body capsules (K, 7) in their joints' frames (start, end,
    radius) and the margin (metres)."""

    capsules: Any
    margin: Any


class SelfCollision(Constraint):
    """Body capsules that are not neighbours stay ``margin`` apart.

    Args:
        margin: clearance between the two capsules' surfaces, metres.
        pairs: (name, name) pairs of body capsules (``geometry.CAPSULE_NAMES``) to keep apart
            (default: ``DEFAULT_PAIRS``; see the module's notes). Adjacent pairs and pairs in
            contact at rest are dropped in either case.
        weight, priority: as for every constraint (0 = highest priority).

    One residual row per active pair: ``max(0, r_a + r_b + margin + slack - distance)``
    (slack 1 mm). Error: the deepest interpenetration beyond the margin, metres.
    """

    bakes_rest_geometry = True

    tolerance_kind = "position"

    def __init__(self, margin: float = 0.005, pairs=None, weight: float = 1.0, priority: int = 0) -> None:
        self.margin = check_margin(margin, "SelfCollision")
        if pairs is None:
            pairs = DEFAULT_PAIRS
        else:
            try:
                pairs = [tuple(p) for p in pairs]
            except TypeError:
                raise ConstraintError(f"SelfCollision pairs must be (name, name) pairs, got {pairs!r}") from None
            if not pairs:
                raise ConstraintError("SelfCollision pairs must not be empty")
            for p in pairs:
                if len(p) != 2 or p[0] == p[1]:
                    raise ConstraintError(f"SelfCollision pair {p!r} must name two different body capsules")
                check_capsule_names(p, "SelfCollision", "pairs")
        self.pairs = tuple(pairs)
        self.weight = check_weight(weight, "SelfCollision")
        self.priority = check_priority(priority, "SelfCollision")
        # Capsules in the pairs, in body order, and the frames that carry them.
        used = sorted({CAPSULE_INDEX[n] for p in self.pairs for n in p})
        self._capsules = tuple(BODY_CAPSULES[i].name for i in used)
        self._frames = tuple(dict.fromkeys(BODY_CAPSULES[i].frame for i in used))
        self._frame_of = tuple(self._frames.index(BODY_CAPSULES[i].frame) for i in used)

    def joints(self) -> tuple[str, ...]:
        return self._frames

    def active_pairs(self, skeleton: Any) -> tuple[tuple[str, str], ...]:
        """The pairs kept on ``skeleton``: neither adjacent nor in contact at rest."""
        require_radii(skeleton, "SelfCollision")

        def compute():
            clearance = rest_clearances(skeleton, self.pairs)
            return tuple(
                (a, b)
                for (a, b), c in zip(self.pairs, clearance)
                if not adjacent(skeleton, a, b) and c >= REST_CONTACT_CLEARANCE
            )

        return cached_for(skeleton, ("SelfCollision.active_pairs", self.pairs), compute)

    def static(self, skeleton: Any) -> tuple:
        active = self.active_pairs(skeleton)
        if not active:
            raise ConstraintError(
                "SelfCollision has no pair left to check: every pair given is adjacent or in contact at rest"
            )
        index = {n: i for i, n in enumerate(self._capsules)}
        first = tuple(index[a] for a, _ in active)
        second = tuple(index[b] for _, b in active)
        return (self._frame_of, first, second)

    def validate(self, skeleton: Any, init: Any) -> None:
        self.static(skeleton)

    def parameters(self, skeleton: Any) -> np.ndarray:
        require_radii(skeleton, "SelfCollision")
        return pack(SelfCollisionParameters(capsule_parameters(skeleton, self._capsules), [self.margin]))

    @staticmethod
    def residual(state: Any, slot: Any, params: Any, xp: Any):
        frame_of, first, second = slot.static
        rows = np.asarray(slot.joint_rows, dtype=np.int64)[np.asarray(frame_of, dtype=np.int64)]
        K = len(rows)
        i, j = np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64)
        p = unpack(SelfCollisionParameters, params, {"capsules": (K, 7), "margin": ()}, xp)
        start, end, radius = capsule_segments(state, rows, p.capsules, xp)
        margin = p.margin
        a1, b1 = xp.take(start, i, axis=0), xp.take(end, i, axis=0)
        a2, b2 = xp.take(start, j, axis=0), xp.take(end, j, axis=0)
        _, _, c1, c2 = closest_points_on_segments(a1, b1, a2, b2, xp)
        distance, normal = separation(c1, c2, 0.5 * (a1 + b1 - a2 - b2), xp)
        depth = xp.take(radius, i) + xp.take(radius, j) + margin - distance
        r = xp.maximum(depth + INEQUALITY_SLACK, 0.0)
        # Each closest point moves with its own capsule's frame (both Jacobians in one batch).
        P = len(i)
        J_points = point_jacobians(state, np.concatenate([rows[i], rows[j]]), xp.concatenate([c1, c2], axis=0), xp)
        J_distance = xp.sum(normal[:, :, None] * (J_points[:P] - J_points[P:]), axis=1)
        J = xp.where((r > 0.0)[:, None], -J_distance, 0.0)
        return r, J, xp.maximum(xp.max(depth), 0.0)

    def __repr__(self) -> str:
        return f"SelfCollision(margin={self.margin}, {len(self.pairs)} pairs, weight={self.weight}, priority={self.priority})"
