"""Numerical methods on a residual problem (``ik_engine.problem.ResidualProblem``)."""

from .gradient_descent import GradientOptions, build_gradient_descent
from .levenberg_marquardt import LMOptions, build_levenberg_marquardt

__all__ = ["GradientOptions", "LMOptions", "build_gradient_descent", "build_levenberg_marquardt"]
