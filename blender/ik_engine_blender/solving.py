"""One solve of an armature: scene -> engine -> pose bones, with the engine's solvers cached.

An ``IKSolver`` is kept per armature model (bones, rest pose, limits: ``ArmatureModel.fingerprint``),
root setting and position tolerance. The engine never blocks on a compile: a constraint
structure's first solves are interpreted (milliseconds), and a structure solved again compiles
in the engine's own background thread and is used once ready (``ik_engine.programs``). So
Solve, Live and Bake answer at once after any change of the constraints. Nothing in the scene
is written until the solve has succeeded.

Units: the engine works in the armature's solve frame, whose unit is the armature's own (one
Blender unit before the object's scale). The position tolerance is scaled so that it means
``POSITION_TOLERANCE`` metres in the world (object scale and the scene's Unit Scale), and errors
are reported in metres of the world.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .armature_skeleton import ArmatureModel, armature_model
from .dependencies import DependencyError, engine
from .errors import AddonError
from .following import follow_edits
from .scene_constraints import SceneConstraints, scene_constraints

# Metres in the world: a Position-like constraint within it is met.
POSITION_TOLERANCE = 1e-4
_SOLVERS: OrderedDict[tuple, "CachedSolver"] = OrderedDict()
_SOLVER_CACHE_SIZE = 8


class CachedSolver:
    """A cached IKSolver; engine errors of its solves become AddonError."""

    def __init__(self, solver) -> None:
        self.solver = solver
        self._engine_error = engine().IKError

    def solve(self, constraints, init):
        try:
            return self.solver.solve(constraints, init=init)
        except self._engine_error as exc:
            raise AddonError(str(exc)) from None


@dataclass(frozen=True)
class Solution:
    """A solved pose, not yet written.

    Attributes:
        model: the armature model it belongs to.
        pose: the ik_engine.Pose (skeleton joint order).
        result: the engine's IKResult (errors in solve-frame units and radians).
        joints: skeleton indices whose rotation the solve may have changed (the constrained
            joints and their ancestors that move).
        move_root: whether the root bone's location was solved for.
        seconds: wall time from reading the scene to the solved pose.
        metres_per_unit: world metres per solve-frame unit (see ``Problem``).
    """

    model: ArmatureModel
    pose: object
    result: object
    joints: tuple
    move_root: bool
    seconds: float
    metres_per_unit: float
    unmovable: tuple = ()

    @property
    def position_error(self) -> float:
        """The largest position error in the world, metres."""
        return self.result.position_error * self.metres_per_unit

    def summary(self) -> str:
        r = self.result
        text = f"{'solved' if r.converged else 'best effort (not all targets met)'} in {self.seconds * 1e3:.1f} ms"
        if r.position_error > 0:
            text += f"; position error {self.position_error * 1e3:.2f} mm"
        if r.orientation_error > 0:
            text += f"; orientation error {np.degrees(r.orientation_error):.2f} deg"
        if not r.converged and self.unmovable:
            text += (f". Nothing that moves can carry {', '.join(self.unmovable)}: its point is the root bone's head "
                     "or its parent bones are locked; turn on Move Root (or unlock a parent bone)")
        return text


def position_tolerance(metres_per_unit: float) -> float:
    """The engine's position tolerance (solve-frame units) that is at most ``POSITION_TOLERANCE``
    metres in the world. The scale is rounded up to a power of two, so that an animated scale
    makes few solvers (each compiles its structures anew), and a unit of one metre gives exactly
    ``POSITION_TOLERANCE``."""
    return POSITION_TOLERANCE / 2.0 ** math.ceil(math.log2(metres_per_unit) - 1e-9)


def cached_solver(model: ArmatureModel, move_root: bool, tolerance: float) -> CachedSolver:
    """The cached solver of an armature model, root setting and position tolerance."""
    ik = engine()
    key = (model.fingerprint, move_root, tolerance)
    cached = _SOLVERS.get(key)
    if cached is None:
        if not model.moving_bones and not move_root:
            raise AddonError("every bone is locked (IK locks on all three axes): nothing can move")
        solver = ik.IKSolver(
            model.skeleton, joints=list(model.moving_bones), move_root=move_root, position_tolerance=tolerance
        )
        cached = CachedSolver(solver)
        _SOLVERS[key] = cached
        while len(_SOLVERS) > _SOLVER_CACHE_SIZE:
            _SOLVERS.popitem(last=False)
    else:
        _SOLVERS.move_to_end(key)
    return cached


def affected_joints(model: ArmatureModel, constrained: tuple) -> tuple:
    """Skeleton indices of the moving bones that the constrained joints depend on."""
    skeleton = model.skeleton
    moving = model.moving_joints
    chain = {a for j in constrained for a in skeleton.ancestors[j]}
    return tuple(sorted(chain & moving))


@dataclass(frozen=True)
class Problem:
    """Everything a solve needs, read from the scene (no engine call yet).

    Attributes:
        structure: the constraint structure (what a compiled program is for).
        metres_per_unit: world metres per solve-frame unit: the armature object's largest
            scale times the scene's Unit Scale.
    """

    armature_name: str
    model: ArmatureModel
    constraints: SceneConstraints
    move_root: bool
    init: object
    structure: tuple
    metres_per_unit: float
    started: float
    unmovable: tuple = ()

    def solver(self) -> CachedSolver:
        return cached_solver(self.model, self.move_root, position_tolerance(self.metres_per_unit))


def read_problem(armature_object, scene, depsgraph=None, init=None) -> Problem:
    """Read the armature, its constraints and (unless ``init`` is given) its current pose.

    Raises AddonError (or DependencyError) with a message for the user.
    """
    started = time.perf_counter()
    engine()
    from ik_engine.problem import ResidualProblem

    if armature_object is None or armature_object.type != "ARMATURE":
        raise AddonError("select an armature object (the active object is not an armature)")
    if armature_object.mode == "EDIT":
        raise AddonError(f"armature {armature_object.name!r} is in Edit Mode: switch to Pose or Object Mode to solve")
    follow_edits(armature_object)
    model = armature_model(armature_object)
    settings = armature_object.ik_engine
    move_root = bool(settings.move_root)
    if move_root and model.root_bone is None:
        raise AddonError(
            f"Move Root needs a single root bone; armature {armature_object.name!r} has several: "
            "parent them to one bone or turn Move Root off"
        )
    constraints = scene_constraints(armature_object, model, scene, depsgraph)
    metres_per_unit = constraints.frame.largest_scale * float(scene.unit_settings.scale_length)
    if not (math.isfinite(metres_per_unit) and metres_per_unit > 0):
        raise AddonError(f"the scene's Unit Scale ({scene.unit_settings.scale_length}) must be above zero")
    if init is None:
        init = model.read_pose(armature_object)
    structure = ResidualProblem.structure_key(model.skeleton, constraints.constraints)
    unmovable = () if move_root else unmovable_points(armature_object, model, constraints)
    return Problem(armature_object.name, model, constraints, move_root, init, structure, metres_per_unit, started,
                   unmovable)


def unmovable_points(armature_object, model: ArmatureModel, constraints: SceneConstraints) -> tuple:
    """Labels of the items whose target point no moving bone can carry (without Move Root):
    a Position on a joint none of whose strict ancestors moves, and whose own rotation cannot
    swing the point either (the bone's head, or a locked bone)."""
    from .scene_constraints import label

    ik = engine()
    skeleton = model.skeleton
    moving = model.moving_joints
    out = []
    items = armature_object.ik_engine.constraints
    for constraint, i in zip(constraints.constraints, constraints.items):
        if not isinstance(constraint, ik.Position):
            continue
        j = skeleton.index(constraint.joint)
        carried = any(a in moving for a in skeleton.ancestors[j] if a != j)
        swung = j in moving and bool(np.any(np.asarray(constraint.offset) != 0.0))
        if not carried and not swung:
            out.append(label(i, items[i]))
    return tuple(dict.fromkeys(out))


def solve_problem(problem: Problem, cached: CachedSolver | None = None) -> Solution:
    """Run the engine on a read problem (with ``cached``, the problem's solver, if already
    looked up). AddonError for engine errors."""
    cached = problem.solver() if cached is None else cached
    result = cached.solve(problem.constraints.constraints, problem.init)
    joints = affected_joints(problem.model, problem.constraints.joints)
    return Solution(problem.model, result.pose, result, joints, problem.move_root,
                    time.perf_counter() - problem.started, problem.metres_per_unit, problem.unmovable)


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
    from . import armature_skeleton, pose_memory

    _SOLVERS.clear()
    armature_skeleton.forget_models()
    pose_memory.forget()
