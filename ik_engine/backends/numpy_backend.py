"""The numpy backend: the solver's math run as ordinary Python and numpy, with no compilation.

It is the interpreter of the solver: the same kinematics, constraints and Levenberg-Marquardt
code as the compiled backends (all written against an array namespace ``xp``), run op by op
in float64. A new constraint structure answers at once instead of waiting seconds for XLA;
``IKSolver`` uses it while a compiled program for the structure is built in the background
(``ik_engine.program_cache``), and for structures solved too rarely to be worth compiling.

Measured on the 2-core VM (``ik-engine bench --scenario structure_changes``,
benchmarks/realtime.py): an iteration costs 1-3 ms here against 0.1-0.3 ms compiled, and a
new structure answers in milliseconds (median 6-18 ms over 40 random edits) against 3-5 s of
compilation (docs/compilation.md).

See ``ik_engine.backends.backend`` for what a backend provides.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np

from ..numpy_namespace import NUMPY

_loop_limit = threading.local()


@contextmanager
def time_limited_loops(seconds: float) -> Iterator[None]:
    """Within this block (in this thread), each ``while_loop`` stops after ``seconds`` (and at
    least two iterations), its state as the last completed iteration left it (the solvers keep
    their best pose in it)."""
    previous = getattr(_loop_limit, "seconds", None)
    _loop_limit.seconds = seconds
    try:
        yield
    finally:
        _loop_limit.seconds = previous


class NumpyBackend:
    name = "numpy"
    xp = NUMPY  # numpy, with its most called functions cheaper (ik_engine.numpy_namespace)

    @staticmethod
    def float_dtype() -> np.dtype:
        """float64: the interpreter has no reason to trade precision for speed."""
        return np.dtype(np.float64)

    @staticmethod
    def compile(function: Callable) -> Callable:
        """No compilation: ``function`` is called as it is, with numpy's warnings silenced
        (the random draws wrap uint32 sums on purpose, and masked infinities are expected,
        exactly as in the compiled programs)."""

        def run(inputs: np.ndarray, max_iterations: int, seed: int) -> np.ndarray:
            with np.errstate(all="ignore"):
                return np.asarray(function(np.asarray(inputs), np.int32(max_iterations), np.uint32(seed)))

        return run

    @staticmethod
    def while_loop(cond: Callable, body: Callable, state: Any) -> Any:
        seconds = getattr(_loop_limit, "seconds", None)
        if seconds is None:
            while cond(state):
                state = body(state)
            return state
        deadline = time.perf_counter() + seconds
        done = 0
        # At least two iterations (a solver's first evaluates its start) before the limit counts.
        while cond(state) and (done < 2 or time.perf_counter() < deadline):
            state = body(state)
            done += 1
        return state

    @staticmethod
    def cond(pred: Any, true_fn: Callable, false_fn: Callable, operand: Any) -> Any:
        return true_fn(operand) if bool(pred) else false_fn(operand)

    @staticmethod
    def scan(step: Callable, carry: Any, xs: Any) -> tuple[Any, Any]:
        outputs = []
        for x in xs:
            carry, y = step(carry, x)
            outputs.append(y)
        return carry, np.stack(outputs)

    @staticmethod
    def map_problems(function: Callable) -> Callable:
        def mapped(inputs: Any, max_iterations: Any, seed: Any) -> Any:
            return np.stack([function(row, max_iterations, seed) for row in inputs])

        return mapped

    @staticmethod
    def cholesky_solve(A: Any, b: Any) -> Any:
        return np.linalg.solve(A, b)
