"""Fast repeated skinning of one mesh on one skeleton, for redrawing at every gizmo update.

``ik.skin`` recomputes the rest frames and gathers full 3x3 blocks per vertex and weight on
every call (about 2.7 ms for the shipped 13,524-vertex mesh on a 2-core machine). The viewer
skins the same mesh many times a second, so ``Skinner`` keeps the rest frames and the weights
as a dense (V, J) float32 matrix, and blends the joints' affine maps with one matrix product:
the same linear blend skinning (``v' = v + sum_k w_k ((A_k - I) v + b_k)``), in float32 (what
the browser is sent), about three times faster.
"""

from __future__ import annotations

import numpy as np

from ..mesh import Mesh
from ..pose import Pose
from ..skeleton import Skeleton


class Skinner:
    """Skins ``mesh`` on ``skeleton``: ``vertices(R_world, p_world)`` -> (V, 3) float64."""

    def __init__(self, skeleton: Skeleton, mesh: Mesh) -> None:
        mesh.check_skeleton(skeleton)
        self.mesh = mesh
        R_rest, p_rest = skeleton.world_transforms(skeleton.rest_pose())
        self._R_rest_T = np.swapaxes(R_rest, -1, -2)
        self._p_rest = p_rest
        V, J = mesh.num_vertices, skeleton.num_joints
        weights = np.zeros((V, J))
        np.add.at(weights, (np.repeat(np.arange(V), mesh.joint_indices.shape[1]), mesh.joint_indices.ravel()),
                  mesh.joint_weights.ravel())
        self._weights = weights.astype(np.float32)  # (V, J)
        self._rest = mesh.vertices.astype(np.float32)

    def vertices(self, R_world: np.ndarray, p_world: np.ndarray) -> np.ndarray:
        """(V, 3) float32 posed vertices, metres, from the world frames (J, 3, 3) and (J, 3) of a pose."""
        A = R_world @ self._R_rest_T
        b = p_world - np.einsum("jab,jb->ja", A, self._p_rest)
        A[:, [0, 1, 2], [0, 1, 2]] -= 1.0
        maps = np.concatenate([A.reshape(-1, 9), b], axis=1).astype(np.float32)  # (J, 12)
        blended = self._weights @ maps  # (V, 12): each vertex's blended (A - I) and b
        v = self._rest
        return v + np.einsum("vab,vb->va", blended[:, :9].reshape(-1, 3, 3), v) + blended[:, 9:]

    def posed(self, skeleton: Skeleton, pose: Pose) -> np.ndarray:
        """(V, 3) float32 vertices of ``pose``."""
        return self.vertices(*skeleton.world_transforms(pose))
