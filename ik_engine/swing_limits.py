"""The swing-twist joints of a problem's moving joints: their swing ellipses on the variables.

``SwingLimits`` holds, per twist axis, the static indices that bring the swing of every moving
swing-twist joint inside its ellipse in one vectorised step (``joint_coordinates.project_swing``,
Blender's radial clamp), on a variable vector q (..., n) already inside its box; and which
variables are swing coordinates, whose box is always within [-pi, pi]. A problem without
swing-twist joints has no groups, and ``project`` returns q itself (nothing is traced).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .joint_coordinates import SWING_TWIST_KINDS, project_swing, swing_axes, twist_axis
from .skeleton import Skeleton


class SwingLimits:
    """Args: skeleton; moving: the moving joints (skeleton indices, variable order);
    num_variables: n, the length of q (3 per moving joint, then the root translation)."""

    def __init__(self, skeleton: Skeleton, moving: Sequence[int], num_variables: int) -> None:
        moving = [int(j) for j in moving]
        # (n,) True for the swing coordinates (c_b, c_d) of moving swing-twist joints.
        self.swing_variables = np.zeros(num_variables, dtype=bool)
        # Per kind: (t, variable indices (k, 3), lower and upper (k, 3), elliptic (k,), variable
        # mask (n,) and gather (n,) into the flattened (k * 3,) coordinates).
        self.groups = []
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
            self.groups.append((t, indices, lower, upper, skeleton.elliptic_swing[joints], mask, gather))

    def bounds(self, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The box (k,) of the first k variables with the swing coordinates (``2 asin`` of a
        quaternion component, never beyond +-pi) kept within [-pi, pi] even where the limits
        span a full turn."""
        swing = self.swing_variables[: len(lower)]
        return np.where(swing, np.maximum(lower, -np.pi), lower), np.where(swing, np.minimum(upper, np.pi), upper)

    def project(self, q: Any, xp: Any) -> Any:
        """q (..., n), inside its box, with every swing brought inside its ellipse along the ray
        from its centre; q itself when no moving joint uses swing-twist coordinates."""
        for t, indices, lower, upper, elliptic, mask, gather in self.groups:
            c = xp.take(q, indices, axis=-1)  # (..., k, 3)
            c = project_swing(c, t, xp.asarray(lower, q.dtype), xp.asarray(upper, q.dtype), elliptic, xp)
            flat = xp.reshape(c, q.shape[:-1] + (indices.size,))
            q = xp.where(mask, xp.take(flat, gather, axis=-1), q)
        return q
