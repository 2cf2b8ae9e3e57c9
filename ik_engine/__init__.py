"""ik-engine: real-time inverse kinematics for articulated characters.

    import ik_engine as ik
    skel = ik.load_skeleton("smplx")
    res = ik.solve(skel, [ik.Position("left_wrist", [0.5, 1.3, 0.3])], joints=[...])

Units: metres and radians. Rotations are axis-angle vectors in the parent's frame.
"""

from .constraints import (
    Avoid,
    Balance,
    BoneDirection,
    Capsule,
    Constraint,
    Floor,
    LookAt,
    Orientation,
    Pin,
    PoleVector,
    Position,
    RestPose,
    SelfCollision,
    Smoothness,
    Sphere,
)
from .constraints.balance import centre_of_mass
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
    "Avoid",
    "Balance",
    "BatchResult",
    "BoneDirection",
    "Capsule",
    "centre_of_mass",
    "Constraint",
    "ConstraintError",
    "Floor",
    "IKError",
    "IKResult",
    "IKSolver",
    "load_skeleton",
    "LookAt",
    "Orientation",
    "Pin",
    "PoleVector",
    "Pose",
    "PoseError",
    "Position",
    "RestPose",
    "SelfCollision",
    "SequenceResult",
    "Skeleton",
    "SkeletonError",
    "SkeletonFileError",
    "Smoothness",
    "solve",
    "SolverError",
    "Sphere",
    "UnknownJointError",
]
