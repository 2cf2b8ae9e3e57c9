"""Independent checks of a solved pose: target errors and the inequality constraints.

Target errors are float64 forward kinematics of the returned pose (not the solver's own
errors).

Distances are measured by dense sampling of the capsules' axes (not with the solver's
closed-form segment distances or its residuals); the centre of mass is tested against a
convex hull built here (Andrew's monotone chain).
"""

from __future__ import annotations

import numpy as np

import ik_engine as ik
from ik_engine.constraints.balance import support_points
from ik_engine.geometry import body_capsules, capsule_world_segments

SAMPLES = 400


def target_errors(skel: ik.Skeleton, constraints, pose: ik.Pose) -> list[float | None]:
    """Per constraint, by float64 FK of ``pose``: a ``Position``'s distance to its target
    (metres), an ``Orientation``'s angle to its target rotation (radians); None for the other
    kinds."""
    R, p = skel.world_transforms(pose)
    errors: list[float | None] = []
    for c in constraints:
        if isinstance(c, ik.Position):
            j = skel.index(c.joint)
            errors.append(float(np.linalg.norm(p[j] + R[j] @ c.offset - c.target)))
        elif isinstance(c, ik.Orientation):
            R_error = R[skel.index(c.joint)] @ c.target_rotation.T
            errors.append(float(np.arccos(np.clip((np.trace(R_error) - 1) / 2, -1, 1))))
        else:
            errors.append(None)
    return errors


def sampled_distance(a1: np.ndarray, b1: np.ndarray, a2: np.ndarray, b2: np.ndarray) -> float:
    """Distance between two segments by sampling both densely (error < length / SAMPLES)."""
    t = np.linspace(0.0, 1.0, SAMPLES)[:, None]
    s1 = a1 + t * (b1 - a1)
    s2 = a2 + t * (b2 - a2)
    best = np.inf
    for chunk in np.array_split(s1, 8):
        best = min(best, float(np.sqrt(((chunk[:, None, :] - s2[None, :, :]) ** 2).sum(-1)).min()))
    return best


def convex_hull_2d(points: np.ndarray) -> np.ndarray:
    """Counter-clockwise hull vertices (H, 2) of points (N, 2)."""
    pts = sorted(map(tuple, np.round(points, 12)))
    cross = lambda o, a, b: (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])  # noqa: E731
    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1])


def outside_polygon(point: np.ndarray, hull: np.ndarray) -> float:
    """Signed distance (m) of a 2-D point outside a convex CCW polygon (<= 0: inside)."""
    worst = -np.inf
    for a, b in zip(hull, np.roll(hull, -1, axis=0)):
        edge = b - a
        normal = np.array([edge[1], -edge[0]]) / np.linalg.norm(edge)  # outward for CCW
        worst = max(worst, float(normal @ (point - a)))
    return worst


def violations(skel: ik.Skeleton, pose: ik.Pose, self_pairs, obstacles, floor_joints, floor_clearance,
               self_margin: float, avoid_margin: float) -> dict[str, float]:
    """The worst violation (m, > 0 is a violation) of each inequality in ``pose``."""
    capsules = body_capsules(skel)
    index = {c.name: i for i, c in enumerate(capsules)}
    a, b, radius = capsule_world_segments(skel, pose, capsules)
    worst = {"self_collision": -np.inf, "obstacle": -np.inf}
    for n1, n2 in self_pairs:
        i, j = index[n1], index[n2]
        d = sampled_distance(a[i], b[i], a[j], b[j])
        worst["self_collision"] = max(worst["self_collision"], radius[i] + radius[j] + self_margin - d)
    for centre, r in obstacles:
        for i in range(len(capsules)):
            d = sampled_distance(a[i], b[i], centre, centre)
            worst["obstacle"] = max(worst["obstacle"], radius[i] + r + avoid_margin - d)
    p = skel.world_positions(pose)
    worst["floor"] = max(floor_clearance[j] - p[skel.index(j), 1] for j in floor_joints)
    com = ik.centre_of_mass(skel, pose)[[0, 2]]
    worst["balance"] = outside_polygon(com, convex_hull_2d(support_points(skel, pose)))
    return worst
