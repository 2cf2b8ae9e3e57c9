"""Tests of ik_engine/rotations.py against independent truths.

The references are scipy.spatial.transform.Rotation (quaternions there are (x, y, z, w); ours are
(w, x, y, z)), finite differences and closed forms. Most checks use xp=numpy in float64; a few
run the same functions through jax.numpy.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from ik_engine import rotations as rot


def _random_unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _test_vectors(rng: np.random.Generator) -> np.ndarray:
    """Axis-angle vectors covering ordinary, tiny, threshold-adjacent and near-pi angles."""
    axes = _random_unit(rng, 12)
    angles = np.array([1e-12, 1e-9, 1e-6, 9.9e-5, 1.01e-4, 1e-3, 0.5, 1.0, 2.0, 3.0, np.pi - 1e-6, np.pi])
    special = axes * angles[:, None]
    ordinary = rng.uniform(-1.8, 1.8, size=(200, 3))
    return np.concatenate([special, ordinary, np.zeros((1, 3))])


def _to_wxyz(q_xyzw: np.ndarray) -> np.ndarray:
    return np.concatenate([q_xyzw[..., 3:], q_xyzw[..., :3]], axis=-1)


def _to_xyzw(q_wxyz: np.ndarray) -> np.ndarray:
    return np.concatenate([q_wxyz[..., 1:], q_wxyz[..., :1]], axis=-1)


def _angle_between(R_a: np.ndarray, R_b: np.ndarray) -> np.ndarray:
    """Angle (radians) of the rotation R_a R_b^T, computed by scipy."""
    return Rotation.from_matrix(R_a @ np.swapaxes(R_b, -1, -2)).magnitude()


# ------------------------------------------------------------------ skew


def test_skew_is_the_cross_product_matrix():
    rng = np.random.default_rng(0)
    v, w = rng.normal(size=(2, 10, 3))
    K = rot.skew(v, np)
    np.testing.assert_allclose(np.einsum("nij,nj->ni", K, w), np.cross(v, w), atol=1e-14)
    np.testing.assert_array_equal(K, -np.swapaxes(K, -1, -2))


# ------------------------------------------------------------------ exp map


def test_axis_angle_to_matrix_matches_scipy():
    r = _test_vectors(np.random.default_rng(1))
    R = rot.axis_angle_to_matrix(r, np)
    np.testing.assert_allclose(R, Rotation.from_rotvec(r).as_matrix(), atol=1e-14)


def test_axis_angle_to_matrix_returns_rotations():
    r = _test_vectors(np.random.default_rng(2))
    R = rot.axis_angle_to_matrix(r, np)
    np.testing.assert_allclose(R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape), atol=1e-14)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-14)


def test_axis_angle_to_matrix_tiny_angle_is_first_order_exact():
    # exp([r]x) = I + [r]x + O(|r|^2): at 1e-9 the skew part must be reproduced, not rounded away.
    rng = np.random.default_rng(3)
    r = _random_unit(rng, 5) * 1e-9
    R = rot.axis_angle_to_matrix(r, np)
    np.testing.assert_allclose(R - np.eye(3), rot.skew(r, np), atol=1e-17, rtol=0)


def test_axis_angle_to_matrix_batch_shapes():
    rng = np.random.default_rng(4)
    r = rng.normal(size=(2, 3, 4, 3))
    R = rot.axis_angle_to_matrix(r, np)
    assert R.shape == (2, 3, 4, 3, 3)
    np.testing.assert_allclose(R.reshape(-1, 3, 3), Rotation.from_rotvec(r.reshape(-1, 3)).as_matrix(), atol=1e-14)


# ------------------------------------------------------------------ log map


def test_matrix_to_axis_angle_inverts_random_rotations():
    R = Rotation.random(300, random_state=5).as_matrix()
    r = rot.matrix_to_axis_angle(R, np)
    assert np.all(np.linalg.norm(r, axis=-1) <= np.pi + 1e-12)
    assert np.all(_angle_between(rot.axis_angle_to_matrix(r, np), R) < 1e-12)
    # Away from pi the logarithm is unique: it must equal scipy's.
    expected = Rotation.from_matrix(R).as_rotvec()
    away = np.linalg.norm(expected, axis=-1) < np.pi - 1e-3
    np.testing.assert_allclose(r[away], expected[away], atol=1e-12)


def test_matrix_to_axis_angle_round_trip_of_test_vectors():
    r = _test_vectors(np.random.default_rng(6))
    back = rot.matrix_to_axis_angle(Rotation.from_rotvec(r).as_matrix(), np)
    theta = np.linalg.norm(r, axis=-1)
    inside = theta < np.pi - 1e-3
    np.testing.assert_allclose(back[inside], r[inside], atol=1e-12, rtol=0)
    # At (or within 1e-6 of) pi, r and -r are (nearly) the same rotation: compare rotations.
    assert np.all(_angle_between(Rotation.from_rotvec(back).as_matrix(), Rotation.from_rotvec(r).as_matrix()) < 1e-9)


@pytest.mark.parametrize("axis", [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, -2, 3], [-1, -1, -1]])
def test_matrix_to_axis_angle_at_exactly_pi(axis):
    axis = np.asarray(axis, dtype=np.float64)
    axis /= np.linalg.norm(axis)
    R = Rotation.from_rotvec(np.pi * axis).as_matrix()
    r = rot.matrix_to_axis_angle(R, np)
    assert np.all(np.isfinite(r))
    np.testing.assert_allclose(np.linalg.norm(r), np.pi, atol=1e-7)
    # The sign of the axis is ambiguous at pi; the rotation is not.
    assert _angle_between(Rotation.from_rotvec(r).as_matrix(), R) < 1e-7
    np.testing.assert_allclose(np.abs(r @ axis), np.pi, atol=1e-7)


def test_matrix_to_axis_angle_identity_is_zero():
    r = rot.matrix_to_axis_angle(np.eye(3), np)
    np.testing.assert_array_equal(r, np.zeros(3))
    r = rot.matrix_to_axis_angle(np.broadcast_to(np.eye(3), (4, 3, 3)), np)
    np.testing.assert_array_equal(r, np.zeros((4, 3)))


# ------------------------------------------------------------------ quaternions


def test_matrix_to_quaternion_matches_scipy():
    R = np.concatenate([Rotation.random(300, random_state=7).as_matrix(), Rotation.from_rotvec(_test_vectors(np.random.default_rng(8))).as_matrix()])
    q = rot.matrix_to_quaternion(R, np)
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0, atol=1e-14)
    assert np.all(q[:, 0] >= 0)
    expected = _to_wxyz(Rotation.from_matrix(R).as_quat())
    # q and -q are the same rotation; at w = 0 both signs satisfy w >= 0.
    sign = np.where(np.sum(q * expected, axis=-1) < 0, -1.0, 1.0)
    np.testing.assert_allclose(q, sign[:, None] * expected, atol=1e-12)


def test_quaternion_to_matrix_matches_scipy_and_normalises():
    rng = np.random.default_rng(9)
    q = rng.normal(size=(200, 4)) * rng.uniform(0.1, 5.0, size=(200, 1))  # not unit length
    R = rot.quaternion_to_matrix(q, np)
    np.testing.assert_allclose(R, Rotation.from_quat(_to_xyzw(q)).as_matrix(), atol=1e-14)


def test_quaternion_to_axis_angle_matches_scipy():
    rng = np.random.default_rng(10)
    q = rng.normal(size=(200, 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    r = rot.quaternion_to_axis_angle(q, np)
    np.testing.assert_allclose(r, Rotation.from_quat(_to_xyzw(q)).as_rotvec(), atol=1e-12)
    # Both signs of a quaternion give the same axis-angle (angle in [0, pi]).
    np.testing.assert_allclose(rot.quaternion_to_axis_angle(-q, np), r, atol=1e-12)


def test_quaternion_round_trips():
    r = _test_vectors(np.random.default_rng(11))
    q_scipy = _to_wxyz(Rotation.from_rotvec(r).as_quat())
    # quaternion -> axis-angle -> scipy quaternion
    r_ours = rot.quaternion_to_axis_angle(q_scipy, np)
    assert np.all(_angle_between(Rotation.from_rotvec(r_ours).as_matrix(), Rotation.from_rotvec(r).as_matrix()) < 1e-9)
    # quaternion -> matrix -> quaternion
    q_back = rot.matrix_to_quaternion(rot.quaternion_to_matrix(q_scipy, np), np)
    dots = np.abs(np.sum(q_back * q_scipy, axis=-1))
    np.testing.assert_allclose(dots, 1.0, atol=1e-12)
    # Tiny rotations: the axis-angle must keep its direction and size, not just be ~0.
    tiny = _random_unit(np.random.default_rng(12), 5) * 1e-9
    q_tiny = _to_wxyz(Rotation.from_rotvec(tiny).as_quat())
    np.testing.assert_allclose(rot.quaternion_to_axis_angle(q_tiny, np), tiny, rtol=1e-9, atol=0)


# ------------------------------------------------------------------ Jacobians of the exp map


def _left_jacobian_fd(r: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Column k: the vector of (R(r + h e_k) R(r)^T - I) / h (central), the world angular velocity."""
    R0T = Rotation.from_rotvec(r).as_matrix().T
    J = np.zeros((3, 3))
    for k in range(3):
        e = np.zeros(3)
        e[k] = h
        D = (Rotation.from_rotvec(r + e).as_matrix() - Rotation.from_rotvec(r - e).as_matrix()) @ R0T / (2 * h)
        J[:, k] = [D[2, 1], D[0, 2], D[1, 0]]
        # D must be skew-symmetric (it is [omega]x to first order).
        np.testing.assert_allclose(D, -D.T, atol=1e-8)
    return J


def test_left_jacobian_matches_finite_differences():
    r = _test_vectors(np.random.default_rng(13))
    r = r[np.linalg.norm(r, axis=-1) < np.pi - 1e-3]  # keep r +- h on the same branch
    J = rot.left_jacobian(r, np)
    for k in range(len(r)):
        np.testing.assert_allclose(J[k], _left_jacobian_fd(r[k]), atol=1e-8, err_msg=f"r = {r[k]}")


def test_left_jacobian_forward_difference_definition():
    # The brief's form: (R(r + h e_k) R(r)^T - I) / h ~= skew(J_l(r)[:, k]), one-sided.
    rng = np.random.default_rng(14)
    h = 1e-7
    for r in rng.uniform(-1.0, 1.0, size=(10, 3)):
        J = rot.left_jacobian(r, np)
        R0T = Rotation.from_rotvec(r).as_matrix().T
        for k in range(3):
            step = np.zeros(3)
            step[k] = h
            D = (Rotation.from_rotvec(r + step).as_matrix() @ R0T - np.eye(3)) / h
            np.testing.assert_allclose(D, rot.skew(J[:, k], np), atol=1e-6)


def test_left_jacobian_at_zero_is_identity():
    np.testing.assert_allclose(rot.left_jacobian(np.zeros(3), np), np.eye(3), atol=0)


def test_left_jacobian_times_r_is_r():
    # J_l(r) r = r (a rotation about its own axis), a closed-form identity.
    r = _test_vectors(np.random.default_rng(15))
    np.testing.assert_allclose(np.einsum("nij,nj->ni", rot.left_jacobian(r, np), r), r, atol=1e-13)


def test_inverse_left_jacobian_inverts_left_jacobian():
    rng = np.random.default_rng(16)
    r = np.concatenate([_test_vectors(rng), _random_unit(rng, 5) * np.array([[1e-7], [5e-4], [1e-3], [5.0], [6.0]])])
    product = rot.inverse_left_jacobian(r, np) @ rot.left_jacobian(r, np)
    np.testing.assert_allclose(product, np.broadcast_to(np.eye(3), product.shape), atol=1e-9)


def test_inverse_left_jacobian_maps_angular_velocity_to_log_rate():
    # d log(exp(w dt) R) / dt at dt = 0 equals J_l(e)^{-1} w, with e = log R; by finite differences.
    rng = np.random.default_rng(17)
    h = 1e-6
    for e in rng.uniform(-1.5, 1.5, size=(10, 3)):
        R = Rotation.from_rotvec(e)
        w = rng.normal(size=3)
        fd = (
            (Rotation.from_rotvec(w * h) * R).as_rotvec() - (Rotation.from_rotvec(-w * h) * R).as_rotvec()
        ) / (2 * h)
        np.testing.assert_allclose(rot.inverse_left_jacobian(e, np) @ w, fd, atol=1e-7)


# ------------------------------------------------------------------ jax.numpy


def test_jax_functions_agree_with_scipy():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    rng = np.random.default_rng(18)
    r = rng.uniform(-1.5, 1.5, size=(50, 3)).astype(np.float32)
    R = np.asarray(jax.jit(lambda x: rot.axis_angle_to_matrix(x, jnp))(jnp.asarray(r)))
    np.testing.assert_allclose(R, Rotation.from_rotvec(r.astype(np.float64)).as_matrix(), atol=2e-6)
    R_true = Rotation.random(50, random_state=19).as_matrix().astype(np.float32)
    back = np.asarray(jax.jit(lambda x: rot.matrix_to_axis_angle(x, jnp))(jnp.asarray(R_true)))
    assert np.all(_angle_between(Rotation.from_rotvec(back.astype(np.float64)).as_matrix(), R_true.astype(np.float64)) < 1e-5)


def test_jax_gradient_of_exp_map_is_finite_and_correct_at_zero():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    # d exp([r]x) / dr_k at r = 0 is skew(e_k).
    jac = jax.jacfwd(lambda x: rot.axis_angle_to_matrix(x, jnp))(jnp.zeros(3))
    jac = np.asarray(jac)  # (3, 3, 3): [i, j, k]
    assert np.all(np.isfinite(jac))
    for k in range(3):
        np.testing.assert_allclose(jac[:, :, k], rot.skew(np.eye(3)[k], np), atol=1e-7)
    # Reverse mode too (what jax.grad uses), for a scalar function of the matrix.
    weights = jnp.asarray(np.random.default_rng(20).normal(size=(3, 3)), dtype=jnp.float32)
    grad = np.asarray(jax.grad(lambda x: jnp.sum(weights * rot.axis_angle_to_matrix(x, jnp)))(jnp.zeros(3)))
    assert np.all(np.isfinite(grad))
    expected = [np.sum(np.asarray(weights) * rot.skew(np.eye(3)[k], np)) for k in range(3)]
    np.testing.assert_allclose(grad, expected, atol=1e-6)


def test_jax_gradients_of_other_maps_are_finite_at_zero():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    zero = jnp.zeros(3)
    for f in (rot.left_jacobian, rot.inverse_left_jacobian):
        g = jax.grad(lambda x: jnp.sum(f(x, jnp) ** 2))(zero)
        assert np.all(np.isfinite(np.asarray(g))), f.__name__
    g = jax.grad(lambda R: jnp.sum(rot.matrix_to_axis_angle(R, jnp)))(jnp.eye(3))
    assert np.all(np.isfinite(np.asarray(g)))


def test_jax_float32_left_jacobian_is_accurate_at_small_angles():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    axis = np.array([0.6, -0.8, 0.0])
    for t in (2e-4, 1e-3, 3e-3):
        r = axis * t
        J32 = np.asarray(rot.left_jacobian(jnp.asarray(r, dtype=jnp.float32), jnp))
        np.testing.assert_allclose(J32, rot.left_jacobian(r, np), atol=1e-6, err_msg=f"|r| = {t}")


def test_numpy_quaternions_of_axis_angles_and_their_products_match_scipy():
    """``axis_angle_to_quaternion``, ``quaternion_product`` and ``quaternion_conjugate`` (the
    swing-twist conversions' and the Blender add-on's): against scipy, zero, tiny, ordinary and
    near-pi angles, batched and broadcast."""
    rng = np.random.default_rng(21)
    directions = rng.normal(size=(8, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    r = directions * np.array([0.0, 1e-9, 1e-7, 1e-5, 0.3, 1.5, np.pi - 1e-6, np.pi])[:, None]
    q = rot.axis_angle_to_quaternion(r)
    x, y, z, w = Rotation.from_rotvec(r).as_quat().T
    expected = np.stack([w, x, y, z], axis=-1)
    up_to_sign = np.minimum(np.abs(q - expected).max(axis=1), np.abs(q + expected).max(axis=1))  # q and -q: one rotation
    np.testing.assert_array_less(up_to_sign, 1e-15)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-15)
    other = Rotation.random(8, random_state=22)
    x, y, z, w = other.as_quat().T
    p = np.stack([w, x, y, z], axis=-1)
    for left, right, scipy_rotation in ((p, q, other * Rotation.from_rotvec(r)), (p[0], q, other[0] * Rotation.from_rotvec(r))):
        product = rot.quaternion_product(left, right)
        np.testing.assert_allclose(Rotation.from_quat(np.roll(product, -1, axis=-1)).as_matrix(), scipy_rotation.as_matrix(), atol=1e-12)
    inverse = rot.quaternion_product(rot.quaternion_conjugate(p), p)
    np.testing.assert_allclose(inverse, np.tile([1.0, 0.0, 0.0, 0.0], (8, 1)), atol=1e-15)


def test_canonical_axis_angle_keeps_the_rotation_and_brings_the_angle_within_pi():
    """Against scipy: the same rotation matrix, an angle within pi, and vectors already within
    pi untouched; angles up to 40 pi, at exactly pi and at multiples of 2 pi."""
    from ik_engine.rotations import canonical_axis_angle

    rng = np.random.default_rng(11)
    axes = rng.normal(size=(400, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angles = np.concatenate([rng.uniform(0.0, 40.0 * np.pi, 394), [np.pi, 2 * np.pi, 4 * np.pi, 3 * np.pi, 0.5, 1e-9]])
    r = (axes * angles[:, None]).reshape(20, 20, 3)
    out = canonical_axis_angle(r)
    assert out.shape == r.shape
    assert np.linalg.norm(out, axis=-1).max() <= np.pi + 1e-9
    np.testing.assert_allclose(Rotation.from_rotvec(out.reshape(-1, 3)).as_matrix(),
                               Rotation.from_rotvec(r.reshape(-1, 3)).as_matrix(), atol=1e-9)
    within = np.linalg.norm(r, axis=-1) <= np.pi
    np.testing.assert_array_equal(out[within], r[within])
    np.testing.assert_array_equal(canonical_axis_angle(r[within]), r[within])
