"""The JAX backend: ``jax.jit`` programs, ``jax.lax`` loops, ``jax.numpy`` arrays.

See ``ik_engine.backend`` for what a backend provides.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import jax.scipy.linalg
import numpy as np

from .backend import enable_jax_compile_cache

ASYNC_DISPATCH_VARIABLE = "JAX_CPU_ENABLE_ASYNC_DISPATCH"


def use_synchronous_cpu_dispatch() -> None:
    """Run compiled programs in the caller's thread rather than JAX's CPU worker thread.

    With asynchronous dispatch (JAX's default) each call hands the program to a worker
    thread and waits for it: a thread wake-up and a hand-over per solve, about twice the
    program's own time for an arm solve (0.08 against 0.10-0.24 ms back to back, 0.12-0.36
    against 0.16-0.40 ms with 2 ms of numpy work between calls; four alternating runs,
    benchmarks/realtime.py). Our programs are small and their results are needed at once,
    so nothing is gained by the overlap. Set when JAX is first loaded for a solve; it takes
    effect only if JAX's CPU backend is not running yet (JAX reads it when it starts the
    backend). A user's own ``JAX_CPU_ENABLE_ASYNC_DISPATCH`` setting is left alone.
    """
    if os.environ.get(ASYNC_DISPATCH_VARIABLE) is None:
        jax.config.update("jax_cpu_enable_async_dispatch", False)



class JaxBackend:
    name = "jax"
    xp = jnp

    def __init__(self) -> None:
        use_synchronous_cpu_dispatch()  # made once per process, by ik_engine.backend.load_backend

    @staticmethod
    def float_dtype() -> np.dtype:
        """float32, or float64 where the user turned on JAX's 64-bit mode."""
        return np.dtype(jax.dtypes.canonicalize_dtype(np.float64))

    @staticmethod
    def compile(function: Callable) -> Callable:
        enable_jax_compile_cache()
        program = jax.jit(function)

        dtype = JaxBackend.float_dtype()

        def run(inputs: np.ndarray, max_iterations: int, seed: int) -> np.ndarray:
            # Packed inputs come as float64; float32 unless the user turned on 64-bit mode.
            inputs = np.asarray(inputs, dtype=dtype)
            return np.asarray(program(inputs, np.int32(max_iterations), np.uint32(seed)))

        return run

    while_loop = staticmethod(jax.lax.while_loop)
    cond = staticmethod(jax.lax.cond)
    scan = staticmethod(jax.lax.scan)

    @staticmethod
    def map_problems(function: Callable) -> Callable:
        return jax.vmap(function, in_axes=(0, None, None))

    @staticmethod
    def cholesky_solve(A: Any, b: Any) -> Any:
        return jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(A, lower=True), b)
