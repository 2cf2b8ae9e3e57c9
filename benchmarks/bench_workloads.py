"""The workloads of ``ik-engine bench`` (benchmarks/bench.py): each scenario's targets, constraints,
error measure and start, built the same way for every method; the skeletons a run can use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ik_engine.skeletons.bvh import CMU_UNIT as CMU_SCALE  # CMU BVH units to metres

BATCH_SIZES = (1, 4, 16, 64, 256, 1024, 4096)


class BenchArgumentError(Exception):
    """A bad command-line argument (reported in one line, exit code 2)."""


# Joints the scenarios name that CMU BVH skeletons have under another name, besides the
# retargeting map of ik_engine.tracking.CMU_TO_SMPLX.
CMU_EXTRA_NAMES = {
    "LeftCollar": "left_collar", "RightCollar": "right_collar", "LFingers": "left_middle1", "RFingers": "right_middle1",
    "lowerback": "spine1", "Chest": "spine2", "Neck": "neck",
}

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


def _rebuilt(skeleton, names=None, lower=None, upper=None, name=None):
    """A copy of ``skeleton`` with other joint names or limits."""
    import ik_engine as ik

    return ik.Skeleton(
        skeleton.joint_names if names is None else names, skeleton.parents, skeleton.rest_offsets,
        skeleton.lower if lower is None else lower, skeleton.upper if upper is None else upper,
        rest_rotations=skeleton.rest_rotations, radii=skeleton.radii, name=name or skeleton.name,
        coordinates=skeleton.coordinates, neutral_rotations=skeleton.neutral_rotations, swing_reach=skeleton.swing_reach,
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


