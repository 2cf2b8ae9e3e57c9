"""The array type of the TensorFlow namespace: a ``tf.Tensor`` wrapper whose operators and
indexing follow numpy's rules, with numpy's type promotion (JAX's 64-bit-off default).

``ik_engine.backends.tensorflow_namespace`` gives the functions (``xp.where``, ``xp.take``...) over
these arrays; this module holds what the array itself needs: dtypes and their promotion,
conversion of constants, the operators (``a @ b`` included) and numpy-style indexing by integer
arrays. See the namespace's docstring for why it exists. Importing this module imports
TensorFlow.
"""

from __future__ import annotations

import builtins
from typing import Any, Sequence

import numpy as np
from .tensorflow_import import import_tensorflow

tf = import_tensorflow()


# ---------------------------------------------------------------------------- dtypes
# Kinds ordered as in numpy's promotion: bool < integer < float.
_KIND_RANK = {"b": 0, "i": 1, "u": 1, "f": 2}
_DEFAULT_NUMPY = {"b": np.bool_, "i": np.int32, "u": np.uint32, "f": np.float32}


def _kind(dtype: tf.DType) -> str:
    if dtype == tf.bool:
        return "b"
    if dtype.is_floating:
        return "f"
    return "u" if dtype.is_unsigned else "i"


def as_dtype(dtype: Any) -> tf.DType | None:
    """A TensorFlow dtype from a TensorFlow, numpy or Python type; 64-bit types become 32-bit."""
    if dtype is None:
        return None
    if isinstance(dtype, tf.DType):
        return dtype
    if dtype is builtins.bool:
        return tf.bool
    if dtype is builtins.int:
        return tf.int32
    if dtype is builtins.float:
        return tf.float32
    numpy_dtype = np.dtype(dtype)
    return tf.as_dtype(_DEFAULT_NUMPY[numpy_dtype.kind] if numpy_dtype.itemsize == 8 else numpy_dtype)


def _joined(a: tf.DType, b: tf.DType) -> tf.DType:
    """The type two tensors of types a and b combine into."""
    if a == b:
        return a
    ka, kb = _kind(a), _kind(b)
    if _KIND_RANK[ka] != _KIND_RANK[kb]:
        return a if _KIND_RANK[ka] > _KIND_RANK[kb] else b
    if {ka, kb} == {"i", "u"}:
        raise TypeError(f"mixing signed and unsigned integers ({a.name}, {b.name}) is not supported")
    return a if a.size >= b.size else b


# ---------------------------------------------------------------------------- conversion
def _constant(value: Any, like: tf.DType | None = None) -> tf.Tensor:
    """A Python or numpy value as a tensor: of type ``like`` when its kind is no higher."""
    array = np.asarray(value)
    kind = array.dtype.kind
    if kind not in _KIND_RANK:
        raise TypeError(f"cannot use a {array.dtype} value in the TensorFlow namespace")
    if like is not None and _KIND_RANK[kind] <= _KIND_RANK[_kind(like)]:
        return tf.constant(array.astype(like.as_numpy_dtype))
    default = _DEFAULT_NUMPY[kind] if array.dtype.itemsize == 8 or kind == "b" else array.dtype
    return tf.constant(array.astype(default))


def tensor(x: Any, dtype: Any = None) -> tf.Tensor:
    """The tf.Tensor of an array, tensor or constant (cast to ``dtype`` if given)."""
    dtype = as_dtype(dtype)
    if isinstance(x, TensorFlowArray):
        t = x.tensor
    elif isinstance(x, (tf.Tensor, tf.Variable)):
        t = tf.convert_to_tensor(x)
    elif isinstance(x, (list, tuple)) and builtins.any(isinstance(v, TensorFlowArray) for v in x):
        return tensor(tf.stack(common_tensors(list(x))), dtype)
    else:
        t = _constant(x, dtype)
    return t if dtype is None or t.dtype == dtype else tf.cast(t, dtype)


def wrap(t: tf.Tensor) -> "TensorFlowArray":
    return TensorFlowArray(t)


def _dtype_of(x: Any) -> tf.DType | None:
    if isinstance(x, TensorFlowArray):
        return x.tensor.dtype
    if isinstance(x, tf.Tensor):
        return x.dtype
    return None


def common_tensors(values: Sequence[Any]) -> list[tf.Tensor]:
    """Tensors of one common type: that of the tensors among ``values``, constants adapting."""
    dtypes = [d for d in (_dtype_of(v) for v in values) if d is not None]
    target = None
    for d in dtypes:
        target = d if target is None else _joined(target, d)
    out = [tensor(v) if _dtype_of(v) is not None else _constant(v, target) for v in values]
    # A constant of a higher kind (a float among integer tensors) raises the type.
    for t in out:
        target = t.dtype if target is None else _joined(target, t.dtype)
    return [t if t.dtype == target else tf.cast(t, target) for t in out]


def floating(t: tf.Tensor) -> tf.Tensor:
    return t if t.dtype.is_floating else tf.cast(t, tf.float32)


# ---------------------------------------------------------------------------- the array type
class TensorFlowArray:
    """A tf.Tensor with numpy's operators, indexing and attributes (see the module notes)."""

    __slots__ = ("tensor",)
    # numpy defers to our reflected operators: ``np_array * array`` gives a TensorFlowArray.
    __array_ufunc__ = None

    def __init__(self, t: tf.Tensor) -> None:
        self.tensor = t

    # -------------------------------------------------------------- attributes
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.tensor.shape.as_list())

    @property
    def ndim(self) -> int:
        return self.tensor.shape.rank

    @property
    def dtype(self) -> tf.DType:
        return self.tensor.dtype

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def T(self) -> "TensorFlowArray":
        return self if self.ndim < 2 else wrap(tf.transpose(self.tensor))

    def astype(self, dtype: Any) -> "TensorFlowArray":
        return wrap(tf.cast(self.tensor, as_dtype(dtype)))

    def view(self, dtype: Any) -> "TensorFlowArray":
        """The same bits read as another type of the same size (numpy's ``view``)."""
        return wrap(tf.bitcast(self.tensor, as_dtype(dtype)))

    def reshape(self, *shape: Any) -> "TensorFlowArray":
        return wrap(tf.reshape(self.tensor, shape[0] if len(shape) == 1 else shape))

    def __len__(self) -> int:
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        raise TypeError(
            "the truth value of a traced TensorFlow array is unknown while the program is built; "
            "use xp.where or the backend's cond instead of a Python if"
        )

    def __repr__(self) -> str:
        return f"TensorFlowArray({self.tensor!r})"

    # -------------------------------------------------------------- indexing
    def __getitem__(self, key: Any) -> "TensorFlowArray":
        key = key if isinstance(key, tuple) else (key,)
        if not builtins.any(_is_array_index(k) for k in key):
            return wrap(self.tensor[tuple(_basic_index(k) for k in key)])
        return wrap(_advanced_getitem(self.tensor, key))

    # -------------------------------------------------------------- arithmetic
    def __add__(self, other): return binary(tf.add, self, other)
    def __radd__(self, other): return binary(tf.add, other, self)
    def __sub__(self, other): return binary(tf.subtract, self, other)
    def __rsub__(self, other): return binary(tf.subtract, other, self)
    def __mul__(self, other): return binary(tf.multiply, self, other)
    def __rmul__(self, other): return binary(tf.multiply, other, self)
    def __truediv__(self, other): return binary(_true_divide, self, other)
    def __rtruediv__(self, other): return binary(_true_divide, other, self)
    def __floordiv__(self, other): return binary(tf.math.floordiv, self, other)
    def __rfloordiv__(self, other): return binary(tf.math.floordiv, other, self)
    def __mod__(self, other): return binary(tf.math.floormod, self, other)
    def __rmod__(self, other): return binary(tf.math.floormod, other, self)
    def __pow__(self, other): return power(self, other)
    def __rpow__(self, other): return power(other, self)
    def __matmul__(self, other): return matmul(self, other)
    def __rmatmul__(self, other): return matmul(other, self)
    def __neg__(self): return wrap(tf.negative(self.tensor))
    def __pos__(self): return self
    def __abs__(self): return wrap(tf.abs(self.tensor))

    # -------------------------------------------------------------- comparisons
    def __lt__(self, other): return binary(tf.less, self, other)
    def __le__(self, other): return binary(tf.less_equal, self, other)
    def __gt__(self, other): return binary(tf.greater, self, other)
    def __ge__(self, other): return binary(tf.greater_equal, self, other)
    def __eq__(self, other): return binary(tf.equal, self, other)  # type: ignore[override]
    def __ne__(self, other): return binary(tf.not_equal, self, other)  # type: ignore[override]
    __hash__ = None  # type: ignore[assignment]

    # -------------------------------------------------------------- logic and bits
    def __invert__(self):
        t = self.tensor
        return wrap(tf.logical_not(t) if t.dtype == tf.bool else tf.bitwise.invert(t))

    def __and__(self, other): return binary(_and, self, other)
    def __rand__(self, other): return binary(_and, other, self)
    def __or__(self, other): return binary(_or, self, other)
    def __ror__(self, other): return binary(_or, other, self)
    def __xor__(self, other): return binary(_xor, self, other)
    def __rxor__(self, other): return binary(_xor, other, self)
    def __lshift__(self, other): return binary(tf.bitwise.left_shift, self, other)
    def __rshift__(self, other): return binary(tf.bitwise.right_shift, self, other)


def binary(op, a: Any, b: Any) -> TensorFlowArray:
    ta, tb = common_tensors([a, b])
    return wrap(op(ta, tb))


def _true_divide(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    return tf.math.truediv(floating(a), floating(b))


def _and(a, b):
    return tf.logical_and(a, b) if a.dtype == tf.bool else tf.bitwise.bitwise_and(a, b)


def _or(a, b):
    return tf.logical_or(a, b) if a.dtype == tf.bool else tf.bitwise.bitwise_or(a, b)


def _xor(a, b):
    return tf.math.logical_xor(a, b) if a.dtype == tf.bool else tf.bitwise.bitwise_xor(a, b)


# ---------------------------------------------------------------------------- indexing
def _is_array_index(k: Any) -> bool:
    """An index that selects by an array of positions (numpy's advanced indexing)."""
    if isinstance(k, (np.ndarray, list)):
        return True
    return isinstance(k, TensorFlowArray) and k.ndim > 0


def _basic_index(k: Any) -> Any:
    if isinstance(k, TensorFlowArray):
        return k.tensor  # a scalar position computed in the program
    if isinstance(k, np.integer):
        return int(k)
    return k


def _advanced_getitem(t: tf.Tensor, key: tuple) -> tf.Tensor:
    """numpy indexing with one array of positions (or booleans) among ints, slices, None, ...

    Applied one index at a time from the left; the selected axis stays where the array
    stands, which is numpy's rule when there is one array index and no integer is separated
    from it by a slice.
    """
    arrays = [i for i, k in enumerate(key) if _is_array_index(k)]
    ints = [i for i, k in enumerate(key) if isinstance(k, (int, np.integer)) and not isinstance(k, bool)]
    if len(arrays) > 1 or builtins.any(
        builtins.any(isinstance(key[j], slice) or key[j] is Ellipsis for j in range(builtins.min(i, arrays[0]) + 1, builtins.max(i, arrays[0])))
        for i in ints
    ):
        raise IndexError(f"indexing {key!r} is beyond the TensorFlow namespace (one array index, next to the integers)")
    consumed = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
    expanded: list[Any] = []
    for k in key:
        if k is Ellipsis:
            expanded += [slice(None)] * (t.shape.rank - consumed)
        else:
            expanded.append(k)
    axis = 0
    for k in expanded:
        if k is None:
            t = tf.expand_dims(t, axis)
            axis += 1
        elif isinstance(k, slice):
            if k != slice(None):
                t = t[(slice(None),) * axis + (k,)]
            axis += 1
        elif _is_array_index(k):
            if isinstance(k, TensorFlowArray):
                t = tf.gather(t, k.tensor, axis=axis)
                axis += k.ndim
            else:
                positions = np.asarray(k)
                if positions.dtype == np.bool_:
                    positions = np.flatnonzero(positions)
                positions = positions.astype(np.int64) % t.shape[axis]
                t = tf.gather(t, tf.constant(positions, tf.int32), axis=axis)
                axis += positions.ndim
        else:
            index = _basic_index(k)
            if isinstance(index, int) and index < 0:
                index += t.shape[axis]
            t = tf.gather(t, index, axis=axis)
    return t


# ---------------------------------------------------------------------------- products
def matmul(a: Any, b: Any) -> TensorFlowArray:
    """numpy's ``a @ b``: vectors act as rows (left) or columns (right), batches broadcast."""
    ta, tb = common_tensors([a, b])
    if ta.shape.rank == 1 and tb.shape.rank == 1:
        return wrap(tf.reduce_sum(ta * tb))
    if ta.shape.rank == 1:
        return wrap(tf.squeeze(tf.linalg.matmul(ta[None, :], tb), axis=-2))
    if tb.shape.rank == 1:
        return wrap(tf.squeeze(tf.linalg.matmul(ta, tb[:, None]), axis=-1))
    return wrap(tf.linalg.matmul(ta, tb))


def power(a: Any, b: Any) -> TensorFlowArray:
    """``a ** b``; a small integer exponent is a product (as JAX's ``integer_pow``)."""
    if isinstance(b, (int, np.integer)) and not isinstance(b, bool) and 0 < builtins.abs(int(b)) <= 8:
        base, exponent = tensor(a), builtins.abs(int(b))
        result, square = None, base
        while exponent:
            if exponent & 1:
                result = square if result is None else result * square
            exponent >>= 1
            if exponent:
                square = square * square
        return wrap(result if b > 0 else 1.0 / floating(result))
    return binary(tf.pow, a, b)
