"""What every constraint kind provides.

A constraint has a static part (its kind, the joints it reads, its priority and any
structural choices: changing these compiles a new program) and array parameters (targets,
offsets, reference poses: changing these never recompiles). Its residual is written
against an array namespace and reads the kinematic state of the problem
(``ik_engine.problem.KinematicState``), which also gives the Jacobian of any world point,
joint frame or joint rotation with respect to the variables.

Three families:

* targets (``tolerance_kind = "position"`` or ``"orientation"``): met when their error is
  within the solver's tolerance of that kind;
* inequalities (``"position"``, error = metres of violation): zero residual when satisfied;
* regularisers (``tolerance_kind = None``): always pull, never "met"; by default they sit
  below every other priority level.
"""

from __future__ import annotations

from typing import Any, ClassVar, Hashable, Sequence

import numpy as np

from ..errors import ConstraintError, SolverError
from ..validation import MAX_COORDINATE, finite_number

# Priority of regularisers unless given: below any level a user is likely to use.
LOWEST_PRIORITY = 1000


def check_weight(weight: Any, kind: str) -> float:
    """A finite, non-negative weight, or ConstraintError."""
    return finite_number(weight, f"{kind} weight", ConstraintError, minimum=0.0)


def check_priority(priority: Any, kind: str) -> int:
    """A non-negative integer priority (0 = highest), or ConstraintError."""
    if isinstance(priority, bool) or not isinstance(priority, (int, np.integer)) or priority < 0:
        raise ConstraintError(f"{kind} priority must be an integer >= 0 (0 = highest), got {priority!r}")
    return int(priority)


def check_vector(value: Any, size: int, what: str) -> np.ndarray:
    """A finite float64 vector of ``size`` entries, or ConstraintError naming ``what``."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConstraintError(f"{what} must be {size} numbers, got {value!r}") from None
    if array.shape != (size,):
        raise ConstraintError(f"{what} must have shape ({size},), got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ConstraintError(f"{what} must be finite, got {array.tolist()}")
    if (np.abs(array) > MAX_COORDINATE).any():
        raise ConstraintError(f"{what} must be within +-{MAX_COORDINATE:g} (metres), got {array.tolist()}")
    return array


def check_batched_vectors(value: Any, size: int, what: str) -> np.ndarray:
    """A finite float64 array of shape (size,) or (B, size) (a batch of B), or ConstraintError."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConstraintError(f"{what} must be {size} numbers (or a batch of them), got {value!r}") from None
    if array.ndim not in (1, 2) or array.shape[-1] != size or (array.ndim == 2 and array.shape[0] == 0):
        raise ConstraintError(f"{what} must have shape ({size},) or (B, {size}), got shape {array.shape}")
    if not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0].tolist()
        raise ConstraintError(f"{what} must be finite; entry {bad} is {array[tuple(bad)]}")
    if (np.abs(array) > MAX_COORDINATE).any():
        bad = np.argwhere(np.abs(array) > MAX_COORDINATE)[0].tolist()
        raise ConstraintError(f"{what} must be within +-{MAX_COORDINATE:g} (metres); entry {bad} is {array[tuple(bad)]}")
    return array


def batch_size_of(array: np.ndarray, item_ndim: int) -> int | None:
    """B for an array with one extra leading axis, None for a single item."""
    return array.shape[0] if array.ndim > item_ndim else None


def check_direction(value: Any, what: str) -> np.ndarray:
    """A finite, non-zero 3-vector, normalised, or ConstraintError."""
    v = check_vector(value, 3, what)
    norm = np.linalg.norm(v)
    if norm < 1e-9:
        raise ConstraintError(f"{what} must not have zero length, got {v.tolist()}")
    return v / norm


def check_joint_name(joint: Any, kind: str) -> str:
    if not isinstance(joint, str) or not joint:
        raise ConstraintError(f"{kind} needs a joint name (str), got {joint!r}")
    return joint


def checked_constraints(constraints: Any) -> list["Constraint"]:
    """A non-empty list of constraints (one constraint is a list of one), or SolverError /
    ConstraintError naming what was wrong."""
    if isinstance(constraints, Constraint):
        constraints = [constraints]
    try:
        constraints = list(constraints)
    except TypeError:
        raise SolverError(f"constraints must be a list of constraints, got {type(constraints).__name__}") from None
    if not constraints:
        raise SolverError("no constraints given: pass at least one constraint to solve for")
    for i, c in enumerate(constraints):
        if not isinstance(c, Constraint):
            raise ConstraintError(f"constraint {i} is a {type(c).__name__}, not an ik_engine constraint")
    return constraints


def leading_batch_size(constraints: Sequence["Constraint"]) -> int | None:
    """The batch size (or frame count) of batched constraints, None if there are none."""
    sizes = {c.batch_size for c in constraints} - {None}
    return max(sizes) if sizes else None


class Constraint:
    """Base class of the constraint kinds.

    Subclasses set ``tolerance_kind`` and implement ``joints``, ``parameters`` and
    ``residual``; those that read joint rotations directly (regularisers) set
    ``reads_rotations``; those with structural choices override ``static``.

    Attributes:
        weight: relative importance within a priority level (multiplies the squared error).
        priority: 0 is the highest; a level is optimised only in the freedom that the levels
            above it leave.
    """

    tolerance_kind: ClassVar[str | None]
    reads_rotations: ClassVar[bool] = False
    # Optional capabilities, declared (None: the kind has none):
    # ``batched_residual(state, rows (k,), params (k, P), xp)`` evaluates k constraints of the
    # kind at once (residuals (k, d), Jacobians (k, d, n), errors (k,));
    # ``alignment_point(state, slot, params, xp)`` gives (current world point, its target) for
    # the whole-body alignment of the first candidate.
    batched_residual: ClassVar[Any] = None
    alignment_point: ClassVar[Any] = None
    uses_initial_pose: ClassVar[bool] = False
    # Targets a chain must reach from anywhere (Position, Orientation, LookAt, BoneDirection):
    # on a cold start, the chain above them starts in the middle of its joints' ranges
    # (``ResidualProblem.cold_start``).
    reaches_target: ClassVar[bool] = False
    # Kinds whose static choices and parameters derive from the body's rest geometry
    # (capsules, clearances, segment masses): kept to a program per body (``IKSolver.with_body``),
    # a precaution (their parameters carry that geometry). The others read the body's
    # proportions from the rest offsets, a program input.
    bakes_rest_geometry: ClassVar[bool] = False
    # Rows of a residual whose size never varies (``residual_size``); None: it may.
    residual_rows: ClassVar[int | None] = None
    weight: float = 1.0
    priority: int = 0

    def joints(self) -> tuple[str, ...]:
        """Names of the joints whose world frames the residual reads."""
        raise NotImplementedError

    def static(self, skeleton: Any) -> Hashable:
        """Structural choices baked into the compiled program (part of the cache key)."""
        return ()

    @staticmethod
    def uneven_pull(static: Hashable, problem: Any = None) -> bool:
        """Whether a regulariser with these static choices, in ``problem`` (a ResidualProblem),
        weighs its variables unevenly (the solver then solves its level exactly in the freedom
        the levels above leave, ``solvers/levenberg_marquardt.py``); False for every other constraint."""
        return False

    def parameters(self, skeleton: Any) -> np.ndarray:
        """Everything that may change between solves (not the weight): float64 (P,), or
        (B, P) for batched targets; each kind declares its fields as a NamedTuple and packs
        them with ``parameter_structure.pack`` (its residual reads them by name, ``unpack``)."""
        raise NotImplementedError

    def shifted_parameters(self, skeleton: Any, shift: np.ndarray) -> np.ndarray:
        """``parameters`` in the solve frame: the world moved by ``-shift`` (3,) or (B, 3)
        metres, so that world points near the character have small coordinates (the solver
        works near its origin: float32 keeps its precision kilometres away). Kinds whose
        parameters hold world points override this; the default has none."""
        return self.parameters(skeleton)

    def validate(self, skeleton: Any, init: Any) -> None:
        """Check this constraint against the skeleton and the initial pose before a solve.

        Raise ConstraintError for input that cannot be solved meaningfully (e.g. a pole on
        the limb's line). Called by the solver in Python, outside the compiled program.
        """

    @property
    def batch_size(self) -> int | None:
        """B when the targets carry a leading batch axis (for ``solve_batch``), else None."""
        return None

    def parameter_size(self, skeleton: Any) -> int:
        """P, the length of ``parameters(skeleton)`` (part of the compiled structure)."""
        return self.parameters(skeleton).shape[-1]

    @classmethod
    def residual_size(cls, static: Hashable, joint_rows: tuple[int, ...], problem: Any) -> int | None:
        """Rows of ``residual`` for these static choices and joint rows in ``problem`` (a
        ResidualProblem being built: its moving joints and ``move_root`` are set), when known
        without evaluating it: ``residual_rows`` for kinds of a fixed size; None (default): the
        problem evaluates every residual once to find out (about 0.5 ms interpreted, paid by
        every new constraint structure)."""
        return cls.residual_rows

    @staticmethod
    def residual(state: Any, slot: Any, params: Any, xp: Any) -> tuple[Any, Any, Any]:
        """Residual (k,), its Jacobian (k, n) and the scalar error the user sees.

        ``slot.joint_rows`` are the rows of ``self.joints()`` in ``state``; ``slot.static`` is
        ``self.static(skeleton)``.
        """
        raise NotImplementedError
