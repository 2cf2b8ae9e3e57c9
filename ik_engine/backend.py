"""Array namespaces and compilation of each backend.

The kinematics and residual math is written once against a numpy-like namespace ``xp``
(``numpy``, ``jax.numpy``; TensorFlow's numpy later). A backend adds only what differs:
how a function is compiled, how a loop runs and how a small linear system is solved.

Nothing here runs at import time: JAX is imported on first use so that
``import ik_engine`` stays light and sets no global flags.
"""

from __future__ import annotations

import functools
from types import ModuleType

import numpy as np

BACKENDS = ("jax",)


@functools.lru_cache(maxsize=None)
def jax_numpy() -> ModuleType:
    """The ``jax.numpy`` namespace, imported lazily."""
    import jax.numpy as jnp

    return jnp


def numpy_namespace() -> ModuleType:
    """The plain numpy namespace (float64 reference evaluation, no compilation)."""
    return np


def check_backend(name: str) -> str:
    """Return ``name`` if it is a known backend, else raise a clear error."""
    from .errors import SolverError

    if name not in BACKENDS:
        raise SolverError(f"unknown backend {name!r}; available backends: {', '.join(BACKENDS)}")
    return name
