"""numpy as the interpreter's array namespace, with its most called functions made cheaper.

The interpreter (``ik_engine.backends.numpy_backend``) runs the solver's code op by op on small
arrays, where numpy's Python-level wrappers cost as much as the work: ``np.take``, ``np.sum``,
``np.max`` or ``np.all`` go through ``numpy._core.fromnumeric`` (argument dispatch, a dict of
keyword arguments) before reaching the C method or ufunc reduction that does the work, and
``np.eye`` builds its matrix in Python. An interpreted iteration calls them some 200 times.
``NUMPY`` is a module that is numpy for every name except those, which call the C method or
reduction directly (for arrays; anything else goes to numpy's own function) and, for ``eye``,
copy a remembered matrix. Measured: see docs/compilation.md ("Where an interpreted solve spends
its time").

Code that has a faster numpy-only branch asks ``is_numpy(xp)`` (true for numpy and ``NUMPY``).
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

_EYES: dict[tuple, np.ndarray] = {}


class _Namespace(types.ModuleType):
    """numpy's names, looked up once each (``__getattr__`` runs only for names not set here)."""

    def __getattr__(self, name: str) -> Any:
        value = getattr(np, name)
        setattr(self, name, value)
        return value


NUMPY = _Namespace("ik_engine.numpy_namespace.NUMPY", "numpy for the interpreter (see ik_engine.numpy_namespace)")


def is_numpy(xp: Any) -> bool:
    """Whether ``xp`` is numpy (itself or ``NUMPY``)."""
    return xp is np or xp is NUMPY


def _take(a, indices, axis=None, out=None, mode="raise"):
    if type(a) is np.ndarray and out is None:
        return a.take(indices, axis=axis, mode=mode)
    return np.take(a, indices, axis=axis, out=out, mode=mode)


def _reduction(ufunc: np.ufunc, fallback):
    def reduce(a, axis=None, *args, **kwargs):
        if type(a) is np.ndarray and not args and "out" not in kwargs:
            return ufunc.reduce(a, axis=axis, **kwargs)
        return fallback(a, axis, *args, **kwargs)

    reduce.__name__ = fallback.__name__
    return reduce


def _reshape(a, shape=None, *args, **kwargs):
    if type(a) is np.ndarray and not args and not kwargs:
        return a.reshape(shape)
    return np.reshape(a, shape, *args, **kwargs)


def _swapaxes(a, axis1, axis2):
    if type(a) is np.ndarray:
        return a.swapaxes(axis1, axis2)
    return np.swapaxes(a, axis1, axis2)


def _eye(N, M=None, k=0, dtype=float, order="C", *, device=None, like=None):
    key = (N, M, k, np.dtype(dtype), order)
    if device is not None or like is not None:
        return np.eye(N, M, k, dtype=dtype, order=order, device=device, like=like)
    eye = _EYES.get(key)
    if eye is None:
        eye = _EYES[key] = np.eye(N, M, k, dtype=dtype, order=order)
    return eye.copy()


NUMPY.take = _take
NUMPY.sum = _reduction(np.add, np.sum)
NUMPY.max = _reduction(np.maximum, np.max)
NUMPY.min = _reduction(np.minimum, np.min)
NUMPY.all = _reduction(np.logical_and, np.all)
NUMPY.any = _reduction(np.logical_or, np.any)
NUMPY.reshape = _reshape
NUMPY.swapaxes = _swapaxes
NUMPY.eye = _eye
