"""Array namespaces and compilation of each backend.

The kinematics, residual and solver math is written once against a numpy-like namespace
``xp`` (``numpy``, ``jax.numpy``, or ``ik_engine.backends.tensorflow_namespace``). A backend adds only
what differs: how a program is compiled, how a loop, a branch and a scan run, how a batch of
problems is mapped, and how a small symmetric positive definite system is solved. Each
backend is a ``Backend`` (``ik_engine.backends.jax_backend``, ``ik_engine.backends.tensorflow_backend``):

* ``name``, ``xp``: the backend's name and array namespace;
* ``float_dtype()``: the numpy float type of the packed inputs;
* ``compile(function)``: ``function(inputs, max_iterations, seed)`` of xp arrays (inputs (w,)
  or (B, w) float, max_iterations int32 (), seed uint32 ()) compiled into a callable of numpy
  arrays returning a numpy array. The compiled program is traced once per input shape;
* ``while_loop(cond, body, state)``, ``cond(pred, true_fn, false_fn, operand)``,
  ``scan(step, carry, xs)`` with ``jax.lax``'s meaning;
* ``map_problems(function)``: ``function(inputs (w,), max_iterations, seed)`` applied to
  each row of inputs (B, w);
* ``cholesky_solve(A, b)``: x with A x = b, A (k, k) symmetric positive definite, b (k,).

Nothing here runs at import time: JAX and TensorFlow are imported on first use so that
``import ik_engine`` stays light and sets no global flags.
"""

from __future__ import annotations

from typing import Any

BACKENDS = ("jax", "tensorflow")

INSTALL_HINTS = {
    "tensorflow": "pip install \"tensorflow-cpu>=2.21,<2.22\" (ik-engine's extra 'tensorflow')",
    "jax": "pip install jax (a dependency of ik-engine: reinstall it, see the README's Install)",
}


def check_backend(name: str) -> str:
    """Return ``name`` if it is a known backend, else raise a clear error."""
    from ..errors import SolverError

    if name not in BACKENDS:
        raise SolverError(f"unknown backend {name!r}; available backends: {', '.join(BACKENDS)}")
    return name


_loaded: dict[str, Any] = {}


def load_backend(name: str) -> Any:
    """The Backend object of ``name`` (imports its library on first use).

    Raises SolverError, saying how to install it, when the library is missing.
    """
    from ..errors import SolverError

    check_backend(name)
    backend = _loaded.get(name)
    if backend is not None:
        return backend
    try:
        if name == "jax":
            from .jax_backend import JaxBackend as backend_type
        else:
            from .tensorflow_backend import TensorFlowBackend as backend_type
    except ImportError as exc:
        raise SolverError(
            f"backend={name!r} needs {'TensorFlow' if name == 'tensorflow' else 'JAX'}, which is not installed "
            f"({exc}); install it with: {INSTALL_HINTS[name]}"
        ) from exc
    backend = _loaded[name] = backend_type()
    return backend
