"""Counter-based uniform draws written once against an array namespace ``xp``.

The restarts of the Levenberg-Marquardt solver start from random in-limit poses. They are
drawn here with 32-bit integer operations only, so that JAX and TensorFlow, given the same
seed and the same problem, draw exactly the same numbers and follow the same path through
their restarts.

The generator is Threefry-2x32 with 20 rounds (Salmon, Moraes, Dror, Shaw 2011, "Parallel
random numbers: as easy as 1, 2, 3", the Random123 family): a keyed bijection of pairs of
32-bit counters. The draws are laid out as JAX lays out its default ("threefry2x32",
partitionable) generator, so on the JAX backend they are the numbers
``jax.random.uniform(jax.random.fold_in(jax.random.PRNGKey(seed), data), shape)`` gave before
this module existed (tests/test_tensorflow_backend.py checks it): a key is the counter pair
(0, seed); folding in ``data`` hashes the counter pair (0, data) under it; the draw of flat
index i hashes the counter pair (0, i) and keeps the xor of the two words, whose top 23 bits
become the mantissa of a float in [1, 2), minus 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Threefry-2x32's rotation distances for its two alternating groups of four rounds, and the
# key schedule's parity constant (Random123).
ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
KEY_PARITY = np.uint32(0x1BD11BDA)
ONE_BITS = np.uint32(0x3F800000)  # the bits of float32 1.0


def _rotate_left(x: Any, distance: int) -> Any:
    return (x << np.uint32(distance)) | (x >> np.uint32(32 - distance))


def threefry_2x32(key: tuple[Any, Any], x0: Any, x1: Any) -> tuple[Any, Any]:
    """Threefry-2x32-20 of the counter pairs (x0, x1) (uint32 arrays of one shape) under the
    key pair (uint32 scalars): 5 groups of 4 rounds, the key injected after each group."""
    k0, k1 = key
    schedule = (k0, k1, k0 ^ k1 ^ KEY_PARITY)
    x0 = x0 + schedule[0]
    x1 = x1 + schedule[1]
    for group in range(5):
        for distance in ROTATIONS[group % 2]:
            x0 = x0 + x1
            x1 = _rotate_left(x1, distance)
            x1 = x1 ^ x0
        x0 = x0 + schedule[(group + 1) % 3]
        x1 = x1 + schedule[(group + 2) % 3] + np.uint32(group + 1)
    return x0, x1


def draw_key(seed: Any, data: Any, xp: Any) -> tuple[Any, Any]:
    """The key pair of the draws of ``seed`` (uint32 ()) and ``data`` (uint32 ())."""
    zero = xp.zeros((), xp.uint32)
    return threefry_2x32((zero, xp.asarray(seed, xp.uint32)), zero, xp.asarray(data, xp.uint32))


def uniform_run(key: tuple[Any, Any], first: Any, count: int, dtype: Any, xp: Any) -> Any:
    """(count,) floats in [0, 1): the draws of flat indices first .. first + count - 1 under
    ``key`` (``first`` a uint32 scalar, may be traced; ``count`` static)."""
    counters = xp.asarray(first, xp.uint32) + xp.asarray(np.arange(count, dtype=np.uint32))
    high, low = threefry_2x32(key, xp.zeros((count,), xp.uint32), counters)
    mantissa = (high ^ low) >> np.uint32(9)
    floats = (mantissa | ONE_BITS).view(xp.float32) - np.float32(1.0)
    return floats.astype(dtype)


def uniform_draws(seed: Any, data: Any, shape: tuple[int, ...], dtype: Any, xp: Any) -> Any:
    """Floats in [0, 1) of ``shape``, a function of the uint32 scalars ``seed`` and ``data``
    (float32 precision: 23 random mantissa bits, also for float64); row-major, so row k of a
    (rows, n) draw is ``uniform_run(key, k * n, n)``."""
    count = int(np.prod(shape))
    return xp.reshape(uniform_run(draw_key(seed, data, xp), 0, count, dtype, xp), shape)


def fingerprint(arrays: list[Any], xp: Any) -> Any:
    """A uint32 () from the data of a problem, so that problems differ in their restarts:
    the bits of the float32 sum of the arrays' sums."""
    total = xp.sum(arrays[0])
    for a in arrays[1:]:
        total = total + xp.sum(a)
    return total.astype(xp.float32).view(xp.uint32)
