"""Tests of ik_engine/kinematics.py (and Skeleton.world_transforms, which calls it).

The reference is the plain float64 per-joint loop of tests/reference.py, with rotations from
scipy.spatial.transform.Rotation; the 55-joint tree is read straight from
skeletons/data/smplx_default.json (joint limits do not matter to forward kinematics).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import ik_engine
from ik_engine.kinematics import TreeLevels, forward_kinematics, joint_world_positions, local_rotations
from reference import reference_fk

DATA_FILE = Path(__file__).resolve().parent.parent / "skeletons" / "data" / "smplx_default.json"


def _smplx_tree() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(names, parents, offsets, rest positions) of the shipped 55-joint skeleton."""
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    parents = np.array(data["parents"], dtype=np.int64)
    positions = np.array(data["rest_positions"], dtype=np.float64)
    offsets = positions.copy()
    offsets[1:] -= positions[parents[1:]]
    return data["joint_names"], parents, offsets, positions


@pytest.fixture(scope="module")
def smplx_tree():
    names, parents, offsets, positions = _smplx_tree()
    return ik_engine.Skeleton(names, parents, offsets), positions


def _random_poses(rng, n, J):
    rotations = rng.uniform(-1.0, 1.0, size=(n, J, 3))
    translations = rng.uniform(-2.0, 2.0, size=(n, 3))
    return rotations, translations


# ------------------------------------------------------------------ TreeLevels


def test_tree_levels_on_hand_made_tree():
    #        0
    #      /   \
    #     1     3
    #     |    / \
    #     2   4   5
    #     |       |
    #     6       7
    parents = [-1, 0, 1, 0, 3, 3, 2, 5]
    levels = TreeLevels.from_parents(parents)
    depth = [0, 1, 2, 1, 2, 2, 3, 3]
    assert len(levels.levels) == 4
    for d, (joints, level_parents) in enumerate(levels.levels):
        assert sorted(joints.tolist()) == [j for j in range(8) if depth[j] == d]
        assert level_parents.tolist() == [parents[j] for j in joints]
    assert sorted(levels.order.tolist()) == list(range(8))
    # inverse_order gathers level-concatenated rows back into joint order.
    np.testing.assert_array_equal(levels.order[levels.inverse_order], np.arange(8))
    # Every joint appears after its parent in the level order.
    position = {int(j): i for i, j in enumerate(levels.order)}
    assert all(position[p] < position[j] for j, p in enumerate(parents) if p >= 0)


def test_tree_levels_single_joint_and_chain():
    single = TreeLevels.from_parents([-1])
    assert len(single.levels) == 1
    np.testing.assert_array_equal(single.order, [0])
    chain = TreeLevels.from_parents([-1, 0, 1, 2])
    assert [j.tolist() for j, _ in chain.levels] == [[0], [1], [2], [3]]
    assert [p.tolist() for _, p in chain.levels] == [[-1], [0], [1], [2]]


def test_tree_levels_of_smplx_match_depths(smplx_tree):
    skel, _ = smplx_tree
    depth = np.array([len(chain) - 1 for chain in skel.ancestors])
    for d, (joints, _) in enumerate(skel.levels.levels):
        np.testing.assert_array_equal(joints, np.flatnonzero(depth == d))


def test_forward_kinematics_on_hand_made_tree():
    parents = np.array([-1, 0, 1, 0, 3, 3, 2, 5])
    rng = np.random.default_rng(0)
    offsets = rng.normal(size=(8, 3))
    rotations, translations = _random_poses(rng, 5, 8)
    levels = TreeLevels.from_parents(parents)
    for r, t in zip(rotations, translations):
        R, p = forward_kinematics(levels, offsets, local_rotations(r, None, np), offsets[0] + t, np)
        R_ref, p_ref = reference_fk(parents, offsets, r, t)
        np.testing.assert_allclose(R, R_ref, atol=1e-12)
        np.testing.assert_allclose(p, p_ref, atol=1e-12)


# ------------------------------------------------------------------ Skeleton.world_transforms (numpy, float64)


def test_rest_pose_reproduces_rest_positions(smplx_tree):
    skel, positions = smplx_tree
    np.testing.assert_allclose(skel.rest_positions(), positions, atol=1e-12)
    np.testing.assert_allclose(skel.world_rotations(skel.rest_pose()), np.broadcast_to(np.eye(3), (55, 3, 3)), atol=0)


def test_world_transforms_match_reference_on_random_poses(smplx_tree):
    skel, _ = smplx_tree
    rng = np.random.default_rng(1)
    rotations, translations = _random_poses(rng, 50, skel.num_joints)
    for r, t in zip(rotations, translations):
        R, p = skel.world_transforms(ik_engine.Pose(r, t))
        R_ref, p_ref = reference_fk(skel.parents, skel.rest_offsets, r, t)
        assert R.dtype == np.float64 and p.dtype == np.float64
        np.testing.assert_allclose(R, R_ref, atol=1e-12)
        np.testing.assert_allclose(p, p_ref, atol=1e-12)


def test_world_transforms_preserve_bone_lengths(smplx_tree):
    # A closed-form invariant: rigid bones keep their length in every pose.
    skel, _ = smplx_tree
    rng = np.random.default_rng(2)
    rotations, translations = _random_poses(rng, 5, skel.num_joints)
    lengths = np.linalg.norm(skel.rest_offsets[1:], axis=-1)
    for r, t in zip(rotations, translations):
        p = skel.world_positions(ik_engine.Pose(r, t))
        np.testing.assert_allclose(np.linalg.norm(p[1:] - p[skel.parents[1:]], axis=-1), lengths, atol=1e-12)


def test_translation_moves_every_joint(smplx_tree):
    skel, _ = smplx_tree
    rng = np.random.default_rng(3)
    r = rng.uniform(-1, 1, size=(skel.num_joints, 3))
    t = np.array([0.3, -1.2, 2.5])
    p0 = skel.world_positions(ik_engine.Pose(r))
    p1 = skel.world_positions(ik_engine.Pose(r, t))
    np.testing.assert_allclose(p1 - p0, np.broadcast_to(t, p0.shape), atol=1e-12)


def test_rest_rotations_match_reference():
    names, parents, offsets, _ = _smplx_tree()
    rng = np.random.default_rng(4)
    rest = Rotation.random(len(names), random_state=5).as_matrix()
    skel = ik_engine.Skeleton(names, parents, offsets, rest_rotations=rest)
    rotations, translations = _random_poses(rng, 10, len(names))
    for r, t in zip(rotations, translations):
        R, p = skel.world_transforms(ik_engine.Pose(r, t))
        R_ref, p_ref = reference_fk(parents, offsets, r, t, rest_rotations=rest)
        np.testing.assert_allclose(R, R_ref, atol=1e-12)
        np.testing.assert_allclose(p, p_ref, atol=1e-12)
    # At the zero pose, each world rotation is the product of the rest rotations down the chain.
    R0 = skel.world_rotations(skel.rest_pose())
    for j, chain in enumerate(skel.ancestors):
        expected = np.eye(3)
        for a in chain:
            expected = expected @ rest[a]
        np.testing.assert_allclose(R0[j], expected, atol=1e-12)


@pytest.mark.parametrize("with_rest_rotations", [False, True])
def test_joint_world_positions_of_a_few_joints_match_reference(with_rest_rotations):
    """The ancestors-only forward kinematics (LookAt's and PoleVector's checks of the initial
    pose) against the reference, for any joints in any order, repeats included."""
    names, parents, offsets, _ = _smplx_tree()
    rest = Rotation.random(len(names), random_state=8).as_matrix() if with_rest_rotations else None
    skel = ik_engine.Skeleton(names, parents, offsets, rest_rotations=rest)
    rng = np.random.default_rng(9)
    rotations, translations = _random_poses(rng, 10, len(names))
    for r, t in zip(rotations, translations):
        joints = [int(j) for j in rng.choice(len(names), size=int(rng.integers(1, 6)))]
        _, p_ref = reference_fk(parents, offsets, r, t, rest_rotations=rest)
        np.testing.assert_allclose(joint_world_positions(skel, ik_engine.Pose(r, t), joints), p_ref[joints], atol=1e-12)


def test_local_rotations_with_rest_rotations():
    rng = np.random.default_rng(6)
    r = rng.uniform(-1, 1, size=(2, 7, 3))
    rest = Rotation.random(7, random_state=7).as_matrix()
    R = local_rotations(r, rest, np)
    expected = rest[None] @ Rotation.from_rotvec(r.reshape(-1, 3)).as_matrix().reshape(2, 7, 3, 3)
    np.testing.assert_allclose(R, expected, atol=1e-14)
    np.testing.assert_allclose(local_rotations(r, None, np), Rotation.from_rotvec(r.reshape(-1, 3)).as_matrix().reshape(2, 7, 3, 3), atol=1e-14)


# ------------------------------------------------------------------ batching (numpy)


def test_batched_forward_kinematics_equals_per_sample(smplx_tree):
    skel, _ = smplx_tree
    rng = np.random.default_rng(8)
    B = 6
    rotations, translations = _random_poses(rng, B, skel.num_joints)
    root = skel.rest_offsets[0] + translations
    R_b, p_b = forward_kinematics(skel.levels, skel.rest_offsets, local_rotations(rotations, None, np), root, np)
    assert R_b.shape == (B, 55, 3, 3) and p_b.shape == (B, 55, 3)
    for b in range(B):
        R, p = forward_kinematics(skel.levels, skel.rest_offsets, local_rotations(rotations[b], None, np), root[b], np)
        np.testing.assert_allclose(R_b[b], R, atol=1e-14)
        np.testing.assert_allclose(p_b[b], p, atol=1e-14)
    # Two batch axes.
    R_2, p_2 = forward_kinematics(
        skel.levels, skel.rest_offsets, local_rotations(rotations.reshape(2, 3, 55, 3), None, np), root.reshape(2, 3, 3), np
    )
    np.testing.assert_allclose(R_2.reshape(B, 55, 3, 3), R_b, atol=1e-14)
    np.testing.assert_allclose(p_2.reshape(B, 55, 3), p_b, atol=1e-14)


# ------------------------------------------------------------------ JAX, float32


@pytest.fixture(scope="module")
def jax_fk(smplx_tree):
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    skel, _ = smplx_tree
    offsets = jnp.asarray(skel.rest_offsets, dtype=jnp.float32)

    @jax.jit
    def fk(r, root):
        return forward_kinematics(skel.levels, offsets, local_rotations(r, None, jnp), root, jnp)

    return fk, jnp


def test_jax_forward_kinematics_matches_reference(smplx_tree, jax_fk):
    fk, jnp = jax_fk
    skel, _ = smplx_tree
    rng = np.random.default_rng(9)
    rotations, translations = _random_poses(rng, 50, skel.num_joints)
    root = skel.rest_offsets[0] + translations
    # One batched call (B, J, 3) and one per-sample call: both against the float64 reference.
    R_b, p_b = fk(jnp.asarray(rotations, jnp.float32), jnp.asarray(root, jnp.float32))
    assert R_b.dtype == jnp.float32 and p_b.shape == (50, 55, 3)
    R_b, p_b = np.asarray(R_b), np.asarray(p_b)
    for b in range(50):
        # The reference sees exactly the float32 inputs, so only the arithmetic differs.
        r32 = rotations[b].astype(np.float32).astype(np.float64)
        root32 = root[b].astype(np.float32).astype(np.float64)
        offsets32 = skel.rest_offsets.astype(np.float32).astype(np.float64)
        R_ref, p_ref = reference_fk(skel.parents, offsets32, r32, root32 - offsets32[0])
        np.testing.assert_allclose(p_b[b], p_ref, atol=1e-6, rtol=0, err_msg=f"pose {b}")
        np.testing.assert_allclose(R_b[b], R_ref, atol=5e-6, rtol=0, err_msg=f"pose {b}")
    for b in range(3):
        R, p = fk(jnp.asarray(rotations[b], jnp.float32), jnp.asarray(root[b], jnp.float32))
        np.testing.assert_allclose(np.asarray(p), p_b[b], atol=1e-6)
        np.testing.assert_allclose(np.asarray(R), R_b[b], atol=1e-6)


def test_jax_forward_kinematics_derivative_matches_finite_differences(smplx_tree, jax_fk):
    # jax.jacfwd of the left wrist position w.r.t. the pose vs central differences of the float64 reference.
    import jax

    fk, jnp = jax_fk
    skel, _ = smplx_tree
    wrist = skel.index("left_wrist")
    rng = np.random.default_rng(10)
    r = rng.uniform(-1, 1, size=(skel.num_joints, 3))
    root = skel.rest_offsets[0]
    jac = np.asarray(
        jax.jacfwd(lambda x: fk(x, jnp.asarray(root, jnp.float32))[1][wrist])(jnp.asarray(r, jnp.float32))
    )  # (3, J, 3)
    h = 1e-6
    for j in skel.ancestors[wrist]:
        for k in range(3):
            rp, rm = r.copy(), r.copy()
            rp[j, k] += h
            rm[j, k] -= h
            fd = (reference_fk(skel.parents, skel.rest_offsets, rp, 0 * root)[1][wrist]
                  - reference_fk(skel.parents, skel.rest_offsets, rm, 0 * root)[1][wrist]) / (2 * h)
            np.testing.assert_allclose(jac[:, j, k], fd, atol=2e-5)
    # Joints outside the wrist's chain do not move it.
    others = [j for j in range(skel.num_joints) if j not in skel.ancestors[wrist]]
    np.testing.assert_array_equal(jac[:, others, :], 0.0)
