"""Fast repeated skinning of one mesh on one skeleton, for redrawing at every gizmo update.

``ik.skin`` recomputes the rest frames and blends full 3x3 blocks per vertex and weight in
float64 on every call (about 2.7 ms for the shipped 13,524-vertex mesh on a 2-core machine).
The viewer skins the same mesh many times a second, so ``Skinner`` keeps the rest frames and
the per-weight joint indices, and blends each joint's affine map (12 numbers) with K gathers
in float32 (what the browser is sent): the same linear blend skinning,
``v' = v + sum_k w_k ((A_k - I) v + b_k)``. It avoids BLAS on purpose: a matrix product wakes
OpenBLAS's threads, which on a loaded 2-core machine costs 10 ms instead of 0.6. Only the
vertices weighted to a joint whose map changed since the previous call are computed again (an
arm moving re-skins the arm and hand, about a tenth of the mesh); the others are copied.
"""

from __future__ import annotations

import numpy as np

from ..mesh import Mesh
from ..pose import Pose
from ..skeleton import Skeleton


class Skinner:
    """Skins ``mesh`` on ``skeleton``: ``vertices(R_world, p_world)`` -> (V, 3) float32."""

    def __init__(self, skeleton: Skeleton, mesh: Mesh) -> None:
        mesh.check_skeleton(skeleton)
        self.mesh = mesh
        R_rest, p_rest = skeleton.world_transforms(skeleton.rest_pose())
        self._R_rest_T = np.swapaxes(R_rest, -1, -2)
        self._p_rest = p_rest
        K = mesh.joint_indices.shape[1]
        self._indices = [np.ascontiguousarray(mesh.joint_indices[:, k]) for k in range(K)]  # K x (V,)
        self._weights = [np.ascontiguousarray(mesh.joint_weights[:, k:k + 1], dtype=np.float32) for k in range(K)]
        self._rest = mesh.vertices.astype(np.float32)
        self._joint_indices = mesh.joint_indices
        self._last_maps: np.ndarray | None = None
        self._last: np.ndarray | None = None

    def vertices(self, R_world: np.ndarray, p_world: np.ndarray) -> np.ndarray:
        """(V, 3) float32 posed vertices, metres, from the world frames (J, 3, 3) and (J, 3) of a pose."""
        A = R_world @ self._R_rest_T  # (J, 3, 3): rest-to-posed rotation of each joint
        b = p_world - np.einsum("jab,jb->ja", A, self._p_rest)
        A[:, [0, 1, 2], [0, 1, 2]] -= 1.0
        maps = np.concatenate([A.reshape(-1, 9), b], axis=1).astype(np.float32)  # (J, 12)
        if self._last is None:
            out = self._blend(maps, slice(None))
        else:
            out = self._last.copy()  # a new array: viser may still hold (and later send) the previous one
            changed = np.any(maps != self._last_maps, axis=1)  # (J,) joints whose map moved
            if changed.any():
                rows = np.flatnonzero(changed[self._joint_indices].any(axis=1))
                out[rows] = self._blend(maps, rows)
        self._last_maps, self._last = maps, out
        return out

    def _blend(self, maps: np.ndarray, rows) -> np.ndarray:
        """(R, 3) skinned vertices ``rows`` (indices or a slice) for the joint maps (J, 12)."""
        blended = self._weights[0][rows] * maps[self._indices[0][rows]]  # (R, 12): blended (A - I) and b
        for w, j in zip(self._weights[1:], self._indices[1:]):
            blended += w[rows] * maps[j[rows]]
        v = self._rest[rows]
        return v + np.einsum("vab,vb->va", blended[:, :9].reshape(-1, 3, 3), v) + blended[:, 9:]

    def posed(self, skeleton: Skeleton, pose: Pose) -> np.ndarray:
        """(V, 3) float32 vertices of ``pose``."""
        return self.vertices(*skeleton.world_transforms(pose))
