"""A synthetic SMPL-X model file: random but well-formed arrays in the layout smplx 0.1.28 reads.

No licensed model file is shipped or downloaded: tests and benchmarks that need smplx's own
forward pass (body shapes, the SMPLify-style baseline) write this one to a temporary folder.
"""

from __future__ import annotations

import numpy as np

from ik_engine import load_skeleton

V, F, J, L = 10475, 20908, 55, 51


def synthetic_model(seed: int = 0, components: int = 20) -> dict[str, np.ndarray]:
    """Arrays of a well-formed SMPL-X model file (the layout smplx 0.1.28 reads).

    Each vertex belongs to one joint and lies near that joint's position in the default
    skeleton; J_regressor averages each joint's vertices, so the rest joints are plausible.
    Shape blend shapes move each joint's vertices coherently (so betas move the joints);
    pose blend shapes are sparse (they do not move joints, and compress well).
    """
    rng = np.random.default_rng(seed)
    default = load_skeleton("smplx")
    rest = default.rest_positions()
    owner = rng.integers(0, J, V)
    owner[:J] = np.arange(J)
    v_template = rest[owner] + rng.normal(0.0, 0.01, (V, 3))
    J_regressor = np.zeros((J, V))
    J_regressor[owner, np.arange(V)] = rng.uniform(0.5, 1.0, V)
    J_regressor /= J_regressor.sum(axis=1, keepdims=True)
    weights = rng.uniform(0.0, 1.0, (V, J)) ** 8
    weights[np.arange(V), owner] += 1.0
    weights /= weights.sum(axis=1, keepdims=True)
    kintree_table = np.stack([default.parents, np.arange(J)]).astype(np.int64)
    kintree_table[0, 0] = 4294967295  # as in real files (uint32 -1); smplx reads it as -1
    shapedirs = np.zeros((V, 3, components))
    used = list(range(min(components, 20))) if components < 400 else list(range(16)) + list(range(300, 310))
    shapedirs[:, :, used] = rng.normal(0.0, 0.01, (J, 3, len(used)))[owner] + rng.normal(0.0, 0.001, (V, 3, len(used)))
    posedirs = np.zeros((V, 3, 486))
    posedirs[:300] = rng.normal(0.0, 0.001, (300, 3, 486))
    hands = {f"hands_components{s}": rng.normal(0.0, 0.2, (45, 45)) for s in "lr"}
    hands |= {f"hands_mean{s}": rng.normal(0.0, 0.2, 45) for s in "lr"}
    arrays = dict(
        v_template=v_template, f=rng.integers(0, V, (F, 3)), J_regressor=J_regressor,
        kintree_table=kintree_table, weights=weights, shapedirs=shapedirs, posedirs=posedirs,
        lmk_faces_idx=rng.integers(0, F, L), lmk_bary_coords=rng.dirichlet(np.ones(3), L), **hands,
    )
    small = {k: (a.astype(np.int32) if k in ("f", "lmk_faces_idx") else a.astype(np.float32))
             for k, a in arrays.items() if k != "kintree_table"}
    return small | {"kintree_table": kintree_table}



def write_synthetic_model(path, seed: int = 0, components: int = 20) -> str:
    """Write ``synthetic_model(seed, components)`` as a compressed .npz at ``path``."""
    np.savez_compressed(path, **synthetic_model(seed, components))
    return str(path)
