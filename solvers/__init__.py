"""Numerical methods on a residual problem (``ik_engine.problem.ResidualProblem``)."""

from .gradient_descent import GradientOptions, build_gradient_descent
from .levenberg_marquardt import build_levenberg_marquardt
from .lm_options import LMOptions

__all__ = ["GradientOptions", "LMOptions", "build_gradient_descent", "build_levenberg_marquardt"]
