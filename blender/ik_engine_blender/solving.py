"""One solve of an armature: scene -> engine -> pose bones, with the compiled solvers cached.

An ``IKSolver`` is kept per armature model (bones, rest pose, limits: ``ArmatureModel.fingerprint``)
and root setting; it compiles one program per constraint structure (kinds, bones, priorities) and
reuses it for every new target, so after the first solve of a structure a solve costs
milliseconds. Nothing in the scene is written until the solve has succeeded.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .armature_skeleton import ArmatureModel, armature_model
from .dependencies import DependencyError, engine
from .errors import AddonError
from .scene_constraints import SceneConstraints, scene_constraints

_SOLVERS: OrderedDict[tuple, object] = OrderedDict()
_SOLVER_CACHE_SIZE = 8
# Structures (solver key, constraint structure) whose program is compiled.
_COMPILED: set[tuple] = set()


@dataclass(frozen=True)
class Solution:
    """A solved pose, not yet written.

    Attributes:
        model: the armature model it belongs to.
        pose: the ik_engine.Pose (skeleton joint order).
        result: the engine's IKResult.
        joints: skeleton indices whose rotation the solve may have changed (the constrained
            joints and their ancestors that move).
        move_root: whether the root bone's location was solved for.
        seconds: wall time from reading the scene to the solved pose.
    """

    model: ArmatureModel
    pose: object
    result: object
    joints: tuple
    move_root: bool
    seconds: float

    def summary(self) -> str:
        r = self.result
        text = f"{'solved' if r.converged else 'best effort (not all targets met)'} in {self.seconds * 1e3:.1f} ms"
        if r.position_error > 0:
            text += f"; position error {r.position_error * 1e3:.2f} mm"
        if r.orientation_error > 0:
            text += f"; orientation error {np.degrees(r.orientation_error):.2f} deg"
        return text


def solver_for(model: ArmatureModel, move_root: bool):
    """The cached IKSolver of an armature model (compiles nothing by itself)."""
    ik = engine()
    key = (model.fingerprint, move_root)
    solver = _SOLVERS.get(key)
    if solver is None:
        if not model.moving_bones and not move_root:
            raise AddonError("every bone is locked (IK locks on all three axes): nothing can move")
        solver = ik.IKSolver(model.skeleton, joints=list(model.moving_bones), move_root=move_root)
        _SOLVERS[key] = solver
        while len(_SOLVERS) > _SOLVER_CACHE_SIZE:
            _SOLVERS.popitem(last=False)
    else:
        _SOLVERS.move_to_end(key)
    return solver


def structure_key(model: ArmatureModel, move_root: bool, constraints) -> tuple:
    from ik_engine.problem import ResidualProblem

    return (model.fingerprint, move_root, ResidualProblem.structure_key(model.skeleton, constraints))


def is_compiled(key: tuple) -> bool:
    return key in _COMPILED


def affected_joints(model: ArmatureModel, constrained: tuple) -> tuple:
    """Skeleton indices of the moving bones that the constrained joints depend on."""
    skeleton = model.skeleton
    moving = set(skeleton.indices(model.moving_bones))
    chain = {a for j in constrained for a in skeleton.ancestors[j]}
    return tuple(sorted(chain & moving))


@dataclass(frozen=True)
class Problem:
    """Everything a solve needs, read from the scene (no engine call yet)."""

    model: ArmatureModel
    constraints: SceneConstraints
    move_root: bool
    init: object
    key: tuple
    started: float


def read_problem(armature_object, scene, depsgraph=None, init=None) -> Problem:
    """Read the armature, its constraints and (unless ``init`` is given) its current pose.

    Raises AddonError (or DependencyError) with a message for the user.
    """
    started = time.perf_counter()
    engine()
    if armature_object is None or armature_object.type != "ARMATURE":
        raise AddonError("select an armature object (the active object is not an armature)")
    if armature_object.mode == "EDIT":
        raise AddonError(f"armature {armature_object.name!r} is in Edit Mode: switch to Pose or Object Mode to solve")
    model = armature_model(armature_object)
    settings = armature_object.ik_engine
    move_root = bool(settings.move_root)
    if move_root and model.root_bone is None:
        raise AddonError(
            f"Move Root needs a single root bone; armature {armature_object.name!r} has several: "
            "parent them to one bone or turn Move Root off"
        )
    constraints = scene_constraints(armature_object, model, scene, depsgraph)
    if init is None:
        init = model.read_pose(armature_object)
    key = structure_key(model, move_root, constraints.constraints)
    return Problem(model, constraints, move_root, init, key, started)


def solve_problem(problem: Problem) -> Solution:
    """Run the engine on a read problem; engine errors become AddonError."""
    ik = engine()
    solver = solver_for(problem.model, problem.move_root)
    try:
        result = solver.solve(problem.constraints.constraints, init=problem.init)
    except ik.IKError as exc:
        raise AddonError(str(exc)) from None
    _COMPILED.add(problem.key)
    joints = affected_joints(problem.model, problem.constraints.joints)
    return Solution(problem.model, result.pose, result, joints, problem.move_root, time.perf_counter() - problem.started)


def solve_armature(armature_object, scene, depsgraph=None, init=None) -> Solution:
    """Read and solve; nothing written. AddonError for every problem the user can fix."""
    try:
        return solve_problem(read_problem(armature_object, scene, depsgraph, init))
    except DependencyError as exc:
        raise AddonError(str(exc)) from None


def apply_solution(armature_object, solution: Solution) -> list[str]:
    """Write a solution into the pose bones; returns the bone names written."""
    return solution.model.write_pose(
        armature_object, solution.pose, solution.joints, write_root_location=solution.move_root
    )


def keyframe_solution(armature_object, solution: Solution, bones: list[str], frame: float) -> None:
    """Insert keyframes for the written bones' rotations (and the root's location) at ``frame``."""
    pose_bones = armature_object.pose.bones
    for bone in bones:
        pb = pose_bones[bone]
        pb.keyframe_insert(rotation_path(pb), frame=frame, group=bone)
    if solution.move_root and solution.model.root_bone is not None:
        root = solution.model.root_bone
        pose_bones[root].keyframe_insert("location", frame=frame, group=root)


def rotation_path(pose_bone) -> str:
    mode = pose_bone.rotation_mode
    if mode == "QUATERNION":
        return "rotation_quaternion"
    if mode == "AXIS_ANGLE":
        return "rotation_axis_angle"
    return "rotation_euler"


def forget_solvers() -> None:
    """Drop every cached solver and model (unregister, or to free memory)."""
    from . import armature_skeleton

    _SOLVERS.clear()
    _COMPILED.clear()
    armature_skeleton._MODEL_CACHE.clear()
