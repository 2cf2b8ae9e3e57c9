"""A numpy-like array namespace over TensorFlow, for the math written once against ``xp``.

The kinematics, residuals and solvers are written against ``numpy``'s interface (``xp.where``,
``xp.take``, ``a @ b``, ``a.T``, ``a[rows]``...). ``jax.numpy`` offers it as it is;
TensorFlow's tensors differ in small ways (``@`` needs matrices, no ``.T``, no indexing by
integer arrays, no implicit casts between float32 constants and float64 numpy arrays). So
this module wraps each ``tf.Tensor`` in a ``TensorFlowArray`` whose operators and indexing
follow numpy's rules, and gives the functions our code calls, each mapped onto TensorFlow
operations. The wrapper exists only while a program is traced: inside
``tf.function(jit_compile=True)`` it costs nothing at run time.

Types follow JAX's default (64-bit off): Python and numpy constants take the type of the
tensor they meet (a float64 numpy array times a float32 tensor is float32), float64 and int64
constants become float32 and int32, and a float constant promotes an integer tensor to float32.

Only what the engine uses is here; anything else raises an AttributeError naming it. The
array type and its promotion rules are in ``ik_engine.backends.tensorflow_array``. Importing this module
imports TensorFlow.

Why not ``tf.experimental.numpy``: measured on an arm solve traced through it (its numpy
behaviour switched on with float32 preferred), it stops at the second helper of the solver's
random draws: it has no ``.view`` (bit cast) on tensors, and ``<<`` / ``>>`` on uint32 tensors
fail while tracing (``NotImplementedError: Cannot convert a symbolic tf.Tensor``), both of which
the counter-based restart draws (``solvers/random_draws.py``) need, as JAX and numpy give them.
And its numpy behaviour is a process-wide switch
(``tf.experimental.numpy.experimental_enable_numpy_behavior``): it changes type promotion and
tensor methods for every TensorFlow user in the process, which a library must not impose. This
namespace keeps numpy's (JAX's) rules local to the engine's traced programs.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .tensorflow_array import (  # noqa: F401  (as_dtype, tensor, matmul, power: part of the namespace)
    TensorFlowArray,
    binary,
    common_tensors,
    floating,
    wrap,
    as_dtype,
    matmul,
    power,
    tensor,
    tf,
)

inf = np.inf

float32 = tf.float32
int32 = tf.int32
uint32 = tf.uint32


# ---------------------------------------------------------------------------- creation
def asarray(x: Any, dtype: Any = None) -> TensorFlowArray:
    return wrap(tensor(x, dtype))




def zeros(shape: Any, dtype: Any = None) -> TensorFlowArray:
    return wrap(tf.zeros(shape, as_dtype(dtype) or tf.float32))


def ones(shape: Any, dtype: Any = None) -> TensorFlowArray:
    return wrap(tf.ones(shape, as_dtype(dtype) or tf.float32))


def full(shape: Any, fill_value: Any, dtype: Any = None) -> TensorFlowArray:
    value = tensor(fill_value, dtype)
    return wrap(tf.fill(shape if isinstance(shape, (tuple, list)) else (shape,), value))


def zeros_like(x: Any, dtype: Any = None) -> TensorFlowArray:
    return wrap(tf.zeros_like(tensor(x), dtype=as_dtype(dtype)))


def ones_like(x: Any, dtype: Any = None) -> TensorFlowArray:
    return wrap(tf.ones_like(tensor(x), dtype=as_dtype(dtype)))


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> TensorFlowArray:
    return wrap(tf.constant(np.eye(N, M, k), as_dtype(dtype) or tf.float32))


# ---------------------------------------------------------------------------- elementwise
def where(condition: Any, x: Any, y: Any) -> TensorFlowArray:
    tx, ty = common_tensors([x, y])
    return wrap(tf.where(tensor(condition, tf.bool), tx, ty))


def maximum(a: Any, b: Any) -> TensorFlowArray:
    return binary(tf.maximum, a, b)


def minimum(a: Any, b: Any) -> TensorFlowArray:
    return binary(tf.minimum, a, b)


def clip(x: Any, lower: Any, upper: Any) -> TensorFlowArray:
    return minimum(maximum(x, lower), upper)


def _unary(op):
    def apply(x: Any) -> TensorFlowArray:
        return wrap(op(floating(tensor(x))))

    apply.__name__ = op.__name__
    return apply


sqrt = _unary(tf.sqrt)
sin = _unary(tf.sin)
cos = _unary(tf.cos)
arcsin = _unary(tf.asin)
round = _unary(tf.round)  # noqa: A001 (numpy's name; half to even, as numpy and JAX)


def arctan2(y: Any, x: Any) -> TensorFlowArray:
    ty, tx = (floating(t) for t in common_tensors([y, x]))
    return wrap(tf.atan2(ty, tx))


def abs(x: Any) -> TensorFlowArray:  # noqa: A001 (numpy's name)
    return wrap(tf.abs(tensor(x)))


def sign(x: Any) -> TensorFlowArray:
    return wrap(tf.sign(tensor(x)))


def isfinite(x: Any) -> TensorFlowArray:
    return wrap(tf.math.is_finite(floating(tensor(x))))


# ---------------------------------------------------------------------------- reductions
def _axis(axis: Any) -> Any:
    return list(axis) if isinstance(axis, tuple) else axis


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> TensorFlowArray:  # noqa: A001
    t = tensor(x)
    if t.dtype == tf.bool:
        t = tf.cast(t, tf.int32)
    return wrap(tf.reduce_sum(t, axis=_axis(axis), keepdims=keepdims))


def max(x: Any, axis: Any = None, keepdims: bool = False) -> TensorFlowArray:  # noqa: A001
    return wrap(tf.reduce_max(tensor(x), axis=_axis(axis), keepdims=keepdims))


def all(x: Any, axis: Any = None, keepdims: bool = False) -> TensorFlowArray:  # noqa: A001
    return wrap(tf.reduce_all(tensor(x, tf.bool), axis=_axis(axis), keepdims=keepdims))


def any(x: Any, axis: Any = None, keepdims: bool = False) -> TensorFlowArray:  # noqa: A001
    return wrap(tf.reduce_any(tensor(x, tf.bool), axis=_axis(axis), keepdims=keepdims))


def argmax(x: Any, axis: Any = None) -> TensorFlowArray:
    t = tensor(x)
    if axis is None:
        t, axis = tf.reshape(t, (-1,)), 0
    return wrap(tf.math.argmax(t, axis=axis, output_type=tf.int32))


def cumprod(x: Any, axis: Any = None) -> TensorFlowArray:
    t = tensor(x)
    if axis is None:
        t, axis = tf.reshape(t, (-1,)), 0
    return wrap(tf.math.cumprod(t, axis=axis))


def trace(x: Any) -> TensorFlowArray:
    return wrap(tf.linalg.trace(tensor(x)))


# ---------------------------------------------------------------------------- shapes
def reshape(x: Any, shape: Any) -> TensorFlowArray:
    return wrap(tf.reshape(tensor(x), shape))


def transpose(x: Any, axes: Sequence[int] | None = None) -> TensorFlowArray:
    return wrap(tf.transpose(tensor(x), perm=axes))


def swapaxes(x: Any, axis1: int, axis2: int) -> TensorFlowArray:
    t = tensor(x)
    perm = list(range(t.shape.rank))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return wrap(tf.transpose(t, perm))


def broadcast_to(x: Any, shape: Any) -> TensorFlowArray:
    return wrap(tf.broadcast_to(tensor(x), shape))


def stack(arrays: Sequence[Any], axis: int = 0) -> TensorFlowArray:
    return wrap(tf.stack(common_tensors(list(arrays)), axis=axis))


def concatenate(arrays: Sequence[Any], axis: int = 0) -> TensorFlowArray:
    return wrap(tf.concat(common_tensors(list(arrays)), axis=axis))


def take(x: Any, indices: Any, axis: int | None = None) -> TensorFlowArray:
    t = tensor(x)
    if axis is None:
        t, axis = tf.reshape(t, (-1,)), 0
    axis = axis % t.shape.rank
    if isinstance(indices, TensorFlowArray):
        return wrap(tf.gather(t, indices.tensor, axis=axis))
    positions = np.asarray(indices).astype(np.int64) % t.shape[axis]
    return wrap(tf.gather(t, tf.constant(positions, tf.int32), axis=axis))


def diag(x: Any) -> TensorFlowArray:
    t = tensor(x)
    return wrap(tf.linalg.diag(t) if t.shape.rank == 1 else tf.linalg.diag_part(t))


# ---------------------------------------------------------------------------- products
def outer(a: Any, b: Any) -> TensorFlowArray:
    ta, tb = common_tensors([a, b])
    return wrap(tf.reshape(ta, (-1, 1)) * tf.reshape(tb, (1, -1)))


def cross(a: Any, b: Any) -> TensorFlowArray:
    """Cross product over the last axis (3 components), batches broadcast."""
    ta, tb = common_tensors([a, b])
    ax, ay, az = ta[..., 0], ta[..., 1], ta[..., 2]
    bx, by, bz = tb[..., 0], tb[..., 1], tb[..., 2]
    return wrap(tf.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], axis=-1))


def einsum(subscripts: str, *operands: Any) -> TensorFlowArray:
    return wrap(tf.einsum(subscripts, *common_tensors(list(operands))))


class linalg:  # noqa: N801 (numpy's name)
    """``xp.linalg``: what the engine uses, in numpy's conventions."""

    @staticmethod
    def svd(a: Any, full_matrices: bool = True) -> tuple[TensorFlowArray, TensorFlowArray, TensorFlowArray]:
        """(U, S, Vh) with a = U diag(S) Vh (numpy's order; TensorFlow returns S, U, V)."""
        s, u, v = tf.linalg.svd(floating(tensor(a)), full_matrices=full_matrices)
        return wrap(u), wrap(s), wrap(tf.linalg.matrix_transpose(v))

    @staticmethod
    def det(a: Any) -> TensorFlowArray:
        """Determinant of (..., k, k) matrices, k <= 3, in closed form (XLA has no determinant)."""
        m = floating(tensor(a))
        k = m.shape[-1]
        if k == 1:
            return wrap(m[..., 0, 0])
        if k == 2:
            return wrap(m[..., 0, 0] * m[..., 1, 1] - m[..., 0, 1] * m[..., 1, 0])
        if k == 3:
            return wrap(
                m[..., 0, 0] * (m[..., 1, 1] * m[..., 2, 2] - m[..., 1, 2] * m[..., 2, 1])
                - m[..., 0, 1] * (m[..., 1, 0] * m[..., 2, 2] - m[..., 1, 2] * m[..., 2, 0])
                + m[..., 0, 2] * (m[..., 1, 0] * m[..., 2, 1] - m[..., 1, 1] * m[..., 2, 0])
            )
        raise NotImplementedError(f"determinants of {k}x{k} matrices are not supported on the TensorFlow backend")

    @staticmethod
    def eigh(a: Any) -> tuple[TensorFlowArray, TensorFlowArray]:
        """(eigenvalues ascending (..., k), eigenvectors as columns (..., k, k))."""
        e, v = tf.linalg.eigh(tensor(a))
        return wrap(e), wrap(v)

    @staticmethod
    def cholesky(a: Any) -> TensorFlowArray:
        return wrap(tf.linalg.cholesky(tensor(a)))

    @staticmethod
    def norm(x: Any, axis: Any = None, keepdims: bool = False) -> TensorFlowArray:
        t = floating(tensor(x))
        return wrap(tf.sqrt(tf.reduce_sum(t * t, axis=_axis(axis), keepdims=keepdims)))


def __getattr__(name: str) -> Any:
    raise AttributeError(
        f"xp.{name} is not in the TensorFlow namespace (ik_engine/backends/tensorflow_namespace.py): "
        "add it there, mapped onto TensorFlow operations"
    )
