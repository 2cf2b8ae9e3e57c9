"""Shared fixtures: the default skeleton and small hand-made trees with known answers."""

from __future__ import annotations

import numpy as np
import pytest

import ik_engine as ik


@pytest.fixture(scope="session")
def smplx() -> ik.Skeleton:
    return ik.load_skeleton("smplx")


def planar_arm(l1: float = 0.3, l2: float = 0.25, elbow_range=(0.0, np.pi * 0.9)) -> ik.Skeleton:
    """A two-link arm in the XY plane: shoulder at the origin, links along +X at rest.

    Joints rotate about Z only (x and y components locked at 0); 'hand' is the tip.
    """
    names = ["shoulder", "elbow", "hand"]
    parents = [-1, 0, 1]
    offsets = [[0.0, 0.0, 0.0], [l1, 0.0, 0.0], [l2, 0.0, 0.0]]
    lower = [[0, 0, -np.pi], [0, 0, elbow_range[0]], [0, 0, 0]]
    upper = [[0, 0, np.pi], [0, 0, elbow_range[1]], [0, 0, 0]]
    return ik.Skeleton(names, parents, offsets, lower, upper, name="planar_arm")


@pytest.fixture
def arm2() -> ik.Skeleton:
    return planar_arm()


@pytest.fixture(scope="session", autouse=True)
def compile_cache_inside_the_repository():
    """Tests keep JAX's compile cache in .pytest_cache, not in the user's ~/.cache."""
    import os
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / ".pytest_cache" / "ik-engine-jax"
    os.environ.setdefault("IK_ENGINE_COMPILE_CACHE", str(folder))
    yield
