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
from .export import export_glb
from .gltf import export_gltf
from .mesh import Mesh, load_default_mesh, skin
from .motion import Motion
from .pose import Pose
from .render import render_poses, render_strip
from .skeleton import Skeleton
from .sequence import SequenceResult
from .skeleton_loading import load_skeleton
from .batch_result import BatchResult
from .solve_function import solve
from .solver import IKResult, IKSolver
from .tracking import TrackingResult, effector_tracks, track
from .fitting import FitResult, fit_joints
from ik_engine.skeletons.bvh import CMU_UNIT, load_bvh
from ik_engine.skeletons.bvh_write import save_bvh
from ik_engine.skeletons.smplx_params import load_poses_npz, save_poses_npz

__version__ = "0.1.0"


def view(skeleton="smplx", poses=None, constraints=None, **options):
    """Start the interactive browser viewer (needs the ``viewer`` extra, viser) and return its
    handle: ``handle.url``, ``handle.set_target("left_hand", position=..., rotation=...)``,
    ``handle.pose``, ``handle.result``, ``handle.stop()``. See ik_engine/viewer/app.py."""
    from .viewer.app import view as start_viewer

    return start_viewer(skeleton, poses, constraints, **options)


__all__ = [
    "Avoid",
    "Balance",
    "BatchResult",
    "BoneDirection",
    "Capsule",
    "centre_of_mass",
    "Constraint",
    "ConstraintError",
    "effector_tracks",
    "export_glb",
    "export_gltf",
    "fit_joints",
    "FitResult",
    "Floor",
    "IKError",
    "IKResult",
    "IKSolver",
    "load_bvh",
    "CMU_UNIT",
    "load_default_mesh",
    "load_poses_npz",
    "load_skeleton",
    "LookAt",
    "Mesh",
    "Motion",
    "Orientation",
    "Pin",
    "PoleVector",
    "Pose",
    "PoseError",
    "Position",
    "render_poses",
    "render_strip",
    "RestPose",
    "save_bvh",
    "save_poses_npz",
    "SelfCollision",
    "SequenceResult",
    "Skeleton",
    "SkeletonError",
    "SkeletonFileError",
    "skin",
    "Smoothness",
    "solve",
    "SolverError",
    "Sphere",
    "track",
    "TrackingResult",
    "UnknownJointError",
    "view",
]
