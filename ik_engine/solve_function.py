"""``ik.solve``: one call, with the solver kept per skeleton and options (no recompiling in a loop)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .constraints.base import Constraint
from .errors import SolverError
from .pose import Pose
from .result import IKResult
from .skeleton import Skeleton
from .skeleton_cache import SkeletonCache
from .solver import IKSolver

# Solvers ``ik.solve`` keeps per skeleton (one per distinct set of options).
MAX_CACHED_SOLVERS = 16

_solvers = SkeletonCache(max_per_skeleton=MAX_CACHED_SOLVERS)


def solve(skeleton: Skeleton, constraints: Sequence[Constraint], init: Pose | None = None, **options) -> IKResult:
    """Solve once: ``IKSolver(skeleton, **options).solve(constraints, init)``.

    Solvers are cached per skeleton and options, so calling this in a loop does not recompile.
    """
    if not isinstance(skeleton, Skeleton):
        raise SolverError(f"ik.solve needs an ik_engine.Skeleton, got {type(skeleton).__name__}")
    def hashable(value):
        if isinstance(value, (set, frozenset)):
            return tuple(sorted(value, key=repr))
        return tuple(value) if isinstance(value, (list, tuple, np.ndarray)) else value

    key = tuple(sorted((k, hashable(v)) for k, v in options.items()))
    return _solvers.get(skeleton, key, lambda: IKSolver(skeleton, **options)).solve(constraints, init)

