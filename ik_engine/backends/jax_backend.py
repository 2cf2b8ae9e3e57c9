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
    """XLA options for programs compiled for the CPU (other platforms, GPU, get none); a user's
    own ``XLA_FLAGS`` setting of either option wins.

    * The classic loop emitters instead of XLA's newer fusion emitters
      (``xla_cpu_use_fusion_emitters``). Measured on the 2-core VM, empty compile cache,
      alternating runs (docs/compilation.md): the 256-frame clip program of ``fit_joints`` (22
      Positions, 54 variables) compiled in 2.35-2.39 s instead of 3.89-4.31 s, and then solved
      the 994-frame clip as fast (2170-2314 against 2166-2215 frames/s); the first arm and
      full-body solves compiled in 1.5-1.6 s instead of 2.2-2.4 s, with the same latency after
      (arm 0.71-0.72 ms median against 0.72-0.74 ms). The fusion emitters generate one kernel
      per fusion (about 440 here), which LLVM then compiles.
    * Matrix products compiled with the rest of the program instead of each handed to YNNPACK
      (``xla_cpu_experimental_ynn_fusion_type`` set to no type; XLA's default hands every
      single product to the library, ``individual_dot``): our products are of a few
      dozen rows, where a library call's set-up outweighs its speed. Measured the same way
      (2026-12-03, two rounds, the compiled programs alone, 800 calls): a full-body cold solve
      (8 iterations) 506-513 us against 447-469 us without, an arm 40-45 against 38 us; a
      ``solve_batch`` of 256 full-body problems 3.12-3.22 s against 2.42-2.50 s, a 300-frame
      ``solve_clip`` 838-857 ms against 699-729 ms; compile times the same.
    """
    if jax.default_backend() != "cpu":
        return {}
    flags = os.environ.get("XLA_FLAGS", "")
    options: dict = {}
    if "xla_cpu_use_fusion_emitters" not in flags:
        options["xla_cpu_use_fusion_emitters"] = False
    if "xla_cpu_experimental_ynn_fusion_type" not in flags:
        options["xla_cpu_experimental_ynn_fusion_type"] = ""
    return options


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
        # The budget and the seed as JAX arrays, made once per value: handing numpy scalars to
        # the program converts them on every call (an arm solve's program call, median of
        # 3,000: 46.6 us with numpy scalars, 40.8 us with these; 2026-12-03).
        scalars: dict[tuple[int, int], tuple] = {}

        def run(inputs: np.ndarray, max_iterations: int, seed: int) -> np.ndarray:
            # Packed inputs come as float64; float32 unless the user turned on 64-bit mode.
            inputs = np.asarray(inputs, dtype=dtype)
            key = (max_iterations, seed)
            arguments = scalars.get(key)
            if arguments is None:
                arguments = (jnp.asarray(np.int32(max_iterations)), jnp.asarray(np.uint32(seed)))
                if len(scalars) < 64:  # a caller changing them every call keeps converting
                    scalars[key] = arguments
            return np.asarray(program(inputs, *arguments))

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
