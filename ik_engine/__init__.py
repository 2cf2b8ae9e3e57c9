"""ik-engine: real-time inverse kinematics for articulated characters.

    import ik_engine as ik
    skel = ik.load_skeleton("smplx")
    res = ik.solve(skel, [ik.Position("left_wrist", [0.5, 1.3, 0.3])], joints=[...])

Units: metres and radians. Rotations are axis-angle vectors in the parent's frame.
"""

from .constraints import BoneDirection, Constraint, LookAt, Orientation, Pin, PoleVector, Position, RestPose, Smoothness
from .errors import (
    ConstraintError,
    IKError,
    PoseError,
    SkeletonError,
    SkeletonFileError,
    SolverError,
    UnknownJointError,
)
from .pose import Pose
from .skeleton import Skeleton
from .sequence import SequenceResult
from .skeleton_loading import load_skeleton
from .solver import BatchResult, IKResult, IKSolver, solve

__version__ = "0.1.0"

__all__ = [
    "BoneDirection",
    "LookAt",
    "Pin",
    "PoleVector",
    "Constraint",
    "ConstraintError",
    "IKError",
    "BatchResult",
    "IKResult",
    "IKSolver",
    "Orientation",
    "Pose",
    "PoseError",
    "Position",
    "RestPose",
    "Smoothness",
    "SequenceResult",
    "Skeleton",
    "SkeletonError",
    "SkeletonFileError",
    "SolverError",
    "UnknownJointError",
    "load_skeleton",
    "solve",
]
