"""Numerical methods on a residual problem (``ik_engine.problem.ResidualProblem``)."""

from .levenberg_marquardt import LMOptions, build_levenberg_marquardt

__all__ = ["LMOptions", "build_levenberg_marquardt"]
