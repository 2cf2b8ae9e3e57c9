"""Constraint parameters as typed structures: each kind names its fields in a NamedTuple.

A solve hands every constraint's parameters to the compiled program as one flat float vector
(one array argument: a new target never recompiles). Each kind declares its fields once, as a
NamedTuple of arrays, and goes through the flat vector only here: ``pack`` lays the fields out
one after the other along the last axis (each field flattened, a leading batch axis kept), and
``unpack`` reads them back by name, shaped, from the vector (or from (k, P) rows of k
constraints of a kind evaluated together). Inside a traced program the slices are static, so
reading by name costs nothing at run time.
"""

from __future__ import annotations

from math import prod
from typing import Any, Mapping, NamedTuple, TypeVar

import numpy as np

Structure = TypeVar("Structure")


def pack(fields: NamedTuple) -> np.ndarray:
    """float64 (P,) or (B, P): the fields in declaration order, each given flat per item
    (..., n_f) (a scalar as ``[value]``); leading batch axes broadcast against each other."""
    arrays = [np.asarray(value, dtype=np.float64) for value in fields]
    if all(a.ndim == 1 for a in arrays):  # one constraint's fields (every single solve): no broadcasting
        return np.concatenate(arrays)
    lead = np.broadcast_shapes(*(a.shape[:-1] for a in arrays))
    return np.concatenate([np.broadcast_to(a, lead + a.shape[-1:]) for a in arrays], axis=-1)


def unpack(structure: type[Structure], params: Any, shapes: Mapping[str, tuple[int, ...]], xp: Any) -> Structure:
    """The fields of ``structure`` read by name from ``params`` (..., P): field ``f`` is the
    next ``prod(shapes[f])`` entries along the last axis, shaped (..., *shapes[f])."""
    out, start = {}, 0
    lead = tuple(params.shape[:-1])
    for name in structure._fields:
        shape = tuple(shapes[name])
        size = prod(shape)  # (math.prod: np.prod of a tuple costs microseconds, run per field per evaluation)
        piece = params[..., start : start + size]
        out[name] = piece[..., 0] if shape == () else (piece if len(shape) == 1 else xp.reshape(piece, lead + shape))
        start += size
    if start != params.shape[-1]:
        raise ValueError(f"{structure.__name__} takes {start} parameters, got {params.shape[-1]}")
    return structure(**out)


def size(shapes: Mapping[str, tuple[int, ...]]) -> int:
    """P, the length of the flat vector of fields of these shapes."""
    return int(sum(np.prod(shape, dtype=np.int64) for shape in shapes.values()))
