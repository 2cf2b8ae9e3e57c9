"""Balance: the whole-body centre of mass stays above the support polygon of the feet.

Mass model
----------

Segment masses and centre-of-mass locations from

    P. de Leva (1996), "Adjustments to Zatsiorsky-Seluyanov's segment inertia parameters",
    Journal of Biomechanics 29(9), 1223-1230, Table 4.

Each segment's mass is a fraction of the body's, and its centre of mass lies on the line
between two landmarks, at a fraction of the way from the first (``DE_LEVA`` below, both
sexes). The landmarks are mapped onto SMPL-X joints:

=============  ========================  ==================================================
segment        de Leva's landmarks       SMPL-X
=============  ========================  ==================================================
head (+neck)   vertex -> C7 (cervicale)  C7 = neck joint; vertex = above the head joint so
                                         that vertex-C7 has de Leva's length (scaled)
upper trunk    suprasternale -> xiphoid  suprasternale = midpoint of the collar joints;
                                         xiphoid = on the line suprasternale -> spine2, at
                                         de Leva's length ratio; both fixed in spine3's frame
middle trunk   xiphoid -> omphalion      omphalion (navel) = spine2 joint
lower trunk    omphalion -> mid-hip      mid-hip = midpoint of the hip joints
upper arm      shoulder -> elbow         shoulder, elbow joints
forearm        elbow -> wrist            elbow, wrist joints
hand           wrist -> 3rd metacarpal   wrist, middle1 joints (fingers as at rest)
thigh          hip -> knee               hip, knee joints
shank          knee -> lateral malleolus knee, ankle joints
foot           heel -> toe tip           heel and toe tip points (below)
=============  ========================  ==================================================

"Scaled" lengths are de Leva's times the ratio of the skeleton's leg (hip -> knee -> ankle)
to de Leva's thigh + shank. The masses sum to 100 % (99.99 % for the female table; they are
normalised).

Feet and support polygon
------------------------

Each foot has a heel point (the ankle moved down to the height of the ball of the foot and
``HEEL_BACK`` behind the ankle along the foot) fixed in the ankle's frame, and a toe point
(``TOE_FORWARD`` ahead of the ball, the ``*_foot`` joint) fixed in the foot's frame; the
foot's direction is the rest-pose ball-minus-ankle direction, made horizontal. Its support
is the rectangle of heel and toe points moved ``FOOT_HALF_WIDTH`` to either side. The
support polygon is the convex hull of the supporting feet's corners on the ground plane
(x, z): one foot's rectangle, or both feet's eight corners. The hull is found inside the
residual without branches: every pair of corners is a candidate edge, and it is an edge
when all other corners lie on one side of it.
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

import numpy as np

from ..errors import ConstraintError
from ..geometry import INEQUALITY_SLACK, attached_points, cached_for, point_jacobians
from ..smplx_body import DE_LEVA, FEET, FOOT_HALF_WIDTH, HEEL_BACK, TOE_FORWARD, TOE_TIP_FORWARD
from ..validation import MAX_COORDINATE, distinct_names, finite_number
from .base import Constraint, check_priority, check_weight
from .parameter_structure import pack, unpack

# Corners within this distance (m) of an edge's line count as on it (float32 rounding).
HULL_TOLERANCE = 1e-5


class MassPoint(NamedTuple):
    """A point fixed at ``local`` in joint ``frame``'s frame, carrying ``weight`` of the body's mass."""

    frame: str
    local: np.ndarray
    weight: float


def _check_sex(sex: Any, kind: str) -> str:
    if sex not in DE_LEVA:
        raise ConstraintError(f"{kind}: sex must be 'male' or 'female' (de Leva's tables), got {sex!r}")
    return sex


class _RestFrames:
    """Rest-pose world frames of a skeleton, to fix rest-pose points in joints' frames."""

    def __init__(self, skeleton: Any) -> None:
        self.skeleton = skeleton
        self.R, self.p = skeleton.world_transforms(skeleton.rest_pose())

    def pos(self, joint: str) -> np.ndarray:
        return self.p[self.skeleton.index(joint)]

    def local(self, frame: str, p_world: np.ndarray) -> np.ndarray:
        f = self.skeleton.index(frame)
        return self.R[f].T @ (p_world - self.p[f])


def _foot_axes(rest: _RestFrames, side: str) -> tuple[np.ndarray, np.ndarray]:
    """(forward, lateral) horizontal unit vectors of a foot at rest (lateral: to the foot's outside)."""
    forward = rest.pos(f"{side}_foot") - rest.pos(f"{side}_ankle")
    forward = np.array([forward[0], 0.0, forward[2]])
    forward /= max(np.linalg.norm(forward), 1e-9)
    left = np.cross(np.array([0.0, 1.0, 0.0]), forward)  # +X for a foot facing +Z
    return forward, (left if side == "left" else -left)


def foot_points(skeleton: Any, side: str) -> dict[str, tuple[str, np.ndarray]]:
    """Heel, toe tip and the four support corners of one foot: name -> (frame joint, local point)."""
    rest = _RestFrames(skeleton)
    ankle, ball = rest.pos(f"{side}_ankle"), rest.pos(f"{side}_foot")
    forward, lateral = _foot_axes(rest, side)
    heel = np.array([ankle[0], ball[1], ankle[2]]) - HEEL_BACK * forward
    toe = ball + TOE_FORWARD * forward
    toe_tip = ball + TOE_TIP_FORWARD * forward
    ankle_frame, foot_frame = f"{side}_ankle", f"{side}_foot"
    return {
        "heel": (ankle_frame, rest.local(ankle_frame, heel)),
        "toe_tip": (foot_frame, rest.local(foot_frame, toe_tip)),
        "heel_outer": (ankle_frame, rest.local(ankle_frame, heel + FOOT_HALF_WIDTH * lateral)),
        "toe_outer": (foot_frame, rest.local(foot_frame, toe + FOOT_HALF_WIDTH * lateral)),
        "toe_inner": (foot_frame, rest.local(foot_frame, toe - FOOT_HALF_WIDTH * lateral)),
        "heel_inner": (ankle_frame, rest.local(ankle_frame, heel - FOOT_HALF_WIDTH * lateral)),
    }


def mass_points(skeleton: Any, sex: str = "male") -> tuple[MassPoint, ...]:
    """The body's mass as weighted points fixed in joint frames (weights sum to 1).

    A segment's centre of mass between landmarks in two frames is split into two weighted
    points, one per frame, so the sum moves exactly like the interpolated point.
    """
    table = DE_LEVA[_check_sex(sex, "mass_points")]
    rest = _RestFrames(skeleton)
    zero = np.zeros(3)
    leg = np.mean(
        [
            np.linalg.norm(rest.pos(f"{s}_knee") - rest.pos(f"{s}_hip"))
            + np.linalg.norm(rest.pos(f"{s}_ankle") - rest.pos(f"{s}_knee"))
            for s in ("left", "right")
        ]
    )
    scale = leg / (table["thigh"][2] + table["shank"][2])
    points: list[MassPoint] = []

    def segment(name: str, first: tuple[str, np.ndarray], second: tuple[str, np.ndarray]) -> None:
        mass, com, _ = table[name]
        points.append(MassPoint(first[0], first[1], mass * (1.0 - com)))
        points.append(MassPoint(second[0], second[1], mass * com))

    def joint(name: str) -> tuple[str, np.ndarray]:
        return (name, zero)

    # Head and neck: vertex -> C7.
    neck, head = rest.pos("neck"), rest.pos("head")
    vertex_above_head = max(table["head"][2] * scale - np.linalg.norm(head - neck), 0.05)
    vertex = ("head", rest.local("head", head + np.array([0.0, vertex_above_head, 0.0])))
    segment("head", vertex, joint("neck"))
    # Trunk: suprasternale -> xiphoid -> omphalion -> mid-hip.
    suprasternale_w = 0.5 * (rest.pos("left_collar") + rest.pos("right_collar"))
    omphalion_w = rest.pos("spine2")
    upper, middle = table["upper_trunk"][2], table["middle_trunk"][2]
    xiphoid_w = suprasternale_w + upper / (upper + middle) * (omphalion_w - suprasternale_w)
    suprasternale = ("spine3", rest.local("spine3", suprasternale_w))
    xiphoid = ("spine3", rest.local("spine3", xiphoid_w))
    segment("upper_trunk", suprasternale, xiphoid)
    segment("middle_trunk", xiphoid, joint("spine2"))
    mass, com, _ = table["lower_trunk"]
    points.append(MassPoint("spine2", zero, mass * (1.0 - com)))
    points.append(MassPoint("left_hip", zero, 0.5 * mass * com))
    points.append(MassPoint("right_hip", zero, 0.5 * mass * com))
    for side in ("left", "right"):
        s = side
        segment("upper_arm", joint(f"{s}_shoulder"), joint(f"{s}_elbow"))
        segment("forearm", joint(f"{s}_elbow"), joint(f"{s}_wrist"))
        metacarpal = (f"{s}_wrist", rest.local(f"{s}_wrist", rest.pos(f"{s}_middle1")))
        segment("hand", joint(f"{s}_wrist"), metacarpal)
        segment("thigh", joint(f"{s}_hip"), joint(f"{s}_knee"))
        segment("shank", joint(f"{s}_knee"), joint(f"{s}_ankle"))
        feet = foot_points(skeleton, side)
        segment("foot", feet["heel"], feet["toe_tip"])
    total = sum(p.weight for p in points)
    return tuple(MassPoint(p.frame, p.local, p.weight / total) for p in points)


def _world_points(skeleton: Any, pose: Any, points) -> np.ndarray:
    R, p = skeleton.world_transforms(pose)
    return np.stack([p[skeleton.index(f)] + R[skeleton.index(f)] @ local for f, local in points])


def centre_of_mass(skeleton: Any, pose: Any, sex: str = "male") -> np.ndarray:
    """(3,) world position of the whole body's centre of mass in ``pose``, metres (float64).

    de Leva's (1996) segment masses on the SMPL-X skeleton (see this module's notes).
    """
    masses = mass_points(skeleton, sex)
    world = _world_points(skeleton, pose, [(m.frame, m.local) for m in masses])
    return np.array([m.weight for m in masses]) @ world


def support_points(skeleton: Any, pose: Any, support=FEET) -> np.ndarray:
    """(4 F, 2) ground-plane (x, z) corners of the supporting feet in ``pose``; their convex
    hull is the support polygon."""
    corners = [c for side in _check_support(support, "support_points") for c in _corners(skeleton, side)]
    return _world_points(skeleton, pose, corners)[:, [0, 2]]


def _corners(skeleton: Any, foot: str) -> list[tuple[str, np.ndarray]]:
    points = foot_points(skeleton, foot.split("_")[0])
    return [points[k] for k in ("heel_outer", "toe_outer", "toe_inner", "heel_inner")]


def _check_support(support: Any, kind: str) -> tuple[str, ...]:
    return distinct_names(support, f"{kind} support", ConstraintError, "foot", known=FEET, single_string=True)


class BalanceParameters(NamedTuple):
    """Balance's parameters: the segments' centres of mass (K, 3) in their joints' frames, their
    mass fractions (K,), the support polygon's corners (N, 3) in their joints' frames, and the
    margin (metres)."""

    mass_local: Any
    mass_fraction: Any
    corner_local: Any
    margin: Any


class Balance(Constraint):
    """The centre of mass, seen from above, stays inside the support polygon of the feet.

    Args:
        support: the feet that bear the weight: ``("left_foot", "right_foot")`` (the hull of
            both feet), or one of them (that foot's rectangle).
        margin: how far inside the polygon's edges the centre of mass must stay, metres.
        sex: which of de Leva's tables gives the segment masses, ``"male"`` or ``"female"``.
        weight, priority: as for every constraint (0 = highest priority).

    It does not put the feet on the ground: pair it with Position targets (or a Floor) for
    the feet. One residual row per candidate hull edge (28 for two feet, 6 for one):
    ``max(0, outside distance + margin + slack)`` for edges of the hull, 0 for the others
    (slack 1 mm). Error: how far, metres, the centre of mass lies outside the polygon shrunk
    by the margin.
    """

    bakes_rest_geometry = True

    tolerance_kind = "position"

    def __init__(self, support=FEET, margin: float = 0.0, sex: str = "male", weight: float = 1.0, priority: int = 0) -> None:
        self.support = _check_support(support, "Balance")
        self.margin = finite_number(margin, "Balance margin", ConstraintError, minimum=0.0, unit="metres",
                                    maximum=MAX_COORDINATE)
        self.sex = _check_sex(sex, "Balance")
        self.weight = check_weight(weight, "Balance")
        self.priority = check_priority(priority, "Balance")
        mass_frames = _mass_frame_names()
        support_frames = [f"{foot.split('_')[0]}_{part}" for foot in self.support for part in ("ankle", "foot")]
        self._frames = tuple(dict.fromkeys(mass_frames + support_frames))

    def joints(self) -> tuple[str, ...]:
        return self._frames

    def _points(self, skeleton: Any) -> tuple[tuple[MassPoint, ...], list[tuple[str, np.ndarray]]]:
        def compute():
            corners = [c for foot in self.support for c in _corners(skeleton, foot)]
            return mass_points(skeleton, self.sex), corners

        return cached_for(skeleton, ("Balance._points", self.support, self.sex), compute)

    def static(self, skeleton: Any) -> tuple:
        masses, corners = self._points(skeleton)
        mass_rows = tuple(self._frames.index(m.frame) for m in masses)
        corner_rows = tuple(self._frames.index(f) for f, _ in corners)
        return (mass_rows, corner_rows)

    def parameters(self, skeleton: Any) -> np.ndarray:
        masses, corners = self._points(skeleton)
        return pack(BalanceParameters(np.concatenate([m.local for m in masses]), [m.weight for m in masses],
                                      np.concatenate([c for _, c in corners]), [self.margin]))

    @staticmethod
    def residual(state: Any, slot: Any, params: Any, xp: Any):
        mass_index, corner_index = slot.static
        frames = np.asarray(slot.joint_rows, dtype=np.int64)
        mass_rows, corner_rows = frames[np.asarray(mass_index)], frames[np.asarray(corner_index)]
        K, N = len(mass_rows), len(corner_rows)
        p = unpack(BalanceParameters, params, {"mass_local": (K, 3), "mass_fraction": (K,), "corner_local": (N, 3),
                                               "margin": ()}, xp)
        mass_local, weights, corner_local, margin = p.mass_local, p.mass_fraction, p.corner_local, p.margin

        mass_world = attached_points(state, mass_rows, mass_local, xp)
        J_mass = point_jacobians(state, mass_rows, mass_world, xp)  # (K, 3, n)
        ground = np.array([0, 2])  # (x, z)
        com = (weights @ mass_world)[ground]  # (2,)
        J_com = xp.sum(weights[:, None, None] * J_mass, axis=0)[ground]  # (2, n)
        corners_world = attached_points(state, corner_rows, corner_local, xp)
        J_corners = point_jacobians(state, corner_rows, corners_world, xp)[:, ground, :]  # (N, 2, n)
        corners = corners_world[:, ground]  # (N, 2)

        # Every pair of corners is a candidate edge (static); "others" are the remaining corners.
        pairs = list(itertools.combinations(range(N), 2))
        first = np.array([i for i, _ in pairs])
        second = np.array([j for _, j in pairs])
        others = np.array([[k for k in range(N) if k not in (i, j)] for i, j in pairs])  # (E, N - 2)
        p_i, p_j = xp.take(corners, first, axis=0), xp.take(corners, second, axis=0)  # (E, 2)
        edge = p_j - p_i
        length = xp.sqrt(xp.sum(edge * edge, axis=-1))
        length_safe = xp.maximum(length, 1e-9)

        def cross(u, v):
            return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]

        # Signed distances of the other corners from each edge's line (left of the edge > 0).
        side = cross(edge[:, None, :], xp.take(corners, others, axis=0) - p_i[:, None, :]) / length_safe[:, None]
        all_left = xp.all(side >= -HULL_TOLERANCE, axis=1)
        all_right = xp.all(side <= HULL_TOLERANCE, axis=1)
        is_edge = (all_left | all_right) & (length > 1e-6)
        inward = xp.where(all_left, 1.0, -1.0)  # the polygon lies on this side of the edge

        w = com[None, :] - p_i
        f = cross(edge, w) / length_safe  # signed distance of the COM, left of the edge > 0
        outside = -inward * f
        r = xp.where(is_edge, xp.maximum(outside + margin + INEQUALITY_SLACK, 0.0), 0.0)

        # d f / d w = (-e_z, e_x) / L;  d f / d e = (w_z, -w_x) / L - f e / L^2.
        df_dw = xp.stack([-edge[:, 1], edge[:, 0]], axis=-1) / length_safe[:, None]
        df_de = (xp.stack([w[:, 1], -w[:, 0]], axis=-1) - f[:, None] * edge / length_safe[:, None]) / length_safe[:, None]
        J_i, J_j = xp.take(J_corners, first, axis=0), xp.take(J_corners, second, axis=0)  # (E, 2, n)
        J_f = (
            df_dw @ J_com
            + xp.sum((-df_dw - df_de)[:, :, None] * J_i, axis=1)
            + xp.sum(df_de[:, :, None] * J_j, axis=1)
        )
        J = xp.where((r > 0.0)[:, None], -inward[:, None] * J_f, 0.0)
        error = xp.maximum(xp.max(xp.where(is_edge, outside + margin, -xp.inf)), 0.0)
        return r, J, error

    def __repr__(self) -> str:
        return f"Balance(support={self.support}, margin={self.margin}, weight={self.weight}, priority={self.priority})"


def _mass_frame_names() -> list[str]:
    """Frames of ``mass_points`` (names only, no skeleton needed), in first-use order."""
    names = ["head", "neck", "spine3", "spine2", "left_hip", "right_hip"]
    for s in ("left", "right"):
        names += [f"{s}_shoulder", f"{s}_elbow", f"{s}_wrist", f"{s}_hip", f"{s}_knee", f"{s}_ankle", f"{s}_foot"]
    return list(dict.fromkeys(names))
