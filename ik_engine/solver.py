"""IKSolver: solve, solve_batch, solve_clip (``ik.solve`` is in solve_function.py; packing and
results in solution.py and batch_result.py).

A solver fixes a skeleton, the joints that may move and the static settings. Each constraint
*structure* (kinds, joints, priorities) gets its programs (``ik_engine.programs``): interpreted
at once (numpy), compiled in a background thread once solved again, so a new structure never
freezes the caller; new targets, weights, poses and tolerances reuse them.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Iterable, Sequence

import numpy as np

from .backends.backend import check_backend, load_backend
from .constraints.base import Constraint, checked_constraints, leading_batch_size
from .errors import ConstraintError, PoseError, SolverError
from .pose import Pose
from .batch_result import BatchResult
from .problem import ResidualProblem
from .result import IKResult
from .programs import (INTERPRETED_BATCH, POLICIES, CompileCount, StructurePrograms, packed_solve, program_for_kind,
                       return_freed_memory)
from .skeleton import Skeleton
from .solution import PoseBatch, SolveOutput, packed_inputs, result_of
from .validation import MAX_ANGLE, MAX_COORDINATE, finite_number

METHODS = ("lm", "gradient")
# Constraint structures a solver keeps programs for (a ResidualProblem each, and once hot a compiled program
# of about a megabyte), and compiled programs it keeps (1.5-15 MB each, which JAX and XLA do not all give
# back when dropped: benchmarks/long_session.py); the least recently used go first.
MAX_STRUCTURES, MAX_COMPILED = 64, 16


class IKSolver:
    """Inverse kinematics on one skeleton. A solver pickles as its settings (not its programs).

    Args:
        skeleton: the kinematic tree.
        joints: names of the joints that may rotate, any iterable of names (None: all joints).
        move_root: whether the root translation is solved for as well.
        method: "lm" (Levenberg-Marquardt with bounds and priorities; ``options`` is an
            ``LMOptions``) or "gradient" (Adam with the limits kept by clipping, the paper's
            first-order method, for comparison; ``options`` is a ``GradientOptions``): it treats
            priorities as weights, never restarts and needs e.g. ``max_iterations=1000``.
        backend: "jax" (default) or "tensorflow" (the same solver compiled with
            ``tf.function(jit_compile=True)``; the ``tensorflow`` extra; float32; ``solve_batch``
            solves the problems one after another inside one program).
        max_iterations: iteration budget per solve, over all restarts (a solve that meets its
            targets stops at once; the budget is spent only on hard or impossible problems).
        position_tolerance: metres; a Position constraint within it is met.
        orientation_tolerance: radians; an Orientation constraint within it is met.
        restarts: how many times a stalled cold solve may restart from a random in-limit pose
            ("lm" only; a warm start, from ``init``, at most ``options.warm_restarts`` = 8
            times); docs/defaults.md says what the defaults do and why.
        seed: seed of those restarts (solves are deterministic).
        compilation: when a constraint structure's program is compiled: "background" (default:
            its first solves are interpreted, at once; once solved three times and for 0.1 s it
            compiles in a background thread, and solves switch to it when ready), "blocking"
            (on the first solve, in the caller's thread: seconds, then steady-state speed) or
            "never" (always interpreted, about 10 times slower per iteration). Batches of more
            than 32 problems compile at once unless "never". See docs/compilation.md.
        interpreted_time_limit: seconds after which an interpreted solve (before its program is
            compiled) stops with its best pose so far, e.g. 0.06 in an editor, where a new
            constraint set must answer within a frame or two even when its targets cannot be met
            (``converged`` says whether they are; the next warm-started solve goes on from there,
            and the compiled program has the whole budget). None (default): the whole budget.
    """

    def __init__(
        self,
        skeleton: Skeleton,
        joints: Iterable[str] | None = None,
        move_root: bool = False,
        *,
        method: str = "lm",
        backend: str = "jax",
        max_iterations: int = 500,
        position_tolerance: float = 1e-4,
        orientation_tolerance: float = 1e-3,
        restarts: int = 60,
        seed: int = 0,
        compilation: str = "background",
        interpreted_time_limit: float | None = None,
    ) -> None:
        from ik_engine.solvers import GradientOptions, LMOptions

        if not isinstance(skeleton, Skeleton):
            raise SolverError(f"IKSolver needs an ik_engine.Skeleton, got {type(skeleton).__name__}")
        if method not in METHODS:
            raise SolverError(f"unknown method {method!r}; available: {', '.join(METHODS)}")
        self.backend = check_backend(backend)
        # JAX loads on the first compile (a light constructor); another backend now (a missing library is reported here).
        self._backend_ops = None if backend == "jax" else load_backend(backend)
        self.skeleton = skeleton
        if joints is None:
            self.moving_joints = tuple(range(skeleton.num_joints))
        else:
            if isinstance(joints, str):
                raise SolverError("joints must be a list of joint names, not a single string")
            self.moving_joints = tuple(sorted(set(skeleton.indices(joints))))
            if not self.moving_joints and not move_root:
                raise SolverError("joints is empty and move_root is False: nothing may move")
        if not isinstance(move_root, (bool, np.bool_)):
            raise SolverError(f"move_root must be True or False, got {move_root!r}")
        self._move_root = bool(move_root)
        self._method = method
        if isinstance(max_iterations, bool) or not (isinstance(max_iterations, (int, np.integer)) and max_iterations >= 1):
            raise SolverError(f"max_iterations must be an integer >= 1, got {max_iterations!r}")
        self._max_iterations = int(max_iterations)
        self._position_tolerance, self._orientation_tolerance = (
            finite_number(v, what, SolverError, minimum=0.0, strictly_above=True)
            for v, what in ((position_tolerance, "position_tolerance"), (orientation_tolerance, "orientation_tolerance")))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
            raise SolverError(f"seed must be an integer in [0, 2**32), got {seed!r}")
        self._seed = int(seed)
        if compilation not in POLICIES:
            raise SolverError(f"compilation must be one of {', '.join(map(repr, POLICIES))}, got {compilation!r}")
        self._compilation = compilation
        if interpreted_time_limit is not None:
            interpreted_time_limit = finite_number(interpreted_time_limit, "interpreted_time_limit", SolverError,
                                                   minimum=0.0, strictly_above=True, unit="seconds")
        self._interpreted_time_limit = interpreted_time_limit
        # At most MAX_STRUCTURES structures, the least recently used dropped first (``_bound_programs``).
        self._compiled: OrderedDict[tuple, StructurePrograms] = OrderedDict()
        # Guards the program cache, which solvers made by ``with_body`` share (across threads).
        self._programs_lock = threading.RLock()
        self._compile_count = CompileCount()  # shared with the cache (``with_body``)
        lm_options = LMOptions(restarts=restarts)  # also checks ``restarts`` for either method
        self.options = GradientOptions() if method == "gradient" else lm_options

    # Settings other than ``options`` are fixed at construction (programs depend on them): read-only.
    move_root = property(lambda self: self._move_root, doc="Whether the root translation is solved for.")
    method = property(lambda self: self._method, doc="The numerical method.")
    max_iterations = property(lambda self: self._max_iterations, doc="Iteration budget per solve.")
    position_tolerance = property(lambda self: self._position_tolerance, doc="Metres.")
    orientation_tolerance = property(lambda self: self._orientation_tolerance, doc="Radians.")
    seed = property(lambda self: self._seed, doc="Seed of the restarts.")
    compilation = property(lambda self: self._compilation, doc='"background", "blocking" or "never".')

    @property
    def options(self):
        """The method's static settings: an ``LMOptions`` ("lm") or a ``GradientOptions``
        ("gradient"). Assign a changed copy, e.g. ``solver.options =
        dataclasses.replace(solver.options, creep_iterations=12)``; the next solve of each
        constraint structure then compiles a new program (assigning equal settings keeps
        the compiled ones)."""
        return self._options

    @options.setter
    def options(self, options) -> None:
        from ik_engine.solvers import GradientOptions, LMOptions

        kind = GradientOptions if self._method == "gradient" else LMOptions
        if not isinstance(options, kind):
            raise SolverError(f"options of the {self._method!r} method must be {'an' if kind is LMOptions else 'a'} "
                              f"{kind.__name__}, got {type(options).__name__}")
        if options != getattr(self, "_options", None):
            if not getattr(self, "_shares_programs", False):  # shared (``with_body``): the others keep using them
                for programs in self._compiled.values():
                    programs.release()
            self._compiled = OrderedDict()  # a new cache: a solver sharing the old one keeps its settings
            self._programs_lock = threading.RLock()
            self._compile_count = CompileCount(self._compile_count.value)
            self._shares_programs = False
        self._options = options

    def with_body(self, skeleton: Skeleton) -> "IKSolver":
        """This solver (settings, programs) for ``skeleton``, which differs from this one's only in
        its rest offsets or radii (equal ``Skeleton.articulation_key``; e.g. a fitted body): a
        structure compiled for one solves the other without a compile (Avoid, SelfCollision,
        Balance, Floor: a program per body). Changed ``options`` give a solver its own cache."""
        if not isinstance(skeleton, Skeleton):
            raise SolverError(f"with_body needs an ik_engine.Skeleton, got {type(skeleton).__name__}")
        if skeleton.articulation_key() != self.skeleton.articulation_key():
            raise SolverError(f"with_body: skeleton {skeleton.name!r} differs from {self.skeleton.name!r} in more than its "
                              "rest offsets and radii (joint names, tree, limits or rest rotations); use IKSolver(skeleton, ...)")
        self._shares_programs = True
        body = object.__new__(IKSolver)  # the same settings, program cache (self._compiled) and its lock
        body.__dict__.update(self.__dict__)
        body.skeleton = skeleton
        return body

    def __reduce__(self):
        """Pickled as its settings (for a worker process); the copy compiles its own programs."""
        every = self.moving_joints == tuple(range(self.skeleton.num_joints))
        joints = None if every else [self.skeleton.joint_names[j] for j in self.moving_joints]
        settings = dict(method=self._method, backend=self.backend, max_iterations=self._max_iterations,
                        position_tolerance=self._position_tolerance, orientation_tolerance=self._orientation_tolerance,
                        seed=self._seed, compilation=self._compilation, interpreted_time_limit=self._interpreted_time_limit)
        return _unpickled_solver, (self.skeleton, joints, self._move_root, settings, self.options)

    @property
    def compilations(self) -> int:
        """Programs this solver's cache has compiled (one per constraint structure and kind of call:
        single, batch of B, clip of T frames; background ones too; shared by ``with_body`` solvers)."""
        return self._compile_count.value

    @property
    def compile_errors(self) -> list[BaseException]:
        """Errors of background compiles (their structures keep being interpreted)."""
        with self._programs_lock:
            return [p.compile_error for p in self._compiled.values() if p.compile_error is not None]

    def _programs_of(self, constraints: Sequence[Constraint], clip: bool) -> StructurePrograms | None:
        key = self._program_key(checked_constraints(constraints), "clip" if clip else "single")
        with self._programs_lock:
            return self._compiled.get(key)

    def is_compiled(self, constraints: Sequence[Constraint], clip: bool = False) -> bool:
        """Whether solves of this constraint structure run a compiled program now: single
        solves, or with ``clip=True`` ``solve_clip`` of as many frames as the targets carry."""
        return getattr(self._programs_of(constraints, clip), "compiled", None) is not None

    def compile_error(self, constraints: Sequence[Constraint], clip: bool = False) -> BaseException | None:
        """This structure's failed background compile's error, or None (failed: its solves stay interpreted)."""
        return getattr(self._programs_of(constraints, clip), "compile_error", None)

    def compile(self, constraints: Sequence[Constraint], clip: bool = False, wait: bool = True) -> None:
        """Compile this constraint structure's program (``clip=True``: ``solve_clip``'s, of that many
        frames) for steady-state speed from its first solve: now, in this thread (``wait=True``, e.g.
        while a game loads), or in the background thread (``wait=False``; solves interpret meanwhile)."""
        constraints = checked_constraints(constraints)
        if self._compilation == "never":
            raise SolverError('this solver was made with compilation="never": it does not compile')
        kind = "clip" if clip else "single"
        sizes = {c.batch_size for c in constraints} - {None}
        if clip and len(sizes) != 1:
            raise ConstraintError("compile(..., clip=True) needs targets with one leading frame axis T")
        if not clip and sizes:
            raise ConstraintError("compile() without clip=True is for single solves: targets without a batch axis")
        programs = self._program(constraints, kind)
        init = self.skeleton.rest_pose()
        for c in constraints:
            c.validate(self.skeleton, init)
        size = leading_batch_size(constraints)
        example = self._inputs(programs.problem, constraints, init if size is None else PoseBatch.repeated(init, size), batch=size)
        if wait:
            programs.compile_now(example, 1, self.seed)  # one iteration: compiles, hardly solves
        else:
            programs.compile_in_background(example, self.seed)

    @property
    def _ops(self):
        """The Backend object (``ik_engine.backends.backend``)."""
        if self._backend_ops is None:
            self._backend_ops = load_backend(self.backend)
        return self._backend_ops

    # ---------------------------------------------------------------- problems
    def residual_problem(self, constraints: Sequence[Constraint]) -> ResidualProblem:
        """The residual problem of a constraint structure on this solver's joints (what the
        baselines solve with their own methods)."""
        return ResidualProblem(self.skeleton, self.moving_joints, self.move_root, constraints)

    def _checked_pose(self, pose: Pose) -> Pose:
        """A pose of this skeleton whose translation and rotation angles are within the ranges
        a solve can use (``MAX_COORDINATE`` metres, ``MAX_ANGLE`` radians), or PoseError."""
        self.skeleton.check_pose(pose)
        if np.abs(pose.translation).max() > MAX_COORDINATE:
            raise PoseError(f"initial pose translation must be within +-{MAX_COORDINATE:g} m, got {pose.translation.tolist()}")
        squared_angles = np.einsum("ij,ij->i", pose.rotations, pose.rotations)
        if squared_angles.max(initial=0.0) > MAX_ANGLE**2:
            j = int(np.argmax(squared_angles))
            raise PoseError(f"initial pose rotation of joint {self.skeleton.joint_names[j]!r} has an angle of {np.sqrt(squared_angles[j]):g} rad; "
                            f"at most {MAX_ANGLE:g} rad is accepted (degrees given as radians?)")
        return pose

    def checked(self, constraints: Sequence[Constraint], init: Pose | None) -> tuple[list[Constraint], Pose]:
        """The checks of ``solve`` (the baselines make the same): constraints without a batch axis
        and a valid initial pose (the rest pose for None); raises the errors ``solve`` raises."""
        constraints = checked_constraints(constraints)
        batched = [c for c in constraints if c.batch_size is not None]
        if batched:
            raise ConstraintError(
                f"{batched[0]!r} has a batch of {batched[0].batch_size} targets: use solve_batch for batches"
            )
        init = self.skeleton.rest_pose() if init is None else self._checked_pose(init)
        for c in constraints:
            c.validate(self.skeleton, init)
        return constraints, init

    def _program_key(self, constraints: Sequence[Constraint], kind: str, size: int | None = None) -> tuple:
        """A compiled program is specialised to the structure, the kind of call and, for
        batches and clips, their size (default: the constraints' leading size)."""
        if kind != "single" and size is None:
            size = leading_batch_size(constraints)
        # One program per articulation (``with_body``); per body for kinds built on its geometry.
        sk = self.skeleton if any(c.bakes_rest_geometry for c in constraints) else None
        body = None if sk is None else (sk.rest_offsets.tobytes(), None if sk.radii is None else sk.radii.tobytes())
        return ResidualProblem.structure_key(self.skeleton, constraints), kind, None if kind == "single" else size, body

    def _program(self, constraints: Sequence[Constraint], kind: str = "single", size: int | None = None) -> StructurePrograms:
        """The programs of a constraint structure for a kind of call: "single", "batch" or "clip"."""
        key = self._program_key(constraints, kind, size)
        with self._programs_lock:  # shared by solvers made by ``with_body``, maybe in other threads
            programs = self._compiled.get(key)
            if programs is not None:
                self._compiled.move_to_end(key)
                return programs
            from ik_engine.solvers import build_gradient_descent, build_levenberg_marquardt

            problem = self.residual_problem(constraints)
            build = build_levenberg_marquardt if self._method == "lm" else build_gradient_descent
            options, method = self.options, self._method

            def make_program(backend):
                packed = packed_solve(problem, build, options, backend)
                return program_for_kind(packed, kind, problem, backend, method)

            programs = StructurePrograms(problem, kind, make_program, lambda: self._ops, self._compile_count,
                                         self._compilation, self._interpreted_time_limit)
            self._compiled[key] = programs
            self._bound_programs()
            return programs

    def _bound_programs(self) -> None:
        """At most MAX_STRUCTURES structures and MAX_COMPILED compiled programs, the least
        recently used dropped first (a structure whose program is dropped is interpreted
        again, and compiled again if it gets hot)."""
        dropped = False
        while len(self._compiled) > MAX_STRUCTURES:
            _, old = self._compiled.popitem(last=False)
            dropped |= old.compiled is not None
            old.release()
        compiled = [p for p in self._compiled.values() if p.compiled is not None]
        for old in compiled[: max(0, len(compiled) - MAX_COMPILED)]:
            old.release()
            dropped = True
        if dropped:
            return_freed_memory()

    def _inputs(self, problem: ResidualProblem, constraints, init: Pose | PoseBatch, batch: int | None = None,
                cold: bool = False) -> np.ndarray:
        """``solution.packed_inputs`` with this solver's settings."""
        return packed_inputs(problem, constraints, init, (self.position_tolerance, self.orientation_tolerance), skeleton=self.skeleton,
                             per_level=self._method == "lm", cold_start=cold and self._method == "lm", batch=batch)

    # ---------------------------------------------------------------- public
    def solve(self, constraints: Sequence[Constraint], init: Pose | None = None) -> IKResult:
        """Solve for a pose that satisfies ``constraints``, starting from ``init``.

        Joints that do not move keep their rotation from ``init``; an ``init`` outside the
        limits is clipped into them first. With no ``init`` (a cold start), the pose is the
        rest pose, and the search starts with the joints of the chains to the targets in the
        middle of their ranges (``ResidualProblem.cold_start``): far more cold starts reach
        their targets from there than from a T-pose.
        """
        cold = init is None
        constraints, init = self.checked(constraints, init)
        program = self._program(constraints)
        problem = program.problem
        inputs = self._inputs(problem, constraints, init, cold=cold)
        start = time.perf_counter()
        solved = SolveOutput.unpacked(problem, program(inputs, self.max_iterations, self.seed))
        return result_of(self.skeleton, problem, init.rotations, init.translation, solved, start,
                            problem.ignored(inputs[program.sqrt_weights]))

    def solve_batch(self, constraints: Sequence[Constraint], init: Pose | Sequence[Pose] | None = None) -> BatchResult:
        """Solve B independent problems in one compiled call.

        Args:
            constraints: constraints whose targets carry a leading batch axis B (e.g. a
                Position with a (B, 3) target); unbatched constraints apply to every problem.
            init: one Pose for all problems, a list of B poses, or None (a cold start, as in
                ``solve``).
        """
        constraints = checked_constraints(constraints)
        sizes = {c.batch_size for c in constraints} - {None}
        if len(sizes) > 1:
            raise ConstraintError(f"constraints have different batch sizes {sorted(sizes)}: they must share one B")
        rotations, translation = self._batch_init(init)
        if rotations.ndim == 3:
            sizes.add(rotations.shape[0])
            if len(sizes) > 1:
                raise ConstraintError(f"init has {rotations.shape[0]} poses but the targets have batch size {min(sizes - {rotations.shape[0]})}")
        if not sizes:
            raise ConstraintError("solve_batch needs targets with a leading batch axis (or a list of initial poses)")
        B = sizes.pop()
        rotations = np.broadcast_to(rotations, (B,) + rotations.shape[-2:])
        translation = np.broadcast_to(translation, (B, 3))
        first = Pose(rotations[0], translation[0])
        for c in constraints:
            c.validate(self.skeleton, first)
        # Batches compiled at once share one program per power-of-two size (padded with copies
        # of the last problem): a program per batch size costs tens of MB that XLA keeps.
        size = B if B <= INTERPRETED_BATCH else 1 << (B - 1).bit_length()
        program = self._program(constraints, "batch", size)
        problem = program.problem
        inputs = self._inputs(problem, constraints, PoseBatch(rotations, translation), batch=B, cold=init is None)
        if size > B:
            inputs = np.concatenate([inputs, np.repeat(inputs[-1:], size - B, axis=0)])
        output = program(inputs, self.max_iterations, self.seed)[:B]
        return BatchResult(self.skeleton, problem, rotations, translation, output)

    def solve_clip(self, constraints: Sequence[Constraint], init: Pose | None = None) -> BatchResult:
        """Solve T frames of one constraint structure in order, in one compiled call.

        Each constraint's targets carry a leading frame axis T (unbatched ones apply to every
        frame). Frame t starts from the pose frames t-1 and t-2 predict at constant velocity (at
        capture rates a few iterations suffice); no Python runs between frames. Frame 0 starts
        from ``init`` (default: rest pose). A new T compiles once more."""
        constraints = checked_constraints(constraints)
        sizes = {c.batch_size for c in constraints} - {None}
        if len(sizes) != 1:
            raise ConstraintError(
                "solve_clip needs targets with one leading frame axis T shared by all batched constraints"
                + (f"; got frame counts {sorted(sizes)}" if sizes else "")
            )
        T = sizes.pop()
        init = self.skeleton.rest_pose() if init is None else self._checked_pose(init)
        for c in constraints:
            c.validate(self.skeleton, init)
        frames = PoseBatch.repeated(init, T)
        program = self._program(constraints, "clip", T)
        problem = program.problem
        inputs = self._inputs(problem, constraints, frames, batch=T)
        output = program(inputs, self.max_iterations, self.seed)
        return BatchResult(self.skeleton, problem, frames.rotations, frames.translation, output)

    def solve_sequence(self, frames, init: Pose | None = None, velocity_weight: float = 1.0,
                       acceleration_weight: float = 1.0, smoothing_weight: float = 1.0,
                       smoothing_priority: int | None = None):
        """Solve T frames (lists of constraints) in order, warm-started, with velocity and acceleration
        smoothing at the lowest priority (``ik_engine.sequence.solve_sequence``): a SequenceResult."""
        from .sequence import solve_sequence

        return solve_sequence(self, frames, init, velocity_weight, acceleration_weight, smoothing_weight, smoothing_priority)

    def _batch_init(self, init) -> tuple[np.ndarray, np.ndarray]:
        if init is None:
            rest = self.skeleton.rest_pose()
            return rest.rotations, rest.translation
        if isinstance(init, Pose):
            self._checked_pose(init)
            return init.rotations, init.translation
        poses = [self._checked_pose(p) for p in init]
        if not poses:
            raise ConstraintError("init is an empty list of poses")
        return np.stack([p.rotations for p in poses]), np.stack([p.translation for p in poses])


def _unpickled_solver(skeleton: Skeleton, joints, move_root: bool, settings: dict, options) -> IKSolver:
    solver = IKSolver(skeleton, joints, move_root, **settings)
    solver.options = options
    return solver
