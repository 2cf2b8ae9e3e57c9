"""A body's proportions from joint positions: per-bone lengths, or SMPL-X shape coefficients.

Bones are measured between each given joint and its nearest given ancestor: the median over
frames of their distance (robust to noise and to a few bad frames).

* ``bone_scaled_skeleton``: the skeleton's rest offsets along each measured bone's chain
  scaled so that the chain spans the measured length (joints that no given joint measures,
  e.g. fingers, keep their rest offsets).
* ``fit_betas``: SMPL-X rest joints are linear in the shape coefficients,
  ``J(betas) = J0 + S betas``; the betas whose bones best match the measured lengths
  (Gauss-Newton on the lengths, each step a linear least-squares solve, with a small ridge
  that keeps unmeasured directions at the mean shape).
"""

from __future__ import annotations

import numpy as np

from .errors import SkeletonError
from .skeleton import Skeleton


def measured_bones(skeleton: Skeleton, names: list[str], positions: np.ndarray) -> list[tuple[int, int, float]]:
    """(joint, nearest given ancestor, median length in metres) for every given non-root joint.

    Args:
        names: the SMPL-X joint of each column of ``positions`` (T, K, 3).
    """
    column = {skeleton.index(n): k for k, n in enumerate(names)}
    bones = []
    for j, k in column.items():
        above = [a for a in reversed(skeleton.ancestors[j]) if a != j and a in column]
        if not above:
            continue
        a = above[0]
        length = float(np.median(np.linalg.norm(positions[:, k] - positions[:, column[a]], axis=-1)))
        bones.append((j, a, length))
    return bones


def _chain(skeleton: Skeleton, joint: int, ancestor: int) -> list[int]:
    """The joints strictly below ``ancestor`` down to ``joint`` (whose offsets make the bone)."""
    chain = []
    while joint != ancestor:
        chain.append(joint)
        joint = int(skeleton.parents[joint])
    return chain


def bone_scaled_skeleton(skeleton: Skeleton, bones: list[tuple[int, int, float]], name: str = "fitted") -> Skeleton:
    """``skeleton`` with each measured bone's chain of rest offsets scaled to its length."""
    rest = skeleton.rest_positions()
    offsets = skeleton.rest_offsets.copy()
    for j, a, length in bones:
        rest_length = np.linalg.norm(rest[j] - rest[a])
        if rest_length < 1e-6:
            continue  # a zero-length bone at rest: nothing to scale
        offsets[_chain(skeleton, j, a)] *= length / rest_length
    return skeleton.with_rest_offsets(offsets, name=name)


def fit_betas(rest_joints_of, num_betas: int, bones: list[tuple[int, int, float]], ridge: float = 1e-7,
              iterations: int = 20) -> np.ndarray:
    """The (num_betas,) shape coefficients whose rest bones best match the measured lengths.

    Args:
        rest_joints_of: betas (N,) -> rest joint positions (J, 3) (linear in betas).
        bones: from ``measured_bones``.
        ridge: weight of ``|betas|^2`` relative to the squared length errors (metres^2).
    """
    if not bones:
        raise SkeletonError("no bone is measured (give at least two joints, one an ancestor of the other)")
    J0 = np.asarray(rest_joints_of(np.zeros(num_betas)), dtype=np.float64)
    S = np.stack([np.asarray(rest_joints_of(np.eye(num_betas)[i]), dtype=np.float64) - J0 for i in range(num_betas)], axis=-1)
    child = np.array([j for j, _, _ in bones])
    parent = np.array([a for _, a, _ in bones])
    lengths = np.array([length for _, _, length in bones])
    vector0 = J0[child] - J0[parent]  # (M, 3)
    dvector = S[child] - S[parent]  # (M, 3, N)
    betas = np.zeros(num_betas)
    for _ in range(iterations):
        vector = vector0 + dvector @ betas
        norm = np.maximum(np.linalg.norm(vector, axis=-1), 1e-9)
        residual = norm - lengths
        jacobian = np.einsum("mk,mkn->mn", vector / norm[:, None], dvector)
        A = jacobian.T @ jacobian + ridge * np.eye(num_betas)
        step = np.linalg.solve(A, -(jacobian.T @ residual + ridge * betas))
        betas = betas + step
        if np.abs(step).max() < 1e-10:
            break
    return betas
