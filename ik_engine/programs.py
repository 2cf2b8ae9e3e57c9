"""The programs that solve one constraint structure: interpreted at once, compiled when it pays.

A constraint *structure* is what a program is specialised to: the kinds of the constraints,
their joints, priorities and static choices, the solver's moving joints and ``move_root``.
Targets, weights, offsets, initial poses and tolerances are inputs and never recompile.

Compiling a structure with XLA takes 2-5 s on a 2-core CPU (the code generation of the
whole Levenberg-Marquardt loop); solving it interpreted (``ik_engine.backends.numpy_backend``: the
same code run op by op in numpy, float64) takes milliseconds per solve but about 10 times
longer per iteration than the compiled program. So each structure's ``StructurePrograms``:

* answers its first solves with the interpreter, at once;
* once it has been solved three times and the interpreter has spent 0.1 s on it, has
  ``ik_engine.background_compiler`` compile it in a background thread (a structure solved
  once, as in an editor that keeps changing its constraints, or a short script's few solves
  never pay for a compile);
* switches to the compiled program as soon as that is ready.

``policy="blocking"`` compiles in the caller's thread on the first solve instead (the
earlier behaviour: steady-state speed from the first call, at the price of the stall);
``policy="never"`` only interprets. docs/compilation.md has the measurements.

The packed calling convention: everything that may change between solves is one float
vector (or a (B, w) matrix for batches and clips), so a compiled program takes one array
argument (and ``max_iterations``, ``seed``). Its output is ``q (n,) | errors (C,) |
iterations, converged, restarts``.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, NamedTuple

import numpy as np

from .problem import ProblemInputs, ResidualProblem

POLICIES = ("background", "blocking", "never")
KINDS = ("single", "batch", "clip")
# A structure is compiled in the background once it has been solved this many times and
# the interpreter has spent this many seconds on it. A compile is not free for the caller:
# while JAX is imported (the first time) and the program is traced and lowered (Python, about
# 0.3-1.3 s), the caller's interpreted solves run 3-10 times slower (the interpreter lock;
# measured on 2 cores, docs/compilation.md); XLA's code generation after that costs them
# nothing measurable. So a structure an editor solves once or twice, or a short script's few
# solves, never pay for a compile (and a process that exits while a compile runs must wait
# for it: ending under a running XLA compile aborts the process); a frame loop starts
# compiling after a few frames. Clips compile at once (they are long).
COMPILE_AFTER_SOLVES = {"single": 3, "clip": 1}
COMPILE_AFTER_SECONDS = {"single": 0.1, "clip": 0.0}
# Batches of up to this many problems are treated as single solves (interpreted first, compiled
# when hot: interpreting 32 problems takes about as long as compiling, and a program per batch
# size costs memory that XLA does not give back); larger ones compile at once.
INTERPRETED_BATCH = 32


class InputLayout(NamedTuple):
    """Segment sizes of the packed input vector: q0 (n), fixed rotations (3S), translation (3),
    parameters (P), sqrt weights (C), tolerances and start (3: metres, radians, 1 for a warm
    start), the caller's initial variables (n), the subtree's rest offsets (3S)."""

    n: int
    S: int
    P: int
    C: int

    @property
    def offsets(self) -> list[int]:
        n, S, P, C = self
        return [int(o) for o in np.cumsum((0, n, 3 * S, 3, P, C, 3, n, 3 * S))]

    @property
    def sqrt_weights(self) -> slice:
        """Where the (C,) square roots of the weights sit in a packed input vector."""
        offsets = self.offsets
        return slice(offsets[4], offsets[5])

    @classmethod
    def of(cls, problem: ResidualProblem) -> "InputLayout":
        return cls(problem.num_variables, len(problem.joints), problem.num_parameters, len(problem.slots))


def packed_solve(problem: ResidualProblem, build: Callable, options: Any, backend: Any) -> Callable:
    """``packed(inputs (w,), max_iterations, seed) -> output (n + C + 3,)`` on ``backend``,
    with ``build`` the method's builder (``build_levenberg_marquardt`` or
    ``build_gradient_descent``)."""
    xp = backend.xp
    solve = build(problem, options, backend)
    layout = InputLayout.of(problem)
    offsets = layout.offsets

    def packed(inputs, max_iterations, seed):
        q0, fixed, translation, params, sqrt_weights, tolerances, q_reference, rest_offsets = (
            inputs[offsets[i] : offsets[i + 1]] for i in range(8)
        )
        problem_inputs = ProblemInputs(xp.reshape(fixed, (layout.S, 3)), translation, params, sqrt_weights,
                                       rest_offsets=xp.reshape(rest_offsets, (layout.S, 3)))
        q, errors, iterations, converged, restarts = solve(q0, problem_inputs, tolerances, max_iterations, seed, q_reference)
        flags = xp.stack([iterations, converged, restarts]).astype(q.dtype)
        return xp.concatenate([q, errors, flags])

    return packed


def program_for_kind(packed: Callable, kind: str, problem: ResidualProblem, backend: Any, method: str) -> Callable:
    """A single solve, a batch of problems (B, w) or a clip of frames (T, w), on ``backend``."""
    n, C = problem.num_variables, len(problem.slots)
    if kind == "clip":
        return scanned_clip(packed, n, backend)
    if kind == "batch" and backend.name == "jax" and method == "lm":
        # The compacting second round restarts unfinished problems from their best pose:
        # all LM needs, but a first-order method would lose its moment estimates.
        return compacting_batch(packed, n, C)
    if kind == "batch":
        return backend.map_problems(packed)
    return packed


class CompileCount:
    """Programs compiled into one program cache (``IKSolver.compilations``), counted by being
    called once per trace; solvers sharing a cache (``IKSolver.with_body``) share its count."""

    def __init__(self, value: int = 0) -> None:
        self.value = value

    def __call__(self) -> None:
        self.value += 1


class StructurePrograms:
    """The interpreted and (once ready) compiled programs of one structure and kind of call.

    Args:
        problem: the structure's ResidualProblem.
        kind: "single", "batch" or "clip".
        make_program: ``make_program(backend) -> function(inputs, max_iterations, seed)``
            (uncompiled) for a backend.
        compiled_backend: the Backend that compiles (JAX or TensorFlow), as a callable
            returning it (loading JAX is left to the thread that compiles).
        on_trace: called each time the compiled program is traced (counts compilations).
        policy: "background", "blocking" or "never" (see the module docstring).
        time_limit: seconds after which an interpreted single solve or batch problem stops
            with its best pose so far (``converged`` says whether it meets its targets); None:
            no limit. The compiled program always has the whole budget.
    """

    def __init__(self, problem: ResidualProblem, kind: str, make_program: Callable, compiled_backend: Callable,
                 on_trace: Callable[[], None], policy: str, time_limit: float | None = None) -> None:
        self.problem = problem
        self.sqrt_weights = InputLayout.of(problem).sqrt_weights  # slice of a packed input vector
        self.kind = kind
        self._make_program = make_program
        self._compiled_backend = compiled_backend
        self._on_trace = on_trace
        self.policy = policy
        self.time_limit = time_limit
        self.solves = 0
        self.interpreted_seconds = 0.0
        self.compiled: Callable | None = None
        self.compile_error: BaseException | None = None
        self._interpreted: Callable | None = None
        self._compile_started = False
        self._compile_lock = threading.Lock()

    @property
    def interpreted(self) -> Callable:
        if self._interpreted is None:
            from .backends.numpy_backend import NumpyBackend

            self._interpreted = NumpyBackend.compile(self._make_program(NumpyBackend))
        return self._interpreted

    def __call__(self, inputs: np.ndarray, max_iterations: int, seed: int) -> np.ndarray:
        """Solve with the compiled program if it is ready, else as the policy says."""
        self.solves += 1
        compiled = self.compiled
        if compiled is None and self.policy != "never":
            large_batch = self.kind == "batch" and len(inputs) > INTERPRETED_BATCH
            kind = "single" if self.kind == "batch" else self.kind
            if self.policy == "blocking" or large_batch:
                # A large batch interpreted problem by problem would take longer than compiling.
                compiled = self.compile_now()
            elif self.solves >= COMPILE_AFTER_SOLVES[kind] and self.interpreted_seconds >= COMPILE_AFTER_SECONDS[kind]:
                self.compile_in_background(inputs, seed)
        if compiled is not None:
            return compiled(inputs, max_iterations, seed)
        start = time.perf_counter()
        if self.time_limit is not None and self.kind != "clip":
            from .backends.numpy_backend import time_limited_loops

            with time_limited_loops(self.time_limit):
                output = self.interpreted(inputs, max_iterations, seed)
        else:
            output = self.interpreted(inputs, max_iterations, seed)
        self.interpreted_seconds += time.perf_counter() - start
        return output

    def compile_now(self, example: np.ndarray | None = None, max_iterations: int = 1, seed: int = 0) -> Callable:
        """Compile in this thread (waiting for a compile another thread has started). The
        program compiles when it is first run: on ``example`` inputs here if given, else on
        the caller's first call."""
        with self._compile_lock:
            if self.compiled is None:
                program = self._compile()
                if example is not None:
                    program(example, max_iterations, seed)
                self.compiled = program
            return self.compiled

    def compile_in_background(self, inputs: np.ndarray, seed: int) -> None:
        """Queue the compile (once); the compiled program is swapped in when it is ready."""
        if self._compile_started:
            return
        self._compile_started = True
        from . import background_compiler

        example = np.array(inputs)  # the caller may reuse its buffer

        def job() -> None:
            try:
                self.compile_now(example, 1, seed)  # one iteration: max_iterations is an input
            except Exception as exc:  # keep interpreting; the error is kept for the caller
                self.compile_error = exc

        background_compiler.submit(id(self), job)

    def release(self) -> None:
        """Drop the compiled program and free what its backend can (JAX: the jitted function's
        compiled executables); the structure is interpreted again if it is solved again."""
        compiled, self.compiled, self._compile_started = self.compiled, None, False
        release = getattr(compiled, "release", None)
        if release is not None:
            release()

    def _compile(self) -> Callable:
        backend = self._compiled_backend()
        function = self._make_program(backend)
        on_trace = self._on_trace

        traced = []

        def counted(inputs, max_iterations, seed):
            on_trace()  # traced once per compilation: this side effect counts them
            traced.append(True)
            return function(inputs, max_iterations, seed)

        program = backend.compile(counted)

        def run(inputs, max_iterations, seed):
            output = program(inputs, max_iterations, seed)
            if traced:  # this call compiled: give XLA's freed working memory (about 250 MB) back
                traced.clear()
                return_freed_memory()
            return output

        if hasattr(program, "release"):
            run.release = program.release
        return run


def return_freed_memory() -> None:
    """Give memory freed by dropped programs back to the system (glibc's ``malloc_trim``; a
    no-op elsewhere). Measured (benchmarks/long_session.py): 40 arm programs compiled and
    dropped, 10 at a time, left the process at 564 MiB without it and 377 MiB with it."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def scanned_clip(packed: Any, n: int, backend: Any) -> Any:
    """Frames solved in order inside one program (the backend's ``scan``): each frame starts
    from the pose its two predecessors predict at constant velocity."""
    xp = backend.xp

    def clip(inputs, max_iterations, seed):
        def frame(carry, frame_inputs):
            q_previous, q_before = carry
            start = xp.concatenate([2 * q_previous - q_before, frame_inputs[n:]])
            out = packed(start, max_iterations, seed)
            return (out[:n], q_previous), out

        q_first = inputs[0, :n]
        _, outputs = backend.scan(frame, (q_first, q_first), inputs)
        return outputs

    return clip


FIRST_ROUND = 20


def compacting_batch(packed: Any, n: int, C: int) -> Any:
    """Batch version of a packed single-problem solve that does not wait on stragglers (JAX).

    A vmapped loop runs until its slowest problem is done, every problem paying for every
    iteration. So: all problems first get a budget of ``FIRST_ROUND`` iterations; those that
    have not converged continue, warm-started from their best pose (Pin-like constraints
    still hold the caller's initial pose), with the rest of the budget: in an eight times
    smaller batch when they fit in it, else all together.
    """
    import jax
    import jax.numpy as jnp

    all_problems = jax.vmap(packed, in_axes=(0, None, None))
    iterations, converged_flag, restarts = n + C, n + C + 1, n + C + 2

    def second_round(out, inputs, slots, budget, seed):
        warm = inputs[slots].at[:, :n].set(out[slots, :n])  # start: the best pose so far
        more = all_problems(warm, budget, seed + 1)
        more = more.at[:, iterations].add(out[slots, iterations] + 1)  # both rounds' iterations
        more = more.at[:, restarts].add(out[slots, restarts])
        keep = (out[slots, converged_flag] > 0.5)[:, None]  # converged problems filling spare slots
        return out.at[slots].set(jnp.where(keep, out[slots], more))

    def batched(inputs, max_iterations, seed):
        B = inputs.shape[0]
        if B <= 16:
            return all_problems(inputs, max_iterations, seed)
        small = max(1, B // 8)
        out = all_problems(inputs, jnp.minimum(max_iterations, FIRST_ROUND), seed)
        unconverged = out[:, converged_flag] < 0.5
        budget = jnp.maximum(max_iterations - FIRST_ROUND - 1, 0)
        slots = jnp.argsort(~unconverged)[:small]  # unconverged first
        return jax.lax.cond(
            jnp.sum(unconverged) <= small,
            lambda o: second_round(o, inputs, slots, budget, seed),
            lambda o: second_round(o, inputs, jnp.arange(B), budget, seed),
            out,
        )

    return batched
