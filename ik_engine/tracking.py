"""Mocap tracking: retarget a captured clip onto a skeleton by following effector tracks.

Retargeting (``effector_tracks``): the clip's joints are mapped onto the target skeleton's
by name (``CMU_TO_SMPLX`` for CMU-style BVH files); each effector track is rebuilt limb by
limb with the target's proportions: the pelvis follows the clip's root scaled by the leg
length ratio, and each effector is placed from its limb's root along the clip's limb
direction scaled by the ratio of the two skeletons' limb lengths, so every target is within
reach of the target skeleton.

Tracking (``track``): the target skeleton is solved frame by frame, warm-started, to
follow the tracks (Position constraints), in compiled chunks of frames (``solve_clip``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from .constraints import Position
from .errors import SkeletonError
from .motion import Motion
from .pose import Pose
from .skeleton import Skeleton
from .smplx_body import CMU_TO_SMPLX
from .solver import IKSolver

# How each target-skeleton joint's track is rebuilt, in order (anchors first), from an anchor:
# "along": from the anchor along the clip's anchor->joint direction, over the target's own
#          anchor->joint length (limbs keep the target's proportions);
# "rigid": the target's rest offset from the anchor, turned as the clip's anchor joint turns
#          (where the two skeletons' joint layouts differ, e.g. hips and shoulders).
RETARGET_PLAN = (
    ("spine3", "pelvis", "along"),
    ("head", "spine3", "along"),
    ("left_hip", "pelvis", "rigid"), ("left_knee", "left_hip", "along"),
    ("left_ankle", "left_knee", "along"), ("left_foot", "left_ankle", "along"),
    ("right_hip", "pelvis", "rigid"), ("right_knee", "right_hip", "along"),
    ("right_ankle", "right_knee", "along"), ("right_foot", "right_ankle", "along"),
    ("left_shoulder", "spine3", "rigid"), ("left_elbow", "left_shoulder", "along"), ("left_wrist", "left_elbow", "along"),
    ("right_shoulder", "spine3", "rigid"), ("right_elbow", "right_shoulder", "along"), ("right_wrist", "right_elbow", "along"),
)

# What the tracker follows by default: hands, feet, head and pelvis (plus elbows and knees,
# lighter, so that limbs bend as in the clip).
EFFECTORS = ("pelvis", "left_wrist", "right_wrist", "left_ankle", "right_ankle", "left_foot", "right_foot", "head")
GUIDES = ("left_elbow", "right_elbow", "left_knee", "right_knee")


def effector_tracks(
    source: Skeleton,
    motion: Motion,
    target: Skeleton,
    joint_map: Mapping[str, str] = CMU_TO_SMPLX,
    plan: Sequence[tuple[str, str, str]] = RETARGET_PLAN,
) -> dict[str, np.ndarray]:
    """World tracks (T, 3) of the target skeleton's joints, rebuilt with its proportions.

    Both skeletons must share axes (Y up, facing +Z, metres) and have their rest frames
    aligned with the world at rest (BVH and SMPL-X do).

    Args:
        source: the clip's skeleton (e.g. from ``load_bvh``).
        motion: the clip.
        target: the skeleton to retarget onto.
        joint_map: source joint name -> target joint name (must cover the plan's joints).
        plan: (joint, anchor, "along" | "rigid") in target names, anchors first; the root
            is scaled by the ratio of leg lengths and set on the floor.
    """
    missing = [s for s in joint_map if s not in source.joint_names]
    if missing:
        raise SkeletonError(f"the clip's skeleton has no joints {missing} (joint_map expects them)")
    target.indices(joint_map.values())
    to_source = {t: s for s, t in joint_map.items()}
    R_source, p_source = motion.world_transforms(source)  # (T, J, 3, 3), (T, J, 3)
    rest_source, rest_target = source.rest_positions(), target.rest_positions()

    def src(name: str) -> int:
        if name not in to_source:
            raise SkeletonError(f"joint_map maps no clip joint onto {name!r}")
        return source.index(to_source[name])

    def target_offset(a: str, b: str) -> np.ndarray:
        return rest_target[target.index(b)] - rest_target[target.index(a)]

    # Root: scaled by the legs' length ratio (the height is set at the end).
    leg_target = np.linalg.norm(target_offset("left_hip", "left_knee")) + np.linalg.norm(target_offset("left_knee", "left_ankle"))
    leg_source = sum(np.linalg.norm(rest_source[src(b)] - rest_source[src(a)]) for a, b in (("left_hip", "left_knee"), ("left_knee", "left_ankle")))
    scale = leg_target / leg_source
    root = target.joint_names[0]
    tracks = {root: p_source[:, src(root)] * scale}
    for joint, anchor, mode in plan:
        if mode == "along":
            direction = p_source[:, src(joint)] - p_source[:, src(anchor)]
            ratio = np.linalg.norm(target_offset(anchor, joint)) / max(np.linalg.norm(rest_source[src(joint)] - rest_source[src(anchor)]), 1e-9)
            tracks[joint] = tracks[anchor] + ratio * direction
        elif mode == "rigid":
            tracks[joint] = tracks[anchor] + R_source[:, src(anchor)] @ target_offset(anchor, joint)
        else:
            raise ValueError(f"unknown retargeting mode {mode!r} for joint {joint!r} (use 'along' or 'rigid')")
    # The clip's floor on the target's: the lowest toe of the rebuilt tracks lands where the
    # target's feet stand at rest.
    feet = [f for f in ("left_foot", "right_foot") if f in tracks]
    if feet:
        lift = min(rest_target[target.index(f), 1] for f in feet) - min(tracks[f][:, 1].min() for f in feet)
        for track_ in tracks.values():
            track_[:, 1] += lift
    return tracks


@dataclass
class TrackingResult:
    """A tracked clip and how well it followed its tracks.

    Attributes:
        motion: the solved clip on the target skeleton.
        errors: {effector: (T,) distance to its track, metres}.
        solve_seconds: total time spent solving the clip's frames (with
            ``compilation="background"``: interpreted chunks included; with "blocking": the
            compiled chunks only).
        clip_seconds: the clip's duration.
        compile_seconds: with ``compilation="blocking"``, the time of the compile (not in
            ``solve_seconds``); with "background", the time until the compiled program took
            over (frames were being solved meanwhile).
        interpreted_frames: frames solved by the interpreter while the program compiled.
    """

    motion: Motion
    errors: dict[str, np.ndarray] = field(repr=False)
    solve_seconds: float
    clip_seconds: float
    compile_seconds: float = 0.0
    interpreted_frames: int = 0

    @property
    def mean_error(self) -> float:
        return float(np.mean([e.mean() for e in self.errors.values()]))

    @property
    def speed(self) -> float:
        """How many times faster than real time the solving was."""
        return self.clip_seconds / max(self.solve_seconds, 1e-12)


CHUNK = 256  # frames per compiled clip call: one compilation serves clips of any length
# Frames per interpreted call while the chunk program compiles: small, so that progress shows.
INTERPRETED_CHUNK = 16
# Seconds of interpreted solving before waiting for the compile: the interpreter (about 50
# frames/s for a body) competes with the compile for the CPU and the interpreter lock, which
# on 2 cores made a 7 s compile take 16 s when interpreting throughout (131_01, 994 frames).
INTERPRET_SECONDS = 2.0


# Solvers shared by the track() calls on bodies of one articulation with the same settings
# (``Skeleton.articulation_key``): a body of other proportions, such as each clip's fitted body
# in ``fit_joints``, solves with the programs an earlier call compiled (``IKSolver.with_body``).
# At most this many settings are kept, the least recently used dropped first. (Not a
# ``SkeletonCache``: that one is weakly keyed by one skeleton object, and here many skeleton
# objects, one per fitted body, share an entry.)
SHARED_SOLVERS = 8
_shared_solvers: OrderedDict = OrderedDict()
_shared_lock = threading.Lock()


def shared_solver(skeleton: Skeleton, joints: Sequence[str], **settings) -> IKSolver:
    """An IKSolver for ``skeleton`` with these settings, sharing its programs with every
    earlier one of the same articulation and settings."""
    key = (skeleton.articulation_key(), tuple(joints), tuple(sorted(settings.items())))
    with _shared_lock:
        solver = _shared_solvers.get(key)
        if solver is None:
            solver = _shared_solvers[key] = IKSolver(skeleton, joints=joints, **settings)
            while len(_shared_solvers) > SHARED_SOLVERS:
                _shared_solvers.popitem(last=False)
        else:
            _shared_solvers.move_to_end(key)
    return solver.with_body(skeleton)


def track(
    skeleton: Skeleton,
    tracks: Mapping[str, np.ndarray],
    fps: float,
    joints: Sequence[str] | None = None,
    effectors: Sequence[str] = EFFECTORS,
    guides: Sequence[str] = GUIDES,
    guide_weight: float = 0.05,
    max_iterations: int = 3,
    progress: Callable[[int, int], None] | None = None,
    compilation: str = "background",
    status: Callable[[str], None] | None = None,
    regularizers: Sequence = (),
    init: Pose | None = None,
) -> TrackingResult:
    """Solve ``skeleton`` frame by frame to follow ``tracks`` (name -> (T, 3) world points).

    Effectors are Position constraints (weight 1), guides (elbows, knees) lighter ones; the
    root translation and ``joints`` (default: all joints the effectors depend on) move.
    Frames are solved in order inside compiled chunks (``IKSolver.solve_clip``), each frame
    starting from the pose its predecessors predict at constant velocity; at capture rates
    (100+ Hz) ``max_iterations`` = 3 follows the tracks to about a millimetre.

    ``compilation="background"`` (default): the chunk program compiles in a background
    thread while the first frames are solved by the interpreter, in chunks of
    ``INTERPRETED_CHUNK`` frames, so frames are solved from the first second on (for at most
    ``INTERPRET_SECONDS``; then it waits for the compiled program, which is faster; a clip of
    at most ``CHUNK`` frames is interpreted whole, without a compile, unless an earlier call
    compiled its program: solvers are shared between calls, ``shared_solver``); "blocking":
    compile first (if not compiled yet), then solve every chunk compiled. ``progress(done, T)`` is called after
    each chunk, ``status(text)`` when the solving mode changes. ``regularizers``: constraints
    without targets (e.g. a low-priority RestPose) added to every frame.
    """
    names = [n for n in effectors if n in tracks]
    guide_names = [n for n in guides if n in tracks]
    if not names:
        raise SkeletonError(f"no tracks for any effector of {list(effectors)}")
    T = len(tracks[names[0]])
    if joints is None:
        chains = {a for n in names + guide_names for a in skeleton.ancestors[skeleton.index(n)]}
        free = skeleton.free_dofs.any(axis=1)  # fully locked joints (BVH end sites) never move
        joints = [skeleton.joint_names[j] for j in sorted(chains) if free[j]]
    if compilation not in ("background", "blocking"):
        raise SkeletonError(f'compilation must be "background" or "blocking", got {compilation!r}')
    settings = dict(joints=joints, move_root=True, max_iterations=max_iterations, restarts=0)
    solver = shared_solver(skeleton, compilation=compilation, **settings)
    interpreter = shared_solver(skeleton, compilation="never", **settings)
    # Start from the first frame's root position, so the first solve is a local one.
    root = skeleton.joint_names[0]
    pose = skeleton.rest_pose() if init is None else init
    if root in tracks and init is None:
        pose = Pose(pose.rotations, tracks[root][0] - skeleton.rest_offsets[0])

    def targets(frames) -> list:
        """Effector and guide Positions of ``frames`` (an index or an index array), then the
        regularisers."""
        effectors = [Position(n, tracks[n][frames]) for n in names]
        return effectors + [Position(n, tracks[n][frames], weight=guide_weight) for n in guide_names] + list(regularizers)

    def chunk_constraints(first: int, size: int = CHUNK) -> list:
        """The constraints of frames first .. first + size (the last frame repeated past T)."""
        return targets(np.minimum(np.arange(first, first + size), T - 1))

    def say(text: str) -> None:
        if status is not None:
            status(text)

    # The first frame is solved thoroughly (from the T-pose it may be far): the clip's
    # frames each take only a few iterations from their predecessors.
    t0 = time.perf_counter()
    pose = shared_solver(skeleton, joints, move_root=True, max_iterations=200, compilation="never").solve(targets(0), init=pose).pose
    if compilation == "blocking":
        say("compiling the solver")
        solver.compile(chunk_constraints(0), clip=True)
        compile_seconds = time.perf_counter() - t0
    elif T <= CHUNK:  # a short clip: interpreting it all takes about as long as compiling
        say("solving uncompiled (a short clip)")
        compile_seconds = float("nan")
    else:
        say("compiling the solver in the background; solving the first frames uncompiled meanwhile")
        solver.compile(chunk_constraints(0), clip=True, wait=False)
        compile_seconds = float("nan")
    rotations = np.empty((T, skeleton.num_joints, 3))
    translations = np.empty((T, 3))
    solve_seconds, interpreted_frames, started = 0.0, 0, time.perf_counter()
    first = 0
    while first < T:
        t0 = time.perf_counter()
        chunk = chunk_constraints(first)
        compiled = solver.is_compiled(chunk, clip=True)
        if not compiled and compilation == "background" and T > CHUNK and t0 - started > INTERPRET_SECONDS:
            say("waiting for the compiled solver")
            while not solver.is_compiled(chunk, clip=True):
                error = solver.compile_error(chunk, clip=True)
                if error is not None:  # (only this clip's: the solver may be shared, ``shared_solver``)
                    raise error
                time.sleep(0.02)
            compiled, t0 = True, time.perf_counter()
        if compiled:
            if interpreted_frames and np.isnan(compile_seconds):
                compile_seconds = t0 - started
                say("the compiled solver took over")
            results = solver.solve_clip(chunk, init=pose)
            count = min(CHUNK, T - first)
        else:
            results = interpreter.solve_clip(chunk_constraints(first, INTERPRETED_CHUNK), init=pose)
            count = min(INTERPRETED_CHUNK, T - first)
            interpreted_frames += count
        chunk_rotations, chunk_translations = results.pose_arrays()
        rotations[first : first + count] = chunk_rotations[:count]
        translations[first : first + count] = chunk_translations[:count]
        solve_seconds += time.perf_counter() - t0
        pose = Pose(rotations[first + count - 1], translations[first + count - 1])
        first += count
        if progress is not None:
            progress(first, T)
    motion = Motion(rotations, translations, fps, skeleton.joint_names)
    p = motion.world_positions(skeleton)
    errors = {n: np.linalg.norm(p[:, skeleton.index(n)] - tracks[n], axis=1) for n in names}
    if np.isnan(compile_seconds):  # the clip ended before the compiled program was ready
        compile_seconds = 0.0
    return TrackingResult(motion, errors, solve_seconds, T / fps, compile_seconds, interpreted_frames)
