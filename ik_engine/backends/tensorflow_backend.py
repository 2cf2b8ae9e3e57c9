"""The TensorFlow backend: ``tf.function(jit_compile=True)`` programs (XLA), ``tf.while_loop``
and ``tf.cond``, arrays of ``ik_engine.backends.tensorflow_namespace``.

See ``ik_engine.backends.backend`` for what a backend provides. The math traced here is the same
as JAX's (the solvers, problem and constraints are written once against ``xp``); inside a
traced function the arrays are ``TensorFlowArray`` wrappers, and the functions below unwrap
them at the TensorFlow calls that take or return plain tensors.

Each program has a fixed input signature (the packed inputs' shape, an int32 iteration
budget and a uint32 seed), so new targets, weights or initial poses never retrace.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from .tensorflow_import import import_tensorflow

tf = import_tensorflow()

from . import tensorflow_namespace as tnp
from .tensorflow_namespace import TensorFlowArray


def _tensors(structure: Any) -> Any:
    """Arrays (nested in dicts, tuples, lists) as tf.Tensors."""
    return tf.nest.map_structure(tnp.tensor, structure)


def _arrays(structure: Any) -> Any:
    """tf.Tensors (nested) as TensorFlowArrays."""
    return tf.nest.map_structure(TensorFlowArray, structure)


class TensorFlowBackend:
    name = "tensorflow"
    xp = tnp

    @staticmethod
    def float_dtype() -> np.dtype:
        return np.dtype(np.float32)

    @staticmethod
    def compile(function: Callable) -> Callable:
        programs: dict[tuple[int, ...], Any] = {}

        def traced(inputs: tf.Tensor, max_iterations: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
            return tnp.tensor(function(*_arrays((inputs, max_iterations, seed))))

        settings: dict[tuple[int, int], tuple[tf.Tensor, tf.Tensor]] = {}

        def run(inputs: np.ndarray, max_iterations: int, seed: int) -> np.ndarray:
            inputs = np.asarray(inputs, dtype=np.float32)  # packed inputs come as float64
            program = programs.get(inputs.shape)
            if program is None:
                signature = (
                    tf.TensorSpec(inputs.shape, tf.as_dtype(inputs.dtype)),
                    tf.TensorSpec((), tf.int32),
                    tf.TensorSpec((), tf.uint32),
                )
                # The concrete function (traced here, compiled by XLA on its first call):
                # calling it with tensors skips tf.function's argument matching, about
                # 0.5 ms of a 0.8 ms arm solve.
                program = programs[inputs.shape] = tf.function(
                    traced, input_signature=signature, jit_compile=True, autograph=False
                ).get_concrete_function()
            scalars = settings.get((max_iterations, seed))
            if scalars is None:
                scalars = settings[(max_iterations, seed)] = (
                    tf.constant(max_iterations, tf.int32), tf.constant(seed, tf.uint32)
                )
            return program(tf.constant(inputs), *scalars).numpy()

        return run

    @staticmethod
    def while_loop(cond: Callable, body: Callable, state: Any) -> Any:
        (final,) = tf.while_loop(
            lambda s: tnp.tensor(cond(_arrays(s)), tf.bool),
            lambda s: (_tensors(body(_arrays(s))),),
            (_tensors(state),),
        )
        return _arrays(final)

    @staticmethod
    def cond(pred: Any, true_fn: Callable, false_fn: Callable, operand: Any) -> Any:
        out = tf.cond(
            tnp.tensor(pred, tf.bool),
            lambda: _tensors(true_fn(operand)),
            lambda: _tensors(false_fn(operand)),
        )
        return _arrays(out)

    @staticmethod
    def scan(step: Callable, carry: Any, xs: Any) -> tuple[Any, Any]:
        """``jax.lax.scan`` over the leading axis of one array ``xs``; the per-step outputs
        must be one array of xs's type."""
        xs = tnp.tensor(xs)
        T = xs.shape[0]
        outputs = tf.TensorArray(xs.dtype, size=T)

        def body(t, carry, outputs):
            new_carry, y = step(_arrays(carry), TensorFlowArray(tf.gather(xs, t)))
            return t + 1, _tensors(new_carry), outputs.write(t, tnp.tensor(y))

        _, carry, outputs = tf.while_loop(
            lambda t, carry, outputs: t < T, body, (tf.constant(0, tf.int32), _tensors(carry), outputs)
        )
        return _arrays(carry), TensorFlowArray(outputs.stack())

    @staticmethod
    def map_problems(function: Callable) -> Callable:
        """Each row of inputs (B, w) solved by ``function`` in turn, inside one program
        (``tf.map_fn``; each problem stops at its own convergence)."""

        def batched(inputs: Any, max_iterations: Any, seed: Any) -> TensorFlowArray:
            rows = tnp.tensor(inputs)
            out = tf.map_fn(
                lambda row: tnp.tensor(function(TensorFlowArray(row), max_iterations, seed)),
                rows,
                fn_output_signature=rows.dtype,
            )
            return TensorFlowArray(out)

        return batched

    @staticmethod
    def cholesky_solve(A: Any, b: Any) -> TensorFlowArray:
        A, rhs = tnp.tensor(A), tnp.tensor(b)
        if A.shape[0] <= UNROLLED_CHOLESKY:
            return TensorFlowArray(_unrolled_cholesky_solve(A, rhs))
        L = tf.linalg.cholesky(A)
        if rhs.shape.rank == 1:
            return TensorFlowArray(tf.linalg.cholesky_solve(L, rhs[:, None])[:, 0])
        return TensorFlowArray(tf.linalg.cholesky_solve(L, rhs))


# Systems up to this size are factorised column by column in straight-line code. XLA's own
# Cholesky (a blocked loop) takes about 100 us for 27 x 27 on a 2-core CPU, against 4 us for
# the LAPACK call JAX makes; the unrolled form takes a few.
UNROLLED_CHOLESKY = 64


def _unrolled_cholesky_solve(A: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """x with A x = b, A (m, m) symmetric positive definite, b (m,) or (m, k); m static.

    Right-looking Cholesky A = L L^T (each column of L from the Schur complement left by the
    columns before it, as a whole-column operation), then forward and back substitution.
    """
    m = A.shape[0]
    rows = tf.range(m)
    columns, S = [], A
    for k in range(m):
        column = tf.where(rows >= k, S[:, k] / tf.sqrt(tf.maximum(S[k, k], 1e-30)), 0.0)
        columns.append(column)
        S = S - column[:, None] * column[None, :]
    L = tf.stack(columns, axis=1)
    vector = b.shape.rank == 1
    y = b[:, None] if vector else b
    solution = []
    for i in range(m):  # L y = b, the residual updated column by column
        y_i = y[i] / L[i, i]
        solution.append(y_i)
        y = y - L[:, i, None] * y_i[None, :]
    z = tf.stack(solution)
    x = [None] * m
    for i in reversed(range(m)):  # L^T x = z
        x[i] = z[i] / L[i, i]
        z = z - L[i, :, None] * x[i][None, :]
    x = tf.stack(x)
    return x[:, 0] if vector else x
