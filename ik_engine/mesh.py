"""A skinned body mesh and linear blend skinning (numpy only).

The shipped mesh (``skeletons/data/smplx_default_mesh.npz``, written by
``scripts/derive_default_mesh.py`` from the CC0 MakeHuman base mesh) is in the rest pose of the
default SMPL-X skeleton: a T-pose, SMPL-X axes (+Y up, +Z forward, +X the character's left),
metres.  Each vertex follows at most four joints.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from importlib import resources

import numpy as np

from .errors import PoseError, SkeletonError, SkeletonFileError
from .pose import Pose
from .skeleton import Skeleton

MESH_FILE = "smplx_default_mesh.npz"


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class Mesh:
    """A triangle mesh in a skeleton's rest pose, with sparse skinning weights.

    Args:
        vertices: (V, 3) rest-pose positions, metres.
        faces: (F, 3) vertex indices of each triangle, counter-clockwise seen from outside.
        joint_indices: (V, K) joints each vertex follows (K = 4 in the shipped mesh).
        joint_weights: (V, K) their weights, >= 0; each row is normalised to sum 1 here.
        joint_names: optional names of the skeleton joints the indices refer to; when given,
            :func:`skin` checks that the skeleton has the same joints.
    """

    vertices: np.ndarray
    faces: np.ndarray
    joint_indices: np.ndarray
    joint_weights: np.ndarray
    joint_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        def array(value, dtype, what):
            try:
                return np.array(value, dtype=dtype)
            except (TypeError, ValueError) as exc:
                raise SkeletonError(f"mesh {what}: {exc}") from None

        v = array(self.vertices, np.float64, "vertices")
        if v.ndim != 2 or v.shape[1] != 3 or len(v) == 0:
            raise SkeletonError(f"mesh vertices must have shape (V, 3), got {v.shape}")
        if not np.isfinite(v).all():
            raise SkeletonError(f"mesh vertex {int(np.argwhere(~np.isfinite(v))[0][0])} is not finite")
        f = array(self.faces, np.int64, "faces")
        if f.ndim != 2 or f.shape[1] != 3:
            raise SkeletonError(f"mesh faces must have shape (F, 3), got {f.shape}")
        if f.size and (f.min() < 0 or f.max() >= len(v)):
            raise SkeletonError(f"mesh faces index vertices outside 0..{len(v) - 1} (found {f.min()}..{f.max()})")
        idx = array(self.joint_indices, np.int64, "joint_indices")
        w = array(self.joint_weights, np.float64, "joint_weights")
        if idx.ndim != 2 or idx.shape[0] != len(v) or w.shape != idx.shape:
            raise SkeletonError(
                f"mesh joint_indices and joint_weights must both have shape (V={len(v)}, K); "
                f"got {idx.shape} and {w.shape}"
            )
        if idx.min() < 0:
            raise SkeletonError(f"mesh joint_indices must be >= 0, found {idx.min()}")
        if not np.isfinite(w).all() or (w < 0).any():
            raise SkeletonError("mesh joint_weights must be finite and >= 0")
        total = w.sum(axis=1, keepdims=True)
        if (total <= 0).any():
            raise SkeletonError(f"mesh vertex {int(np.argmin(total))} has no skinning weight")
        names = None if self.joint_names is None else tuple(str(n) for n in self.joint_names)
        object.__setattr__(self, "vertices", _readonly(v))
        object.__setattr__(self, "faces", _readonly(f))
        object.__setattr__(self, "joint_indices", _readonly(idx))
        object.__setattr__(self, "joint_weights", _readonly(w / total))
        object.__setattr__(self, "joint_names", names)

    @property
    def num_vertices(self) -> int:
        return len(self.vertices)

    @property
    def num_faces(self) -> int:
        return len(self.faces)

    def check_skeleton(self, skeleton: Skeleton) -> None:
        """Raise SkeletonError unless the mesh's joint indices fit ``skeleton``."""
        J = skeleton.num_joints
        if self.joint_names is not None and len(self.joint_names) != J:
            raise SkeletonError(
                f"the mesh was built for a skeleton of {len(self.joint_names)} joints; "
                f"skeleton {skeleton.name!r} has {J}"
            )
        if self.joint_names is not None and tuple(skeleton.joint_names) != self.joint_names:
            k = next(i for i, (a, b) in enumerate(zip(self.joint_names, skeleton.joint_names)) if a != b)
            raise SkeletonError(
                f"mesh joint {k} is {self.joint_names[k]!r} but skeleton {skeleton.name!r} calls it "
                f"{skeleton.joint_names[k]!r}"
            )
        top = int(self.joint_indices.max())
        if top >= J:
            raise SkeletonError(f"the mesh refers to joint index {top}; skeleton {skeleton.name!r} has only {J} joints")

    def __repr__(self) -> str:
        return f"Mesh({self.num_vertices} vertices, {self.num_faces} triangles, {self.joint_indices.shape[1]} weights per vertex)"


@functools.lru_cache(maxsize=1)
def load_default_mesh() -> Mesh:
    """The body mesh of the default SMPL-X skeleton (``load_skeleton("smplx")``), in its T-pose."""
    try:
        blob = resources.files("ik_engine.skeletons").joinpath("data", MESH_FILE).read_bytes()
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise SkeletonFileError(f"cannot read the shipped mesh file {MESH_FILE!r}: {exc}") from None
    missing = {"vertices", "faces", "joint_indices", "joint_weights"} - set(arrays)
    if missing:
        raise SkeletonFileError(f"{MESH_FILE} lacks the arrays {sorted(missing)}")
    names = arrays.get("joint_names")
    return Mesh(
        arrays["vertices"], arrays["faces"], arrays["joint_indices"], arrays["joint_weights"],
        None if names is None else tuple(names.tolist()),
    )


def skinning_transforms(skeleton: Skeleton, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """(A (J, 3, 3), b (J, 3)): each joint's rest-to-posed map ``x -> A @ x + b``, world frame.

    ``A = R_world_joint @ R_world_joint_rest^T`` and ``b = p_world_joint - A @ p_world_joint_rest``
    (for SMPL-X the rest frames are aligned with the world, so A is the posed world rotation).
    """
    R_rest, p_rest = skeleton.world_transforms(skeleton.rest_pose())
    R, p = skeleton.world_transforms(pose)
    A = R @ np.swapaxes(R_rest, -1, -2)
    b = p - np.einsum("jab,jb->ja", A, p_rest)
    return A, b


def skin(mesh: Mesh, skeleton: Skeleton, pose: Pose) -> np.ndarray:
    """Linear blend skinning: the mesh's vertices in ``pose``, (V, 3) float64, metres.

    ``v' = sum_k w_k (R_world_k @ (v - p_rest_k) + p_world_k)`` over each vertex's joints k,
    written as ``v + sum_k w_k ((A_k - I) v + b_k)`` so that the rest pose gives the rest
    vertices exactly.
    """
    if not isinstance(mesh, Mesh):
        raise SkeletonError(f"expected an ik_engine Mesh, got {type(mesh).__name__}")
    mesh.check_skeleton(skeleton)
    if not isinstance(pose, Pose):
        raise PoseError(f"expected an ik_engine.Pose, got {type(pose).__name__}")
    A, b = skinning_transforms(skeleton, pose)
    D = A - np.eye(3)
    w = mesh.joint_weights
    idx = mesh.joint_indices
    # Blend the affine maps per vertex first: (V, 3, 3) and (V, 3).
    D_v = np.einsum("vk,vkab->vab", w, D[idx])
    b_v = np.einsum("vk,vka->va", w, b[idx])
    v = mesh.vertices
    return v + np.einsum("vab,vb->va", D_v, v) + b_v
