"""The JAX backend: ``jax.jit`` programs, ``jax.lax`` loops, ``jax.numpy`` arrays.

See ``ik_engine.backends.backend`` for what a backend provides.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import jax.scipy.linalg
import numpy as np

from .compile_cache import enable_jax_compile_cache


class JaxBackend:
    name = "jax"
    xp = jnp

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

        run.release = program.clear_cache  # frees the compiled code (``programs.StructurePrograms.release``)
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
