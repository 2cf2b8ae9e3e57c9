"""The interpreter's numpy namespace (ik_engine/numpy_namespace.py) against numpy's own functions:
the same values, dtypes and shapes, or the same exception, for arrays, numpy scalars, Python
lists, empty arrays, NaN, booleans, and every keyword the solver's code passes."""

from __future__ import annotations

import numpy as np
import pytest

from ik_engine.backends.numpy_backend import NumpyBackend
from ik_engine.numpy_namespace import NUMPY, is_numpy

rng = np.random.default_rng(0)
INPUTS = [
    rng.normal(size=(4, 3)), rng.normal(size=(2, 3, 4)), rng.normal(size=5) > 0, np.array(3.0), np.float64(2.5),
    np.arange(6).reshape(2, 3), np.array([], dtype=float), np.array([np.nan, 1.0]), [1.0, 2.0, 3.0],
    rng.normal(size=(3, 3)).astype(np.float32),
]
KEYWORDS = [{}, {"axis": 0}, {"axis": -1}, {"axis": (0, 1)}, {"keepdims": True}, {"axis": 0, "keepdims": True}]


def outcome(function, *args, **kwargs):
    try:
        result = function(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the same exception type is the expected outcome
        return type(exc)
    return np.asarray(result).dtype, np.shape(result), np.asarray(result).tolist()


@pytest.mark.parametrize("name", ["sum", "max", "min", "all", "any"])
def test_reductions_equal_numpys(name):
    compared = 0
    for a in INPUTS:
        for kwargs in KEYWORDS:
            expected = outcome(getattr(np, name), a, **kwargs)
            got = outcome(getattr(NUMPY, name), a, **kwargs)
            if isinstance(expected, tuple) and isinstance(got, tuple):
                assert expected[:2] == got[:2], (name, a, kwargs)
                np.testing.assert_array_equal(np.array(got[2]), np.array(expected[2]))
            else:
                assert expected == got, (name, a, kwargs)
            compared += 1
    assert compared == len(INPUTS) * len(KEYWORDS)
    # Keywords the fast path passes on to the reduction, and a positional dtype (numpy's own path).
    a = rng.normal(size=(3, 4))
    np.testing.assert_array_equal(NUMPY.max(a, axis=1, initial=10.0), np.max(a, axis=1, initial=10.0))
    assert NUMPY.sum(a > 0, axis=None, dtype=np.int32).dtype == np.int32
    np.testing.assert_array_equal(NUMPY.sum(a, 0, np.float32), np.sum(a, 0, np.float32))


def test_take_reshape_swapaxes_eye_equal_numpys():
    a = rng.normal(size=(5, 3, 2))
    for indices, axis in (([0, 3], 0), (np.array([1, 1, 2]), 1), (4, None), ([[0, 1], [1, 0]], 2)):
        np.testing.assert_array_equal(NUMPY.take(a, indices, axis=axis), np.take(a, indices, axis=axis))
    np.testing.assert_array_equal(NUMPY.take([5, 6, 7], [2, 0]), np.take([5, 6, 7], [2, 0]))
    assert NUMPY.reshape(a, (15, 2)).shape == (15, 2) and NUMPY.reshape([1, 2, 3, 4], (2, 2)).shape == (2, 2)
    np.testing.assert_array_equal(NUMPY.swapaxes(a, 0, 2), np.swapaxes(a, 0, 2))
    for args, kwargs in (((3,), {}), ((3, 4), {}), ((4,), {"k": 1}), ((2,), {"dtype": np.float32})):
        np.testing.assert_array_equal(NUMPY.eye(*args, **kwargs), np.eye(*args, **kwargs))
        assert NUMPY.eye(*args, **kwargs).dtype == np.eye(*args, **kwargs).dtype
    first = NUMPY.eye(3)
    first[0, 0] = 7.0  # a copy: the remembered identity is not changed
    assert NUMPY.eye(3)[0, 0] == 1.0


def test_every_other_name_is_numpys_own():
    for name in ("where", "linalg", "float64", "concatenate", "einsum", "pi", "cross", "errstate"):
        assert getattr(NUMPY, name) is getattr(np, name)
    with pytest.raises(AttributeError):
        NUMPY.no_such_numpy_function  # noqa: B018
    assert is_numpy(np) and is_numpy(NUMPY) and NumpyBackend.xp is NUMPY
    assert not is_numpy(pytest)
