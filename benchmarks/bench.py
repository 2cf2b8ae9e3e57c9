"""The benchmark runner behind ``ik-engine bench``: every method on every scenario.

    ik-engine bench [--scenario NAME ... | all] [--methods NAME ...] [--n N] [--seed S]
                    [--skeleton smplx | MODEL.npz | MODEL.pkl | SKELETON.bvh]
                    [--bvh CLIP.bvh] [--quick] [--out DIR]

It follows the project's benchmark protocol (README, "Benchmarks"): targets reachable by
construction, the same targets, skeleton, limits, rest-pose start and success rule for every
method, success measured with float64 forward kinematics (position <= 1 mm and orientation
<= 1 degree; also the shares within 5 mm / 5 degrees and within 1 cm), wall time of the
public call after a warm-up, the first call (compilation) measured apart: in fresh processes
with an empty and then a warm compile cache for our solver, in-process for the baselines.

Scenarios (``SCENARIOS``):

- single solves, every method that can express their constraints: arm_reach, arm_pose,
  strict_limits, full_body, multi_constraint;
- our solver's methods only: animation_loop (warm-started frames), mocap_tracking (a BVH
  clip, frame by frame), batch_scaling (1 to 4096 problems in one ``solve_batch``);
- real time in use, our default solver (benchmarks/realtime.py): structure_changes (an
  editing session in a fresh process with an empty compile cache: first answer, then 40
  edits of the constraint structure each followed by a solve) and frame_loop (arm and full
  body following smooth targets with 2 ms of numpy work between solves, back to back beside);
  out_of_reach (benchmarks/default_settings.py: 200 arm problems out of reach, the default
  solver's weighted cost beside IPOPT's best of 31 starts, and a hand target moving out of
  reach for 300 frames, warm-started: the largest jump of the hand).

Methods (``METHODS``): lm and gradient (``IKSolver`` on JAX), lm-tensorflow and
gradient-tensorflow (when the TensorFlow backend is installed), ccd, fabrik and ipopt (the
baselines; ipopt needs casadi).

Writes ``results.json`` (every figure, the raw per-solve times and errors, each method's
settings, the machine), ``results.md`` (the tables) and PNG plots to ``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import inspect
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

SINGLE_SOLVE_SCENARIOS = ("arm_reach", "arm_pose", "strict_limits", "full_body", "multi_constraint")
OUR_SOLVER_SCENARIOS = ("animation_loop", "mocap_tracking", "batch_scaling")
# Real time in use (benchmarks/realtime.py): our default solver as a user meets it, not
# method against method: an editing session from a fresh process, and frame loops.
REALTIME_SCENARIOS = ("structure_changes", "frame_loop", "out_of_reach")
SCENARIOS = SINGLE_SOLVE_SCENARIOS + OUR_SOLVER_SCENARIOS + REALTIME_SCENARIOS
REALTIME_SIZES = {"edits": 40, "frames": 300, "work_ms": 2.0, "far": 200, "ipopt_starts": 30}
QUICK_REALTIME_SIZES = {"edits": 10, "frames": 60, "work_ms": 2.0, "far": 10, "ipopt_starts": 5}

BATCH_SIZES = (1, 4, 16, 64, 256, 1024, 4096)
QUICK_BATCH_SIZES = (1, 16, 256)  # each size compiles its own program: few in a quick run
DEFAULT_N = 500  # problems per single-solve scenario
DEFAULT_FRAMES = 1000  # frames of the animation loop and of the mocap clip (at most its length)
QUICK_N = 10  # --quick: problems and frames
QUICK_MOCAP_FRAMES = 120
from ik_engine.skeletons.bvh import CMU_UNIT as CMU_SCALE  # CMU BVH units to metres
# Ships with the package (benchmarks/data/README.md has its source and terms).
DEFAULT_CLIP = Path(__file__).resolve().parent / "data" / "131_01.bvh"

# One success rule for every method (the protocol's): errors measured with float64 FK.
POSITION_TOLERANCE = 1e-4  # metres: what every solver is asked to reach
ORIENTATION_TOLERANCE = 1e-3  # radians
SUCCESS_THRESHOLDS = (("1mm", 1e-3, np.radians(1.0)), ("5mm", 5e-3, np.radians(5.0)), ("1cm", 1e-2, None))
LIMIT_VIOLATION_THRESHOLD = 1e-4  # radians, as in the protocol
GRADIENT_MAX_ITERATIONS = 1000  # the first-order method's budget (at least this, whatever the scenario sets)

# Joints the scenarios name that CMU BVH skeletons have under another name, besides the
# retargeting map of ik_engine.tracking.CMU_TO_SMPLX.
CMU_EXTRA_NAMES = {
    "LeftCollar": "left_collar", "RightCollar": "right_collar", "LFingers": "left_middle1", "RFingers": "right_middle1",
    "lowerback": "spine1", "Chest": "spine2", "Neck": "neck",
}


class BenchArgumentError(Exception):
    """A bad command-line argument (reported in one line, exit code 2)."""


# ---------------------------------------------------------------------------- workloads
@dataclass
class Workload:
    """The problems of one scenario, as every method sees them.

    Attributes:
        name, description: the scenario.
        skeleton: the skeleton every method solves on (its limits are the limits).
        moving: joints that may move; ``move_root``: whether the root translation does.
        size: problems (single solves) or frames (loops); for batches the largest batch.
        constraints: (i, previous answer) -> constraints of problem or frame i.
        errors: (i, pose) -> (largest position error m, largest orientation error rad),
            measured with float64 forward kinematics.
        init: the start of every solve (single solves) or of frame 0 (loops).
        cold_start: single solves from the rest pose: our solver is called without ``init``
            (a cold start, as a user calls it), the baselines with the rest pose.
        warm_start: each frame starts from the previous frame's answer.
        rotations: orientation-like targets are part of success (<= 1 degree).
        solver_options: settings the scenario fixes (max_iterations for every method,
            restarts for our solver).
        our_solver_only: loops and batches: run by our solver's methods only.
        batch_sizes, batch_constraints: batch scenario: B -> constraints with (B, 3) targets
            of problems 0..B-1.
    """

    name: str
    description: str
    skeleton: Any
    moving: tuple[str, ...]
    move_root: bool
    size: int
    constraints: Callable[[int, Any], list]
    errors: Callable[[int, Any], tuple[float, float]]
    init: Any
    warm_start: bool = False
    rotations: bool = False
    solver_options: dict = field(default_factory=dict)
    our_solver_only: bool = False
    batch_sizes: tuple[int, ...] = ()
    batch_constraints: Callable[[int], list] | None = None
    cold_start: bool = False

    def first_call(self, runner: "Runner") -> None:
        """The call that compiles: the first problem (the smallest batch for batches)."""
        if self.batch_sizes:
            runner.solve_batch(self.batch_constraints(self.batch_sizes[0]))
        else:
            runner.solve(self.constraints(0, self.init), self.init)


def _rebuilt(skeleton, names=None, lower=None, upper=None, name=None):
    """A copy of ``skeleton`` with other joint names or limits."""
    import ik_engine as ik

    return ik.Skeleton(
        skeleton.joint_names if names is None else names, skeleton.parents, skeleton.rest_offsets,
        skeleton.lower if lower is None else lower, skeleton.upper if upper is None else upper,
        rest_rotations=skeleton.rest_rotations, radii=skeleton.radii, name=name or skeleton.name,
        coordinates=skeleton.coordinates,
    )


def _angle_between(R_a: np.ndarray, R_b: np.ndarray) -> float:
    """Angle of the rotation taking frame b onto frame a, radians."""
    return float(np.arccos(np.clip((np.trace(R_a @ R_b.T) - 1.0) / 2.0, -1.0, 1.0)))


def _from_scenario(scenario, skeleton, name: str | None = None, description: str | None = None) -> Workload:
    """A workload of one of benchmarks/scenarios.py's scenarios (cold start at rest)."""
    return Workload(
        name or scenario.name, description or scenario.description, skeleton, tuple(scenario.moving),
        scenario.move_root, scenario.size,
        constraints=lambda i, previous: scenario.constraints(i),
        errors=lambda i, pose: scenario.errors(skeleton, i, pose),
        init=skeleton.rest_pose(), rotations=bool(scenario.rotations), solver_options=dict(scenario.solver_options),
        cold_start=True,
    )


def arm_reach(skeleton, n: int, seed: int) -> Workload:
    from ik_engine.benchmarks import scenarios

    return _from_scenario(scenarios.arm_reach(skeleton, n, seed), skeleton)


def arm_pose(skeleton, n: int, seed: int) -> Workload:
    from ik_engine.benchmarks import scenarios

    return _from_scenario(scenarios.arm_pose(skeleton, n, seed), skeleton)


def full_body(skeleton, n: int, seed: int) -> Workload:
    from ik_engine.benchmarks import scenarios

    return _from_scenario(scenarios.full_body(skeleton, n, seed), skeleton)


def strict_limits(skeleton, n: int, seed: int) -> Workload:
    """Arm reach with each arm joint's limit box narrowed to half its width around its centre;
    targets drawn inside the narrowed limits, every method solving on the narrowed skeleton."""
    from ik_engine.benchmarks import scenarios

    arm = skeleton.indices(scenarios.ARM_JOINTS)
    lower, upper = skeleton.lower.copy(), skeleton.upper.copy()
    lo, hi = np.maximum(lower[arm], -np.pi), np.minimum(upper[arm], np.pi)
    centre, quarter = 0.5 * (lo + hi), 0.25 * (hi - lo)
    lower[arm], upper[arm] = centre - quarter, centre + quarter
    narrowed = _rebuilt(skeleton, lower=lower, upper=upper, name=f"{skeleton.name} (arm limits halved)")
    scenario = scenarios.arm_reach(narrowed, n, seed)
    description = f"{scenario.description}; the arm joints' limit boxes narrowed to half their width around their centre"
    return _from_scenario(scenario, narrowed, "strict_limits", description)


def multi_constraint(skeleton, n: int, seed: int) -> Workload:
    """Hands (position + wrist orientation) and a head LookAt at priority 1, both feet and
    ankles pinned at priority 0, a rest-pose regulariser; targets from random in-limit
    upper-body poses (legs at rest, so every problem is feasible); cold start at rest.

    Errors: position = the hands' errors and the pinned joints' drift; orientation = the
    wrists' errors and the angle between the head's +Z and the look-at target.
    """
    import ik_engine as ik
    from ik_engine.benchmarks.body_benchmark import UPPER
    from ik_engine.benchmarks.scenarios import BODY_JOINTS

    hands, wrists = ("left_middle1", "right_middle1"), ("left_wrist", "right_wrist")
    pinned = ("left_foot", "right_foot", "left_ankle", "right_ankle")
    head = skeleton.index("head")
    forward = np.array([0.0, 0.0, 1.0])
    rest = skeleton.rest_positions()
    rng = np.random.default_rng(seed)
    targets = []  # (R_world_joint (J,3,3), p_world_joint (J,3), p_world_look (3,)) per problem
    for _ in range(n):
        R, p = skeleton.world_transforms(skeleton.random_pose(rng, UPPER))
        targets.append((R, p, p[head] + R[head] @ forward))

    def constraints(i, previous):
        R, p, look = targets[i]
        return (
            [ik.Pin(j, priority=0) for j in pinned]
            + [ik.Position(j, p[skeleton.index(j)], priority=1) for j in hands]
            + [ik.Orientation(j, R[skeleton.index(j)], priority=1) for j in wrists]
            + [ik.LookAt("head", look, axis=tuple(forward), priority=1), ik.RestPose(weight=0.1)]
        )

    def errors(i, pose):
        R_target, p_target, look = targets[i]
        R, p = skeleton.world_transforms(pose)
        reach = [np.linalg.norm(p[k] - p_target[k]) for k in skeleton.indices(hands)]
        drift = [np.linalg.norm(p[k] - rest[k]) for k in skeleton.indices(pinned)]
        turn = [_angle_between(R[k], R_target[k]) for k in skeleton.indices(wrists)]
        to_look = (look - p[head]) / np.linalg.norm(look - p[head])
        aim = float(np.arccos(np.clip(R[head] @ forward @ to_look, -1.0, 1.0)))
        return float(max(reach + drift)), max(turn + [aim])

    return Workload(
        "multi_constraint",
        "hands: position (middle1) + wrist orientation and head LookAt (+Z) at priority 1; Pin on feet and ankles at "
        "priority 0; RestPose (weight 0.1); targets from random upper-body poses; pelvis translation + 22 body joints; cold start",
        skeleton, BODY_JOINTS, True, n, constraints, errors, skeleton.rest_pose(), rotations=True, cold_start=True,
    )


def animation_loop(skeleton, n: int, seed: int) -> Workload:
    """Hands and head follow a smooth upper-body motion (priority 1) with the feet held
    (priority 0) and Smoothness toward the previous frame, each frame warm-started."""
    import ik_engine as ik
    from ik_engine.benchmarks.motion import smooth_upper_body_motion
    from ik_engine.benchmarks.scenarios import BODY_JOINTS

    reference = smooth_upper_body_motion(skeleton, n + 1, seed=seed)
    effectors, feet = ("left_middle1", "right_middle1", "head"), ("left_foot", "right_foot", "left_ankle", "right_ankle")
    rest = skeleton.rest_positions()
    held = {j: rest[skeleton.index(j)] for j in feet}
    tracks = [{j: p[skeleton.index(j)] for j in effectors} for p in (skeleton.world_positions(ik.Pose(r)) for r in reference[1:])]

    def constraints(i, previous):
        return ([ik.Position(j, target) for j, target in held.items()]
                + [ik.Position(j, target, priority=1) for j, target in tracks[i].items()]
                + [ik.Smoothness(previous)])

    def errors(i, pose):
        p = skeleton.world_positions(pose)
        wanted = {**held, **tracks[i]}
        return float(max(np.linalg.norm(p[skeleton.index(j)] - target) for j, target in wanted.items())), 0.0

    return Workload(
        "animation_loop",
        f"{n} frames at 30 fps: both hands and the head follow a smooth upper-body motion (priority 1), feet held "
        "(priority 0), Smoothness toward the previous frame, each frame warm-started from the previous answer",
        skeleton, BODY_JOINTS, True, n, constraints, errors, ik.Pose(reference[0]), warm_start=True, our_solver_only=True,
    )


def mocap_tracking(skeleton, n: int, seed: int, clip: Path | None = None, scale: float = CMU_SCALE) -> Workload:
    """A CMU clip retargeted onto the skeleton (``effector_tracks``): hands, feet, head and
    pelvis followed by Position constraints (elbows and knees lighter), frame by frame,
    each frame warm-started; the first ``n`` frames."""
    import ik_engine as ik
    from ik_engine.tracking import EFFECTORS, GUIDES, effector_tracks

    if clip is None:
        raise BenchArgumentError("mocap_tracking needs a BVH clip: pass --bvh CLIP.bvh")
    source, motion = ik.load_bvh(clip, scale=scale)
    motion = motion[:n]
    tracks = effector_tracks(source, motion, skeleton)
    effectors = [j for j in EFFECTORS if j in tracks]
    guides = [j for j in GUIDES if j in tracks]
    # What moves: every joint on the chains to the tracked joints that has a free axis.
    chains = {a for j in effectors + guides for a in skeleton.ancestors[skeleton.index(j)]}
    free = skeleton.free_dofs.any(axis=1)
    moving = tuple(skeleton.joint_names[j] for j in sorted(chains) if free[j])
    root = skeleton.joint_names[0]
    init = ik.Pose(np.zeros((skeleton.num_joints, 3)), tracks[root][0] - skeleton.rest_offsets[0])

    def constraints(i, previous):
        return ([ik.Position(j, tracks[j][i]) for j in effectors]
                + [ik.Position(j, tracks[j][i], weight=0.05) for j in guides])

    def errors(i, pose):
        p = skeleton.world_positions(pose)
        return float(max(np.linalg.norm(p[skeleton.index(j)] - tracks[j][i]) for j in effectors)), 0.0

    return Workload(
        "mocap_tracking",
        f"{Path(clip).name}: {len(motion)} frames at {motion.fps:.0f} fps retargeted onto {skeleton.name}; "
        f"Position on {', '.join(effectors)} (guides {', '.join(guides)} at weight 0.05); each frame warm-started",
        skeleton, moving, True, len(motion), constraints, errors, init, warm_start=True, our_solver_only=True,
    )


def batch_scaling(skeleton, n: int, seed: int, sizes: tuple[int, ...] = BATCH_SIZES) -> Workload:
    """Arm-reach problems, B at a time in one ``solve_batch`` call, for each batch size B."""
    import ik_engine as ik
    from ik_engine.benchmarks import scenarios

    scenario = scenarios.arm_reach(skeleton, max(sizes), seed)
    targets = scenario.positions[scenarios.HAND_POINT]
    workload = _from_scenario(scenario, skeleton, "batch_scaling",
                              f"arm reach ({scenario.description}), batches of {', '.join(map(str, sizes))} problems "
                              "in one solve_batch call")
    workload.our_solver_only = True
    workload.batch_sizes = tuple(sizes)
    workload.batch_constraints = lambda B: [ik.Position(scenarios.HAND_POINT, targets[:B])]
    return workload


BUILDERS = {
    "arm_reach": arm_reach, "arm_pose": arm_pose, "strict_limits": strict_limits, "full_body": full_body,
    "multi_constraint": multi_constraint, "animation_loop": animation_loop, "mocap_tracking": mocap_tracking,
    "batch_scaling": batch_scaling,
}


def build_workload(name: str, skeleton, n: int, seed: int, clip: Path | None = None, scale: float = CMU_SCALE,
                   batch_sizes: tuple[int, ...] = BATCH_SIZES) -> Workload:
    """The workload of scenario ``name``; a joint the skeleton lacks is a BenchArgumentError."""
    from ik_engine.errors import UnknownJointError

    kwargs = {"mocap_tracking": dict(clip=clip, scale=scale), "batch_scaling": dict(sizes=batch_sizes)}.get(name, {})
    try:
        return BUILDERS[name](skeleton, n, seed, **kwargs)
    except UnknownJointError as exc:
        raise BenchArgumentError(
            f"scenario {name} cannot run on skeleton {skeleton.name!r}: {exc} (the scenarios name SMPL-X joints; "
            "CMU BVH names are mapped where they correspond)"
        ) from None


# ---------------------------------------------------------------------------- skeletons
def load_bench_skeleton(source: str, bvh_scale: float = CMU_SCALE):
    """The skeleton of ``--skeleton``: "smplx", an SMPL-X model file or a BVH file; a BVH's
    CMU joint names are renamed to the SMPL-X joints they correspond to."""
    import ik_engine as ik
    from ik_engine.tracking import CMU_TO_SMPLX

    if source.lower() != "smplx" and not Path(source).exists():
        raise BenchArgumentError(f"--skeleton {source!r}: no such file (give 'smplx', an SMPL-X model file or a .bvh)")
    skeleton = ik.load_skeleton(source, scale=bvh_scale) if source.lower().endswith(".bvh") else ik.load_skeleton(source)
    to_smplx = {**CMU_EXTRA_NAMES, **CMU_TO_SMPLX}
    names = skeleton.joint_names
    if "pelvis" not in names and any(n in to_smplx for n in names):
        renamed = [to_smplx.get(n, n) for n in names]
        if len(set(renamed)) == len(renamed):
            skeleton = _rebuilt(skeleton, names=renamed, name=f"{skeleton.name} (CMU names mapped to SMPL-X)")
    return skeleton


# ---------------------------------------------------------------------------- methods
@dataclass(frozen=True)
class Method:
    """A method the benchmark can run.

    Attributes:
        name: its command-line name.
        label: what tables and plots call it.
        solver_method, backend: for our solver (``IKSolver(method=..., backend=...)``).
        module, function, options: for a baseline: ``module.function(skeleton, constraints,
            joints, init, options)`` and its options dataclass ``module.options``.
        requires: a module that must be importable.
    """

    name: str
    label: str
    solver_method: str | None = None
    backend: str | None = None
    module: str | None = None
    function: str | None = None
    options: str | None = None
    requires: str | None = None

    @property
    def ours(self) -> bool:
        return self.solver_method is not None

    def unavailable(self) -> str | None:
        """Why the method cannot run here ("not installed: ..."), or None when it can."""
        if self.requires and importlib.util.find_spec(self.requires) is None:
            return f"not installed (needs the {self.requires} package)"
        if self.ours:
            from ik_engine.errors import SolverError
            from ik_engine.backend import check_backend
            from ik_engine.solver import METHODS as SOLVER_METHODS

            try:
                check_backend(self.backend)
            except SolverError as exc:
                return f"not installed ({exc})"
            if self.solver_method not in SOLVER_METHODS:
                return f"not installed (IKSolver has no method {self.solver_method!r})"
            return None
        try:
            module = importlib.import_module(self.module)
            getattr(module, self.function), getattr(module, self.options)
        except Exception as exc:  # an unfinished or broken baseline: report, never crash
            return f"not installed ({self.module}: {type(exc).__name__}: {exc})"
        return None


METHODS = {m.name: m for m in (
    Method("lm", "ik-engine LM (JAX)", solver_method="lm", backend="jax"),
    Method("gradient", "ik-engine gradient/Adam (JAX)", solver_method="gradient", backend="jax"),
    Method("lm-tensorflow", "ik-engine LM (TensorFlow)", solver_method="lm", backend="tensorflow", requires="tensorflow"),
    Method("gradient-tensorflow", "ik-engine gradient/Adam (TensorFlow)", solver_method="gradient", backend="tensorflow",
           requires="tensorflow"),
    Method("ccd", "CCD", module="ik_engine.baselines.ccd", function="ccd", options="CCDOptions"),
    Method("fabrik", "FABRIK", module="ik_engine.baselines.fabrik", function="fabrik", options="FABRIKOptions"),
    Method("ipopt", "IPOPT (CasADi)", module="ik_engine.baselines.ipopt", function="ipopt", options="IPOPTOptions",
           requires="casadi"),
)}


class Runner:
    """One method set up for one workload: ``solve``, ``solve_batch`` (our solver only), its
    settings and its compile counter."""

    def __init__(self, method: Method, workload: Workload) -> None:
        self.method, self.workload = method, workload
        options = dict(workload.solver_options)
        if method.ours:
            import ik_engine as ik

            if method.solver_method == "gradient":
                # First-order methods need many more iterations: at least GRADIENT_MAX_ITERATIONS,
                # whatever the scenario's budget for LM (restarts do not apply: it never restarts).
                options["max_iterations"] = max(options.get("max_iterations", 0), GRADIENT_MAX_ITERATIONS)
                options.pop("restarts", None)
            # Blocking compilation: the tables measure the compiled solver from its first call
            # (the compile is the "first call" figure); the default's interpreted first answers
            # and background compiles are measured by the real-time scenarios.
            self.solver = ik.IKSolver(
                workload.skeleton, joints=workload.moving, move_root=workload.move_root, method=method.solver_method,
                backend=method.backend, position_tolerance=POSITION_TOLERANCE, orientation_tolerance=ORIENTATION_TOLERANCE,
                compilation="blocking", **options,
            )
        else:
            module = importlib.import_module(method.module)
            self._function = getattr(module, method.function)
            baseline_options = {"move_root": workload.move_root, "position_tolerance": POSITION_TOLERANCE,
                                "orientation_tolerance": ORIENTATION_TOLERANCE}
            if "max_iterations" in options:  # the scenario's budget applies to every method
                baseline_options["max_iterations"] = options["max_iterations"]
            if method.name == "ipopt":
                # IPOPT retries from random in-limit starts as often as our solver may restart
                # (a retry only happens when a solve misses the tolerances).
                import ik_engine as ik

                default_restarts = inspect.signature(ik.IKSolver).parameters["restarts"].default
                baseline_options["restarts"] = options.get("restarts", default_restarts)
            self.options = getattr(module, method.options)(**baseline_options)
            if method.name == "ipopt":
                module.clear_ipopt_cache()  # the first call builds the NLP: measure it cold
                self._builds = module.ipopt_cache_info

    def solve(self, constraints, init):
        if self.method.ours:
            # A cold start is a call without init, as a user makes it (the pose is the rest
            # pose; the search starts in the middle of the ranges of the chains to the targets).
            return self.solver.solve(constraints, init=None if self.workload.cold_start else init)
        return self._function(self.workload.skeleton, constraints, joints=self.workload.moving, init=init, options=self.options)

    def solve_batch(self, constraints):
        return self.solver.solve_batch(constraints)

    @property
    def compilations(self) -> int | None:
        """Programs compiled so far (our solver), NLPs built (IPOPT), None where nothing compiles."""
        if self.method.ours:
            return self.solver.compilations
        if self.method.name == "ipopt":
            return self._builds().builds
        return None

    def settings(self) -> dict:
        """The method's settings on this workload, for the comparison tables."""
        if not self.method.ours:
            return {"function": f"{self.method.module}.{self.method.function}", **_plain(dataclasses.asdict(self.options))}
        s = self.solver
        return {"method": s.method, "backend": s.backend, "max_iterations": s.max_iterations,
                "position_tolerance": s.position_tolerance, "orientation_tolerance": s.orientation_tolerance,
                "move_root": s.move_root, "seed": s.seed, **_plain(dataclasses.asdict(s.options))}


def _plain(value):
    """JSON-friendly copy (tuples to lists, numpy scalars to numbers, others to text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


# ---------------------------------------------------------------------------- measurement
def _summary(times: np.ndarray, position: np.ndarray, rotation: np.ndarray, iterations: np.ndarray,
             violations: int, rotations: bool) -> dict:
    """The figures of a set of solves: times (s), errors (m, rad), iterations."""
    out = {"n": int(len(position))}
    for label, metres, radians in SUCCESS_THRESHOLDS:
        ok = position <= metres
        if rotations and radians is not None:
            ok &= rotation <= radians
        out[f"success_{label}"] = float(np.mean(ok))
    series = {"error_mm": position * 1e3, "rotation_error_deg": np.degrees(rotation), "ms": times * 1e3,
              "iterations": iterations}
    for name, values in series.items():
        out[f"median_{name}"] = float(np.median(values))
        out[f"p95_{name}"] = float(np.percentile(values, 95))
    out["mean_ms"] = float(np.mean(times) * 1e3)
    out["limit_violations"] = int(violations)
    # The raw figures of every solve.
    out["times_ms"] = (times * 1e3).round(5).tolist()
    out["position_errors_mm"] = (position * 1e3).round(6).tolist()
    out["rotation_errors_deg"] = np.degrees(rotation).round(6).tolist()
    out["iterations"] = iterations.astype(int).tolist()
    return out


RAW_FIGURES = ("times_ms", "position_errors_mm", "rotation_errors_deg", "iterations")


def _violates(skeleton, pose) -> bool:
    return skeleton.limit_violation(pose) > LIMIT_VIOLATION_THRESHOLD


def measure_solves(workload: Workload, runner: Runner, progress) -> dict:
    """Solve every problem (or frame) of a workload, timing each public call."""
    start = time.perf_counter()
    workload.first_call(runner)  # compiles (our solver) or builds (IPOPT)
    first_call = time.perf_counter() - start
    compilations = runner.compilations
    previous, times, position, rotation, iterations, violations = workload.init, [], [], [], [], 0
    for i in range(workload.size):
        constraints = workload.constraints(i, previous)
        init = previous if workload.warm_start else workload.init
        start = time.perf_counter()
        result = runner.solve(constraints, init)
        times.append(time.perf_counter() - start)
        p, r = workload.errors(i, result.pose)
        position.append(p)
        rotation.append(r)
        iterations.append(result.iterations)
        violations += _violates(workload.skeleton, result.pose)
        if workload.warm_start:
            previous = result.pose
        progress.update(1)
    out = _summary(np.array(times), np.array(position), np.array(rotation), np.array(iterations), violations, workload.rotations)
    out["first_call_in_process_s"] = first_call
    out["recompilations"] = None if compilations is None else runner.compilations - compilations
    return out


def measure_batches(workload: Workload, runner: Runner, progress, min_calls: int = 3, min_seconds: float = 1.0) -> dict:
    """Each batch size: a first call (compiles for this B), then timed calls (at least one,
    up to ``min_calls`` or ``min_seconds``); errors of every problem with float64 FK."""
    from ik_engine.pose import Pose

    rows, first_calls, recompilations = [], [], 0
    for B in workload.batch_sizes:
        constraints = workload.batch_constraints(B)
        start = time.perf_counter()
        runner.solve_batch(constraints)  # compiles the program of this B
        first_calls.append(time.perf_counter() - start)
        compiled = runner.compilations
        calls = []
        while not calls or (len(calls) < min_calls and sum(calls) < min_seconds):
            start = time.perf_counter()
            result = runner.solve_batch(constraints)
            calls.append(time.perf_counter() - start)
        recompilations += runner.compilations - compiled
        rotations, translations = result.pose_arrays()
        poses = [Pose(rotations[b], translations[b]) for b in range(B)]
        errors = np.array([workload.errors(b, pose) for b, pose in enumerate(poses)])
        calls = np.array(calls)
        figures = _summary(calls / B, errors[:, 0], errors[:, 1], result.iterations,
                           sum(_violates(workload.skeleton, pose) for pose in poses), workload.rotations)
        figures.update(batch=B, first_call_s=first_calls[-1], call_seconds=calls.round(6).tolist(),
                       seconds_per_call_median=float(np.median(calls)), solves_per_second=float(B / np.median(calls)))
        rows.append(figures)
        progress.update(1)
    # The cell's figures are those of the largest batch (time per solve = call time / B), with
    # its raw per-problem figures; each batch size keeps its summary figures.
    out = {k: v for k, v in rows[-1].items() if k not in ("batch", "call_seconds", "first_call_s")}
    for row in rows:
        for raw in RAW_FIGURES:
            del row[raw]
    out.update(first_call_in_process_s=first_calls[0], batches=rows, largest_batch=rows[-1]["batch"],
               limit_violations=sum(r["limit_violations"] for r in rows))
    out["recompilations"] = recompilations  # during the timed calls (each B compiles once, first)
    return out


FIRST_CALL_SNIPPET = """
import json, sys, time
t0 = time.perf_counter()
from ik_engine.benchmarks.bench import first_call_probe
print(json.dumps(first_call_probe(json.loads(sys.argv[1]), t0)))
"""


def first_call_probe(spec: dict, process_start: float) -> dict:
    """In a fresh process: set a workload up, then time making the solver and its first call
    (framework import and compilation included)."""
    skeleton = load_bench_skeleton(spec["skeleton"], spec["bvh_scale"])
    clip = None if spec["clip"] is None else Path(spec["clip"])
    workload = build_workload(spec["scenario"], skeleton, 2, spec["seed"], clip, spec["bvh_scale"], (1,))
    # From before the solver is made: JAX is imported at the first solve, TensorFlow when
    # the solver is made; either way the framework's import counts.
    start = time.perf_counter()
    runner = Runner(METHODS[spec["method"]], workload)
    workload.first_call(runner)
    end = time.perf_counter()
    return {"first_call_s": end - start, "process_total_s": end - process_start}


def first_call_in_fresh_processes(spec: dict, warm_cache: bool = True) -> dict:
    """Our solver's first call in fresh processes: with an empty compile cache, then (with
    ``warm_cache``) with the cache the first one filled (IK_ENGINE_COMPILE_CACHE pointing at a
    temporary folder). The cache is JAX's: TensorFlow methods have no warm-cache figure."""
    with tempfile.TemporaryDirectory(prefix="ik-engine-bench-cache-") as cache:
        env = dict(os.environ, IK_ENGINE_COMPILE_CACHE=cache)
        runs = []
        for _ in range(2 if warm_cache else 1):
            out = subprocess.run([sys.executable, "-c", FIRST_CALL_SNIPPET, json.dumps(spec)], capture_output=True,
                                 text=True, env=env, timeout=600)
            if out.returncode != 0:
                raise RuntimeError(f"the first-call process failed: {out.stderr.strip().splitlines()[-1:]}")
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {"first_call_cold_s": runs[0]["first_call_s"], "first_call_warm_cache_s": runs[-1]["first_call_s"] if warm_cache else None,
            "cold_start_total_s": runs[0]["process_total_s"]}


# ---------------------------------------------------------------------------- progress
class Progress:
    """A progress bar over all solves: tqdm when installed, else a line updated in place."""

    def __init__(self, total: int) -> None:
        try:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="solve", dynamic_ncols=True)
        except ImportError:
            self._bar = None
        self.total, self.done, self.label, self._shown = total, 0, "", 0.0

    def describe(self, label: str) -> None:
        self.label = label
        if self._bar is not None:
            self._bar.set_description(label)
        else:
            self._print(new_task=True)

    def update(self, count: int) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
        elif time.monotonic() - self._shown > 0.5 or self.done >= self.total:
            self._print()

    def _print(self, new_task: bool = False) -> None:
        # In a terminal one line updated in place; in a log, one line per task.
        interactive = sys.stderr.isatty()
        if not (interactive or new_task):
            return
        self._shown = time.monotonic()
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        line = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} solves  {self.label:<40.40s}"
        print("\r" + line if interactive else line, end="" if interactive else "\n", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif sys.stderr.isatty():
            print(file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- the run
@dataclass
class Plan:
    """What a run does, worked out (and checked) before anything is measured."""

    scenarios: list[str]
    methods: list[Method]
    unavailable: dict[str, str]
    skeleton: Any
    workloads: dict[str, Workload]
    n: int
    seed: int
    quick: bool
    clip: Path | None
    bvh_scale: float
    skeleton_source: str
    notes: list[str]
    realtime: list[str] = field(default_factory=list)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", "--scenarios", dest="scenario", nargs="+", default=["all"],
                        choices=list(SCENARIOS) + ["all"], metavar="NAME",
                        help=f"scenarios to run: {', '.join(SCENARIOS)}, or all (default)")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), metavar="NAME",
                        help=f"methods: {', '.join(METHODS)} (default: all that are installed)")
    parser.add_argument("--n", type=int, help=f"problems per single-solve scenario (default {DEFAULT_N}) and frames of the "
                                              f"animation loop and mocap clip (default {DEFAULT_FRAMES}); {QUICK_N} with --quick")
    parser.add_argument("--seed", type=int, default=0, help="seed of the targets (default 0)")
    parser.add_argument("--skeleton", default="smplx", help="smplx (default), an SMPL-X model file (.npz/.pkl) or a .bvh")
    parser.add_argument("--bvh", help="a BVH clip for mocap_tracking (default: tests/data/cmu/131_01.bvh when present)")
    parser.add_argument("--bvh-scale", type=float, default=CMU_SCALE,
                        help=f"BVH units to metres, for --bvh and a .bvh --skeleton (default CMU's {CMU_SCALE})")
    parser.add_argument("--quick", action="store_true",
                        help=f"a small run: n={QUICK_N}, batches of {', '.join(map(str, QUICK_BATCH_SIZES))}, the first "
                             f"call in fresh processes measured once, mocap only with --bvh ({QUICK_MOCAP_FRAMES} frames), "
                             "the TensorFlow methods only when named in --methods")
    parser.add_argument("--out", default="bench-results", help="folder for results.json, results.md and the plots")


def make_plan(args) -> Plan:
    """Check the arguments and set every workload up; raises BenchArgumentError."""
    if args.n is not None and args.n <= 0:
        raise BenchArgumentError(f"--n must be a positive integer, got {args.n}")
    if args.seed < 0:
        raise BenchArgumentError(f"--seed must be >= 0, got {args.seed}")
    if not (np.isfinite(args.bvh_scale) and args.bvh_scale > 0):
        raise BenchArgumentError(f"--bvh-scale must be a positive number, got {args.bvh_scale}")
    n = args.n or (QUICK_N if args.quick else DEFAULT_N)
    frames = args.n or (QUICK_N if args.quick else DEFAULT_FRAMES)
    notes = []
    explicit = "all" not in args.scenario
    scenarios = [s for s in SCENARIOS if s in args.scenario or not explicit]
    realtime = [s for s in scenarios if s in REALTIME_SCENARIOS]
    scenarios = [s for s in scenarios if s not in REALTIME_SCENARIOS]

    clip = None
    if args.bvh:
        clip = Path(args.bvh)
        if not clip.is_file():
            raise BenchArgumentError(f"--bvh {args.bvh!r}: no such file")
    elif "mocap_tracking" in scenarios:
        if explicit:
            if not DEFAULT_CLIP.is_file():
                raise BenchArgumentError(f"mocap_tracking needs a BVH clip: pass --bvh CLIP.bvh "
                                         f"(the default {DEFAULT_CLIP} is not in this installation)")
            clip = DEFAULT_CLIP
        elif args.quick or not DEFAULT_CLIP.is_file():
            scenarios.remove("mocap_tracking")
            notes.append("mocap_tracking skipped: " + ("--quick runs it only with --bvh CLIP.bvh" if args.quick else
                         f"no clip (pass --bvh CLIP.bvh; the default {DEFAULT_CLIP} is not in this installation)"))
        else:
            clip = DEFAULT_CLIP

    unavailable = {name: why for name, m in METHODS.items() if (why := m.unavailable())}
    if args.methods:
        wanted = list(dict.fromkeys(args.methods))
        missing = [m for m in wanted if m in unavailable]
        if missing:
            raise BenchArgumentError("; ".join(f"method {m} is {unavailable[m]}" for m in missing))
    else:
        wanted = [m for m in METHODS if m not in unavailable]
        notes += [f"method {m} skipped: {why}" for m, why in unavailable.items()]
        if args.quick:
            # TensorFlow has no persistent compile cache: each scenario compiles for seconds.
            slow = [m for m in wanted if METHODS[m].backend == "tensorflow"]
            wanted = [m for m in wanted if m not in slow]
            notes += [f"method {m} left out of --quick (TensorFlow compiles each scenario for seconds); "
                      f"name it with --methods to run it" for m in slow]
    methods = [METHODS[m] for m in wanted]

    from ik_engine.errors import IKError

    try:
        skeleton = load_bench_skeleton(args.skeleton, args.bvh_scale)
    except (IKError, OSError, ValueError, ImportError) as exc:
        raise BenchArgumentError(f"cannot load the skeleton {args.skeleton!r}: {exc}") from None
    batch_sizes = QUICK_BATCH_SIZES if args.quick else BATCH_SIZES
    counts = {"animation_loop": frames, "mocap_tracking": QUICK_MOCAP_FRAMES if args.quick and not args.n else frames}
    workloads = {}
    for name in scenarios:
        try:
            workloads[name] = build_workload(name, skeleton, counts.get(name, n), args.seed, clip, args.bvh_scale, batch_sizes)
        except (IKError, OSError, ValueError) as exc:
            raise BenchArgumentError(f"scenario {name}: {exc}") from None
    if realtime and args.skeleton != "smplx":
        notes += [f"{name} skipped: it runs on the shipped SMPL-X skeleton only" for name in realtime]
        realtime = []
    return Plan(scenarios, methods, unavailable, skeleton, workloads, n, args.seed, args.quick, clip, args.bvh_scale,
                args.skeleton, notes, realtime)


def run_cell(plan: Plan, workload: Workload, method: Method, progress, measure_first_call: bool) -> dict:
    """Measure one (scenario, method) pair; a constraint kind the method cannot express is
    "not supported", any other exception an "error" (reported, the run goes on)."""
    from ik_engine.errors import SolverError

    cell = {"scenario": workload.name, "method": method.name, "label": method.label}
    if workload.our_solver_only and not method.ours:
        return {**cell, "status": "not applicable", "message": "run by our solver's methods only"}
    progress.describe(f"{workload.name} / {method.name}")
    units, done_before = len(workload.batch_sizes) or workload.size, progress.done
    try:
        runner = Runner(method, workload)
        cell["settings"] = runner.settings()
        measure = measure_batches if workload.batch_sizes else measure_solves
        cell.update(measure(workload, runner, progress))
        cell["status"] = "ok"
    except SolverError as exc:
        progress.update(max(0, done_before + units - progress.done))
        if "not supported by" in str(exc):
            return {**cell, "status": "not supported", "message": str(exc)}
        return {**cell, "status": "error", "message": f"SolverError: {exc}"}
    except Exception as exc:  # a broken method must not take the whole run down
        progress.update(max(0, done_before + units - progress.done))
        return {**cell, "status": "error", "message": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=6)}
    cell.update(first_call_cold_s=None, first_call_warm_cache_s=None, cold_start_total_s=None)
    if method.ours and measure_first_call:
        spec = {"scenario": workload.name, "method": method.name, "skeleton": plan.skeleton_source,
                "bvh_scale": plan.bvh_scale, "seed": plan.seed + 12345, "clip": None if plan.clip is None else str(plan.clip)}
        progress.describe(f"{workload.name} / {method.name}: first call")
        try:
            cell.update(first_call_in_fresh_processes(spec, warm_cache=method.backend == "jax"))
        except (RuntimeError, subprocess.SubprocessError, ValueError) as exc:
            cell["first_call_message"] = str(exc)
    elif not method.ours:
        cell["first_call_cold_s"] = cell["first_call_in_process_s"]  # nothing persists between processes
    return cell


def run_realtime(plan: Plan) -> dict:
    """The real-time scenarios of the plan (benchmarks/realtime.py), each as a dict of figures
    (or {"status": "error", "message": ...})."""
    from ik_engine.benchmarks import realtime

    sizes = QUICK_REALTIME_SIZES if plan.quick else REALTIME_SIZES
    out = {}
    for name in plan.realtime:
        print(f"{name}: running", file=sys.stderr, flush=True)
        try:
            if name == "structure_changes":
                figures = realtime.structure_changes(sizes["edits"], plan.seed)
            elif name == "frame_loop":
                figures = realtime.frame_loop(sizes["frames"], sizes["work_ms"], plan.seed)
            else:
                from ik_engine.benchmarks.default_settings import out_of_reach

                figures = out_of_reach(None, sizes["far"], plan.seed, sizes["ipopt_starts"], sizes["frames"])
            out[name] = {"status": "ok", **figures}
        except Exception as exc:  # reported, the run goes on
            out[name] = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
    return out


def git_head() -> str | None:
    """The full commit hash of the checkout, None outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def library_versions() -> dict:
    """Versions of the libraries the methods use (beyond machine_info's)."""
    from importlib import metadata

    versions = {}
    for name in ("scipy", "casadi", "tensorflow", "matplotlib", "tqdm"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def execute(plan: Plan, command: str) -> dict:
    """Run every cell of the plan; returns the results document (what results.json holds)."""
    from ik_engine.compile_cache import compile_cache_dir
    from ik_engine.benchmarks.machine import machine_info

    started = time.perf_counter()
    machine = machine_info()
    machine["git_head"] = git_head()
    machine["versions"].update(library_versions())
    pairs = [(plan.workloads[s], m) for s in plan.scenarios for m in plan.methods]
    total = sum(len(w.batch_sizes) or w.size for w, m in pairs if m.ours or not w.our_solver_only)
    progress = Progress(total)
    cells, first_call_timed = [], False
    try:
        for workload, method in pairs:
            # --quick: the first call in fresh processes once (our first method, first scenario).
            started_cell = time.perf_counter()
            cell = run_cell(plan, workload, method, progress, not (plan.quick and first_call_timed))
            cell["cell_seconds"] = time.perf_counter() - started_cell
            first_call_timed |= cell.get("first_call_cold_s") is not None and method.ours
            cells.append(cell)
    finally:
        progress.close()
    realtime_results = run_realtime(plan)
    return {
        "command": command,
        "settings": {"n": plan.n, "seed": plan.seed, "quick": plan.quick, "skeleton": plan.skeleton_source,
                     "skeleton_name": plan.skeleton.name, "bvh": None if plan.clip is None else str(plan.clip),
                     "bvh_scale": plan.bvh_scale, "position_tolerance_m": POSITION_TOLERANCE,
                     "orientation_tolerance_rad": ORIENTATION_TOLERANCE,
                     "success_rule": "float64 FK: position <= 1 mm and orientation <= 1 deg (5 mm with 5 deg; 1 cm: "
                                     "position only); every solve starts at the rest pose (loops: previous frame; our solver's single "
                                     "solves are cold starts, called without init)",
                     "limit_violation_threshold_rad": LIMIT_VIOLATION_THRESHOLD,
                     "compile_cache_in_process": compile_cache_dir()},
        "machine": machine,
        "scenarios": {name: {"description": w.description, "skeleton": w.skeleton.name, "moving": list(w.moving),
                             "move_root": w.move_root, "size": w.size, "rotations": w.rotations,
                             "warm_start": w.warm_start, "batch_sizes": list(w.batch_sizes),
                             "our_solver_only": w.our_solver_only}
                      for name, w in plan.workloads.items()},
        "methods": {name: {"label": m.label, "installed": name not in plan.unavailable,
                           "status": plan.unavailable.get(name, "run" if m in plan.methods else "not requested")}
                    for name, m in METHODS.items()},
        "notes": plan.notes,
        "cells": cells,
        "realtime": realtime_results,
        "seconds": time.perf_counter() - started,
    }


def write_results(results: dict, out: Path) -> list[Path]:
    """results.json, results.md and the plots under ``out``; returns the files written."""
    from ik_engine.benchmarks.bench_plots import write_plots
    from ik_engine.benchmarks.bench_report import markdown

    plots = write_plots(results, out)
    results["plots"] = [p.name for p in plots]
    # Compact: the raw per-solve figures make an indented file several times larger.
    (out / "results.json").write_text(json.dumps(_finite(results), separators=(",", ":"), allow_nan=False))
    (out / "results.md").write_text(markdown(results))
    return [out / "results.json", out / "results.md", *plots]


def _finite(value):
    """NaN and infinities become null (results.json is strict JSON)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def run(args, argv: list[str] | None = None) -> int:
    """``ik-engine bench``: 0 when every cell ran, 1 when a method failed, 2 for bad arguments."""
    from ik_engine.benchmarks.bench_report import terminal_table
    from ik_engine.errors import IKError

    words = sys.argv[2:] if argv is None else list(argv[1:] if argv[:1] == ["bench"] else argv)
    command = "ik-engine bench " + shlex.join(words)
    out = Path(args.out)
    try:
        plan = make_plan(args)
        out.mkdir(parents=True, exist_ok=True)
    except (BenchArgumentError, IKError) as exc:
        print(f"ik-engine bench: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"ik-engine bench: cannot write to --out {args.out!r}: {exc}", file=sys.stderr)
        return 2
    for note in plan.notes:
        print(f"note: {note}", file=sys.stderr)
    results = execute(plan, command)
    files = write_results(results, out)
    print(terminal_table(results))
    failed = [c for c in results["cells"] if c["status"] == "error"]
    failed += [{"scenario": name, "method": "lm", **r} for name, r in results["realtime"].items() if r["status"] == "error"]
    for c in failed:
        print(f"error: {c['scenario']} / {c['method']}: {c['message']}", file=sys.stderr)
    print(f"{len(results['cells'])} cells in {results['seconds']:.1f} s; wrote {', '.join(str(f) for f in files)}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ik-engine bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args, ["bench"] + list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
