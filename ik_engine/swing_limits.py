"""The swing-twist joints of a problem's moving joints: their swing ellipses and reach tables on
the variables.

``SwingLimits`` holds, per twist axis, the static indices that bring the swing of every moving
swing-twist joint inside its ellipse or reach table in one vectorised step (``joint_coordinates.project_swing``,
Blender's radial clamp), on a variable vector q (..., n) already inside its box; and which
variables are swing coordinates, whose box is always within [-pi, pi]. A problem without
swing-twist joints has no groups, and ``project`` returns q itself (nothing is traced).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .joint_coordinates import MAX_SWING, SWING_TWIST_KINDS, project_swing, swing_axes, twist_axis
from .numpy_namespace import is_numpy
from .skeleton import Skeleton


class SwingLimits:
    """Args: skeleton; moving: the moving joints (skeleton indices, variable order);
    num_variables: n, the length of q (3 per moving joint, then the root translation)."""

    def __init__(self, skeleton: Skeleton, moving: Sequence[int], num_variables: int) -> None:
        moving = [int(j) for j in moving]
        # (n,) True for the swing coordinates (c_b, c_d) of moving swing-twist joints.
        self.swing_variables = np.zeros(num_variables, dtype=bool)
        # Per kind: (t, variable indices (k, 3), lower and upper (k, 3), elliptic (k,), reach
        # tables (k, R) or None, variable mask (n,) and gather (n,) into the flattened (k * 3,)
        # coordinates).
        self.groups = []
        self._rows: list[tuple] = []
        for kind in SWING_TWIST_KINDS:
            positions = [m for m, j in enumerate(moving) if skeleton.coordinates[j] == kind]
            if not positions:
                continue
            t = twist_axis(kind)
            joints = [moving[m] for m in positions]
            indices = 3 * np.array(positions)[:, None] + np.arange(3)  # (k, 3)
            self.swing_variables[indices[:, list(swing_axes(t))].reshape(-1)] = True
            mask = np.zeros(num_variables, dtype=bool)
            mask[indices.reshape(-1)] = True
            gather = np.zeros(num_variables, dtype=np.int64)
            gather[indices.reshape(-1)] = np.arange(indices.size)
            lower = np.maximum(skeleton.lower[joints], -np.pi)
            upper = np.minimum(skeleton.upper[joints], np.pi)
            reach = None if skeleton.swing_reach is None else skeleton.swing_reach[joints]
            self.groups.append((t, indices, lower, upper, skeleton.elliptic_swing[joints], reach, mask, gather))
            # The same, per joint, as Python numbers for ``_project_one``: the two swing
            # variables, the ellipse's semi-axes (+b, -b, +d, -d) or None, the reach table or None.
            b, d = swing_axes(t)
            for i, j in enumerate(joints):
                semi_axes = None
                if skeleton.elliptic_swing[j]:
                    semi_axes = (math.sin(0.5 * min(upper[i, b], math.pi)), -math.sin(0.5 * max(lower[i, b], -math.pi)),
                                 math.sin(0.5 * min(upper[i, d], math.pi)), -math.sin(0.5 * max(lower[i, d], -math.pi)))
                self._rows.append((int(indices[i, b]), int(indices[i, d]), semi_axes,
                                   None if reach is None else reach[i].tolist()))

    def bounds(self, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The box (k,) of the first k variables with the swing coordinates (``2 asin`` of a
        quaternion component, never beyond +-pi) kept within [-pi, pi] even where the limits
        span a full turn."""
        swing = self.swing_variables[: len(lower)]
        return np.where(swing, np.maximum(lower, -np.pi), lower), np.where(swing, np.minimum(upper, np.pi), upper)

    def _project_one(self, q: np.ndarray) -> np.ndarray:
        """``project`` of one variable vector q (n,) in numpy with Python floats: every solve
        projects its start and its result, and the vectorised code took 75-90 us a call on a
        few joints against about 10 us here (timeit, 2026-12-03); the same arithmetic as
        ``joint_coordinates.swing_scale`` (tests/test_swing_reach.py compares them)."""
        values = None
        rho_max = math.sin(0.5 * MAX_SWING)
        for i_b, i_d, semi_axes, reach in self._rows:
            s_b, s_d = math.sin(0.5 * float(q[i_b])), math.sin(0.5 * float(q[i_d]))
            k = 1.0
            if semi_axes is not None:  # the ellipse: per quadrant, the sines of the half limits
                a_b = semi_axes[0] if s_b >= 0 else semi_axes[1]
                a_d = semi_axes[2] if s_d >= 0 else semi_axes[3]
                level = s_b * s_b / max(a_b * a_b, 1e-12) + s_d * s_d / max(a_d * a_d, 1e-12)
                k = 1.0 / math.sqrt(max(level, 1e-12)) if level > 1.0 else 1.0
            rho = rho_max
            if reach is not None:  # linear between the table's two nearest directions
                count = len(reach)
                u = (math.atan2(s_d, s_b) % (2.0 * math.pi)) * count / (2.0 * math.pi)
                k0 = int(u) % count
                f = u - math.floor(u)
                rho = min(math.sin(0.5 * ((1.0 - f) * reach[k0] + f * reach[(k0 + 1) % count])), rho)
            radius_sq = s_b * s_b + s_d * s_d
            if radius_sq > rho * rho:
                k = min(k, rho / math.sqrt(max(radius_sq, 1e-12)))
            if k < 1.0:
                values = np.array(q, dtype=np.float64) if values is None else values
                values[i_b], values[i_d] = 2.0 * math.asin(k * s_b), 2.0 * math.asin(k * s_d)
        return q if values is None else values

    def project(self, q: Any, xp: Any) -> Any:
        """q (..., n), inside its box, with every swing brought inside its ellipse or reach table
        along the ray from its centre; q itself when no moving joint uses swing-twist coordinates."""
        if is_numpy(xp) and np.ndim(q) == 1 and self.groups:
            return self._project_one(q)
        for t, indices, lower, upper, elliptic, reach, mask, gather in self.groups:
            c = xp.take(q, indices, axis=-1)  # (..., k, 3)
            reach = None if reach is None else xp.asarray(reach, q.dtype)
            c = project_swing(c, t, xp.asarray(lower, q.dtype), xp.asarray(upper, q.dtype), elliptic, xp, reach)
            flat = xp.reshape(c, q.shape[:-1] + (indices.size,))
            q = xp.where(mask, xp.take(flat, gather, axis=-1), q)
        return q
