"""Avoid: the body's capsules stay out of spherical and capsule-shaped obstacles."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..errors import ConstraintError
from ..geometry import (
    BODY_CAPSULES,
    CAPSULE_INDEX,
    CAPSULE_NAMES,
    INEQUALITY_SLACK,
    capsule_parameters,
    capsule_segments,
    closest_points_on_segments,
    point_jacobians,
    separation,
)
from ..validation import MAX_COORDINATE, distinct_names, finite_number
from .base import Constraint, check_priority, check_vector, check_weight
from .parameter_structure import pack, unpack


def check_radius(value: Any, what: str) -> float:
    return finite_number(value, what, ConstraintError, minimum=0.0, unit="metres", maximum=MAX_COORDINATE)


class Sphere:
    """A spherical obstacle: ``centre`` (3,) and ``radius``, metres."""

    def __init__(self, centre, radius: float) -> None:
        self.centre = check_vector(centre, 3, "Sphere centre")
        self.radius = check_radius(radius, "Sphere radius")

    def segment(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(a, b, radius): the obstacle as a capsule (a sphere is one of zero length)."""
        return self.centre, self.centre, self.radius

    def __repr__(self) -> str:
        return f"Sphere(centre={self.centre.tolist()}, radius={self.radius})"


class Capsule:
    """A capsule obstacle: the points within ``radius`` of the segment ``a``-``b``, metres."""

    def __init__(self, a, b, radius: float) -> None:
        self.a = check_vector(a, 3, "Capsule end a")
        self.b = check_vector(b, 3, "Capsule end b")
        self.radius = check_radius(radius, "Capsule radius")

    def segment(self) -> tuple[np.ndarray, np.ndarray, float]:
        return self.a, self.b, self.radius

    def __repr__(self) -> str:
        return f"Capsule(a={self.a.tolist()}, b={self.b.tolist()}, radius={self.radius})"


def check_capsule_names(names: Any, kind: str, what: str) -> tuple[str, ...]:
    """A non-empty tuple of distinct body capsule names (``geometry.CAPSULE_NAMES``)."""
    return distinct_names(names, f"{kind} {what}", ConstraintError, "body capsule", known=CAPSULE_NAMES)


def check_margin(value: Any, kind: str) -> float:
    return finite_number(value, f"{kind} margin", ConstraintError, minimum=0.0, unit="metres", maximum=MAX_COORDINATE)


def require_radii(skeleton: Any, kind: str) -> None:
    if skeleton.radii is None:
        raise ConstraintError(
            f"{kind} needs the body's capsule radii, but skeleton {skeleton.name!r} has none (Skeleton.radii is None)"
        )


class AvoidParameters(NamedTuple):
    """Avoid's parameters: the body capsules (K, 7) in their joints' frames (start, end,
    radius), the obstacles (O, 7) in the world (a, b, radius), and the margin (metres)."""

    capsules: Any
    obstacles: Any
    margin: Any


class Avoid(Constraint):
    """Body capsules stay at least ``margin`` outside every obstacle.

    Args:
        obstacles: a list of ``Sphere`` and ``Capsule`` (their positions and sizes are
            parameters: moving an obstacle does not recompile; adding one does).
        margin: clearance between the body's surface and an obstacle's, metres.
        segments: names of the body capsules that must keep out (default: all of
            ``geometry.CAPSULE_NAMES``, the 25 capsules of the body).
        weight, priority: as for every constraint (0 = highest priority).

    One residual row per (capsule, obstacle): ``max(0, r_body + r_obstacle + margin + slack
    - distance)`` with the distance between the two centre segments (slack 1 mm). Error: the
    deepest violation, metres.
    """

    bakes_rest_geometry = True

    tolerance_kind = "position"

    def __init__(self, obstacles, margin: float = 0.01, segments=None, weight: float = 1.0, priority: int = 0) -> None:
        if isinstance(obstacles, (Sphere, Capsule)):
            obstacles = [obstacles]
        try:
            obstacles = list(obstacles)
        except TypeError:
            raise ConstraintError(f"Avoid obstacles must be a list of Sphere and Capsule, got {obstacles!r}") from None
        if not obstacles:
            raise ConstraintError("Avoid needs at least one obstacle")
        for i, o in enumerate(obstacles):
            if not isinstance(o, (Sphere, Capsule)):
                raise ConstraintError(f"Avoid obstacle {i} is a {type(o).__name__}, not a Sphere or Capsule")
        self.obstacles = obstacles
        self.margin = check_margin(margin, "Avoid")
        self.segments = CAPSULE_NAMES if segments is None else check_capsule_names(segments, "Avoid", "segments")
        self.weight = check_weight(weight, "Avoid")
        self.priority = check_priority(priority, "Avoid")
        specs = [BODY_CAPSULES[CAPSULE_INDEX[n]] for n in self.segments]
        self._frames = tuple(dict.fromkeys(spec.frame for spec in specs))
        self._frame_of = tuple(self._frames.index(spec.frame) for spec in specs)

    def joints(self) -> tuple[str, ...]:
        return self._frames

    def static(self, skeleton: Any) -> tuple:
        # Which frame carries each capsule, and how many obstacles (the row count).
        return (self._frame_of, len(self.obstacles))

    def validate(self, skeleton: Any, init: Any) -> None:
        require_radii(skeleton, "Avoid")

    def parameters(self, skeleton: Any) -> np.ndarray:
        require_radii(skeleton, "Avoid")
        return self.shifted_parameters(skeleton, np.zeros(3))

    def shifted_parameters(self, skeleton: Any, shift: np.ndarray) -> np.ndarray:
        """The obstacles' end points moved by ``-shift`` (the body capsules are in joint frames)."""
        require_radii(skeleton, "Avoid")
        shift = np.asarray(shift, dtype=np.float64)
        obstacles = [np.concatenate([a - shift, b - shift, np.broadcast_to(r, shift.shape[:-1] + (1,))], axis=-1)
                     for a, b, r in (o.segment() for o in self.obstacles)]
        return pack(AvoidParameters(capsule_parameters(skeleton, self.segments), np.concatenate(obstacles, axis=-1),
                                    np.broadcast_to(self.margin, shift.shape[:-1] + (1,))))

    @staticmethod
    def residual(state: Any, slot: Any, params: Any, xp: Any):
        frame_of, num_obstacles = slot.static
        rows = np.asarray(slot.joint_rows, dtype=np.int64)[np.asarray(frame_of, dtype=np.int64)]
        K, O = len(rows), num_obstacles
        p = unpack(AvoidParameters, params, {"capsules": (K, 7), "obstacles": (O, 7), "margin": ()}, xp)
        start, end, radius = capsule_segments(state, rows, p.capsules, xp)
        obstacles, margin = p.obstacles, p.margin
        # Every (capsule, obstacle) pair, capsule-major: (K, O, 3).
        shape = (K, O, 3)
        a1, b1 = xp.broadcast_to(start[:, None, :], shape), xp.broadcast_to(end[:, None, :], shape)
        a2, b2 = xp.broadcast_to(obstacles[None, :, 0:3], shape), xp.broadcast_to(obstacles[None, :, 3:6], shape)
        _, _, c1, c2 = closest_points_on_segments(a1, b1, a2, b2, xp)
        distance, normal = separation(c1, c2, 0.5 * (a1 + b1 - a2 - b2), xp)
        reach = radius[:, None] + obstacles[None, :, 6] + margin
        depth = xp.reshape(reach - distance, (K * O,))
        r = xp.maximum(depth + INEQUALITY_SLACK, 0.0)
        J_point = point_jacobians(state, np.repeat(rows, O), xp.reshape(c1, (K * O, 3)), xp)
        J_distance = xp.sum(xp.reshape(normal, (K * O, 3))[:, :, None] * J_point, axis=1)
        J = xp.where((r > 0.0)[:, None], -J_distance, 0.0)
        return r, J, xp.maximum(xp.max(depth), 0.0)

    def __repr__(self) -> str:
        return (
            f"Avoid({self.obstacles!r}, margin={self.margin}, {len(self.segments)} segments, "
            f"weight={self.weight}, priority={self.priority})"
        )
