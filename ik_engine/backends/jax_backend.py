"""The JAX backend: ``jax.jit`` programs, ``jax.lax`` loops, ``jax.numpy`` arrays.

See ``ik_engine.backends.backend`` for what a backend provides.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import jax.scipy.linalg
import numpy as np

from . import jax_cpu_runtime
from .compile_cache import enable_jax_compile_cache


def cpu_compiler_options() -> dict:
    """XLA options for programs compiled for the CPU: the classic loop emitters instead of
    XLA's newer fusion emitters (``xla_cpu_use_fusion_emitters``).

    Measured on the 2-core VM, empty compile cache, alternating runs (docs/compilation.md):
    the 256-frame clip program of ``fit_joints`` (22 Positions, 54 variables) compiled in
    2.35-2.39 s instead of 3.89-4.31 s, and then solved the 994-frame clip as fast
    (2170-2314 against 2166-2215 frames/s); the first arm and full-body solves compiled in
    1.5-1.6 s instead of 2.2-2.4 s, with the same latency after (arm 0.71-0.72 ms median
    against 0.72-0.74 ms). The fusion emitters generate one kernel per fusion (about 440
    here), which LLVM then compiles. A user's own ``XLA_FLAGS`` setting of the option wins;
    other platforms (GPU) get no options.
    """
    if "xla_cpu_use_fusion_emitters" in os.environ.get("XLA_FLAGS", "") or jax.default_backend() != "cpu":
        return {}
    return {"xla_cpu_use_fusion_emitters": False}


class JaxBackend:
    name = "jax"
    xp = jnp

    @staticmethod
    def float_dtype() -> np.dtype:
        """float32, or float64 where the user turned on JAX's 64-bit mode."""
        return np.dtype(jax.dtypes.canonicalize_dtype(np.float64))

    @staticmethod
    def compile(function: Callable) -> Callable:
        jax_cpu_runtime.start()  # one intra-op thread, no asynchronous dispatch (see there)
        enable_jax_compile_cache()
        program = jax.jit(function, compiler_options=cpu_compiler_options() or None)

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
