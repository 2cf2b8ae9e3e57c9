"""Checks of scalar inputs shared by constraints, solvers and loaders."""

from __future__ import annotations

import math
from typing import Any

from .errors import IKError


# The largest magnitude of a world coordinate or a length, metres (10,000 km): beyond it a
# float32 compiled program has no millimetre left (its spacing there is 1 m), and an input
# that large is a unit mistake more likely than a scene.
MAX_COORDINATE = 1e7
# The largest rotation angle accepted in a pose, radians: larger ones are the same rotations
# as angles within pi, and say more about a unit mistake (degrees) than about a pose.
MAX_ANGLE = 1e3


def finite_number(value: Any, what: str, error: type[IKError], minimum: float | None = None,
                  strictly_above: bool = False, unit: str = "", maximum: float | None = None) -> float:
    """``float(value)``, or ``error`` saying what was wrong with it.

    Args:
        what: the name of the quantity in the message ("Avoid margin").
        error: the exception class to raise.
        minimum: the smallest allowed value (None: any finite number).
        strictly_above: whether ``minimum`` itself is excluded.
        unit: shown in the "must be a number" message, e.g. "metres".
        maximum: the largest allowed absolute value (None: any finite number).
    """
    if isinstance(value, (str, bytes, bool)):  # float("1e-3") and float(True) work, but are not meant
        raise error(f"{what} must be a number{f' ({unit})' if unit else ''}, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise error(f"{what} must be a number{f' ({unit})' if unit else ''}, got {value!r}") from None
    bound = "" if minimum is None else f" and {'>' if strictly_above else '>='} {minimum:g}"
    if not math.isfinite(v) or (minimum is not None and (v < minimum or (strictly_above and v == minimum))):
        raise error(f"{what} must be finite{bound}, got {value!r}")
    if maximum is not None and abs(v) > maximum:
        raise error(f"{what} must be within +-{maximum:g}{f' {unit}' if unit else ''}, got {value!r}")
    return v


def distinct_names(value: Any, what: str, error: type[IKError], item: str, known=None,
                   single_string: bool = False) -> tuple[str, ...]:
    """A non-empty tuple of distinct names, each in ``known`` (if given), or ``error``.

    Args:
        what: the argument in messages ("Avoid segments").
        item: what one name denotes ("body capsule", "foot", "joint name").
        known: the allowed names, or None for any.
        single_string: accept one name given as a plain string.
    """
    if isinstance(value, str):
        if not single_string:
            raise error(f"{what} must be a list of {item}s, not the single string {value!r}")
        value = (value,)
    try:
        names = tuple(value)
    except TypeError:
        raise error(f"{what} must be a list of {item}s, got {value!r}") from None
    if not names:
        raise error(f"{what} must name at least one {item}")
    if known is not None:
        for n in names:
            if n not in known:
                raise error(f"{what}: unknown {item} {n!r}; known: {', '.join(known)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise error(f"{what} names {item} {repeated[0]!r} twice: {list(names)}")
    return names
