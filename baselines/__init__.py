"""Baseline IK methods, measured against our solver on the same skeletons, targets and rules.

Each is a function ``method(skeleton, constraints, joints=None, init=None, options=None)``
returning an ``ik_engine.IKResult`` (see ``common``):

* ``ccd``: cyclic coordinate descent (Wang & Chen 1991; Kenwright 2012);
* ``fabrik``: forward and backward reaching with joint limits (Aristidou & Lasenby 2011);
* ``ipopt``: an interior-point NLP over the joint angles with exact derivatives (needs the
  ``ipopt`` extra: casadi, which ships IPOPT).

The paper's first-order method runs on our own kinematics as ``IKSolver(method="gradient")``.
"""

from .ccd import CCDOptions, ccd
from .common import BaselineOptions
from .fabrik import FABRIKOptions, fabrik
from .ipopt import IPOPTOptions, ipopt

BASELINES = {"ccd": ccd, "fabrik": fabrik, "ipopt": ipopt}

__all__ = ["BASELINES", "BaselineOptions", "CCDOptions", "ccd", "FABRIKOptions", "fabrik", "IPOPTOptions", "ipopt"]
