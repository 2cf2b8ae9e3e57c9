"""FABRIK (Forward And Backward Reaching Inverse Kinematics) on our skeleton and limits.

The method (Aristidou & Lasenby 2011, "FABRIK: A fast, iterative solver for the Inverse
Kinematics problem"; Aristidou, Chrysanthou & Lasenby 2016, "Extending FABRIK with model
constraints") works on joint *positions*, not angles. One iteration is two passes:

* forward reaching (inward, effectors -> root): each effector is put on its target; then
  each joint, from the effectors toward the root, is pulled onto the line toward its own
  previous position, at its bone length from the (already moved) joint below it. Where
  branches meet (a sub-base), every branch proposes a position and the sub-base goes to
  their centroid, then the pass continues toward the root;
* backward reaching (outward, root -> effectors): the root goes back to where it was
  (unless ``move_root``: then it stays where the inward pass left it) and every joint, from
  the root outward, is put at its bone length from its parent, toward the position the inward
  pass gave it.

Rigid bodies instead of bones. Only the moving joints turn; every joint that does not move
is welded to its parent. So the unit FABRIK moves is a *body*: a moving joint (or the root)
with every point fixed in its frame, i.e. the joints below it down to (and including) the
next moving joints, and the effector points (a Position's joint plus its offset). A body
with one point is a classic bone of fixed length (left_wrist -> left_middle1 when only
left_wrist moves; left_elbow -> left_wrist). A body with several points (spine3 -> neck,
left_collar, right_collar) is a sub-base whose branches are rigidly tied: both passes give it
one rotation, fitted to the points' new positions, instead of moving each bone on its own:

* one point: the smallest rotation turning the point's current direction from the pivot onto
  its new direction (exactly the paper's "pull onto the line"; twist is kept);
* several points: the weighted best-fit rotation (Kabsch) about the pivot, with a tiny pull
  toward the current rotation where the points leave it undetermined.

In the inward pass each point then proposes the pivot position that puts it on its new
position under that rotation (for one point: the paper's move), and the pivot goes to their
weighted centroid (the paper's sub-base centroid). A branch counts with weight 1, an
effector point with its constraint's weight.

Joint limits (the papers' rotational constraints, applied in both passes of every iteration).
A joint's limit is a box on its coordinates (``ik_engine.joint_coordinates``): its local
axis-angle ``r`` (``R_parent_joint = R_rest @ exp(r)``), or for a joint with Euler coordinates
(the SMPL-X elbows) its Euler angles ``c`` (``R_parent_joint = R_rest @ R_i(c_i) R_j(c_j)
R_k(c_k)``). "Clamping" a rotation means: express it in the joint's local coordinates, clip
them into the box. For axis-angle, whichever of its two vectors (``r`` and
``r (1 - 2 pi / |r|)``) lies nearer the box is clipped; Euler angles are taken with the middle
angle within +-90 degrees (the other set, beyond, lies outside any box of a middle axis with
a small range, as Euler coordinates are meant to be used). The rotations FABRIK keeps per
body, and its q, are these coordinates.

* Outward (backward reaching), where the paper keeps each new bone inside the cone its
  parent allows: each body's fitted rotation is clamped in its parent's (already placed)
  frame and the body's points are put where the clamped rotation puts them. Every bone
  direction the next body sees is one its parent can reach, and the pose at the end of an
  iteration *is* the forward kinematics of in-limit rotations.
* Inward (forward reaching), where the paper places each joint toward the root inside the
  cone defined by the already placed bone below it (``inward_limits``): once a body's
  children have their new rotations, the body is re-turned so that each child's local
  rotation is its clamped one (``R_body = R_child @ R(c_clamped)^T @ (C @ R_rest)^T``); with
  several children (or other points) it takes the weighted mean rotation of what each asks
  for. Its pivot then goes where that rotation puts it. This re-turn also hands the parent
  the twist the child's limits need (an elbow bends about one axis only: the upper arm is
  turned so that axis lies where the bend must happen), which a bone-only FABRIK has no way
  to express. The root, whose parent frame is the world, is clamped on its own.

Clamping coordinates is not the nearest reachable bone direction, and FABRIK with
limits has fixed points short of the target (an elbow that set off bending the wrong way
stays straight at its limit): what it cannot reach it leaves, as the papers' method does.
(A projected Gauss-Newton "nearest direction" projection instead of the clamp was tried and
did not raise the success rate.)

Recovering rotations. The outward pass *is* the recovery of joint rotations from the
positions: the rotation (in the parent's frame) taking the body's rest points onto the new
directions, the smallest such turn from the current rotation for one point (one direction
has no twist information), the best fit for several, clamped into the limits. The result
is measured on those clamped rotations with float64 forward kinematics
(``PreparedProblem.result``), so a pose that breaks a limit can never count as a success.

Orientation targets (``ik.Orientation``), after Aristidou et al. 2016, where the effector's
orientation fixes its last bone: an orientation target fixes the rotation of the body that
carries the joint. In the inward pass that body takes the target rotation and its pivot is
placed so its points sit on their new positions under it (e.g. the wrist is put at
``target(middle1) - R_target @ offset``); in the outward pass its local rotation is solved
from the target frame and clamped like any other. What the joint's own limits cannot turn
is handed up the chain by the inward limits (a parent re-turned so its child stays in its
box), so an orientation target alone, with no position below it, still moves the arm.

Stopping: when every target is within its tolerance, when ``max_iterations`` inward +
outward passes are done, or when ``patience`` iterations in a row fail to lower the
best weighted normalised error ``sum_c w_c (error_c / tolerance_c)^2`` by the fraction
``min_improvement``; the best iterate is returned.

Cost per iteration: two passes over the depth levels of the body tree; the bodies of one
level are handled together in numpy (a 4-joint arm chain is 4 levels of one body each, the
fixed root being skipped), so a chain pays numpy's per-call cost at every joint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ik_engine.constraints.base import Constraint
from ik_engine.constraints.orientation import Orientation
from ik_engine.constraints.position import Position
from ik_engine.errors import SolverError
from ik_engine.pose import Pose
from ik_engine.skeleton import Skeleton
from ik_engine.solver import IKResult
from ik_engine.validation import finite_number

from .common import BaselineOptions, prepare
from .fabrik_tree import BodyTree

METHOD = "FABRIK"
SUPPORTED = (Position, Orientation)


@dataclass(frozen=True)
class FABRIKOptions(BaselineOptions):
    """Settings of FABRIK (besides those every baseline takes).

    Attributes:
        max_iterations: iterations, each one forward (inward) and one backward (outward)
            reaching pass.
        inward_limits: apply the joint limits in the forward (inward) pass as well, by
            re-turning each parent so the child below it stays within its limits (the papers
            constrain both passes); False leaves that pass unconstrained.
        patience: stop after this many iterations in a row without progress.
        min_improvement: the fraction by which the best error must fall to count as progress.
    """

    max_iterations: int = 100
    inward_limits: bool = True
    patience: int = 20
    min_improvement: float = 1e-3


def fabrik(
    skeleton: Skeleton,
    constraints: Sequence[Constraint],
    joints: Iterable[str] | None = None,
    init: Pose | None = None,
    options: FABRIKOptions | None = None,
) -> IKResult:
    """Solve with FABRIK.

    The shared calling convention of the baselines (``ik_engine.baselines.common``): ``skeleton``,
    ``constraints`` (``ik.Position`` and ``ik.Orientation`` targets, any number, on any joints),
    ``joints`` that may rotate (default all), ``init`` (default rest) and ``options``
    (``FABRIKOptions``); the result is an ``IKResult`` measured on the clipped pose. Raises
    ``SolverError`` for other constraint kinds ("... not supported by FABRIK ...") and bad
    options, and the input errors ``IKSolver.solve`` raises.
    """
    prepared = prepare(METHOD, SUPPORTED, skeleton, constraints, joints, init, options, FABRIKOptions)
    _check_options(prepared.options)
    bodies = BodyTree(prepared)
    q, iterations = bodies.run()
    return prepared.result(q, iterations)


def _check_options(options: FABRIKOptions) -> None:
    patience = options.patience
    if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 1:
        raise SolverError(f"FABRIKOptions.patience must be an integer >= 1, got {patience!r}")
    if not isinstance(options.inward_limits, (bool, np.bool_)):
        raise SolverError(f"FABRIKOptions.inward_limits must be True or False, got {options.inward_limits!r}")
    finite_number(options.min_improvement, "FABRIKOptions.min_improvement", SolverError, minimum=0.0)


