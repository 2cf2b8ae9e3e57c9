"""Checks of scalar inputs shared by constraints, solvers and loaders."""

from __future__ import annotations

import math
from typing import Any

from .errors import IKError


def finite_number(value: Any, what: str, error: type[IKError], minimum: float | None = None,
                  strictly_above: bool = False, unit: str = "") -> float:
    """``float(value)``, or ``error`` saying what was wrong with it.

    Args:
        what: the name of the quantity in the message ("Avoid margin").
        error: the exception class to raise.
        minimum: the smallest allowed value (None: any finite number).
        strictly_above: whether ``minimum`` itself is excluded.
        unit: shown in the "must be a number" message, e.g. "metres".
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise error(f"{what} must be a number{f' ({unit})' if unit else ''}, got {value!r}") from None
    bound = "" if minimum is None else f" and {'>' if strictly_above else '>='} {minimum:g}"
    if not math.isfinite(v) or (minimum is not None and (v < minimum or (strictly_above and v == minimum))):
        raise error(f"{what} must be finite{bound}, got {value!r}")
    return v
