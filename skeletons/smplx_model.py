"""Skeletons from the user's own SMPL-X model files, through the ``smplx`` package.

SMPL-X model files (``SMPLX_NEUTRAL.npz``, ``SMPLX_MALE.pkl``, ...) and the ``smplx`` package
are under a non-commercial licence: ik-engine ships neither, never copies their code and never
stores numbers derived from a model file. It imports ``smplx`` (an optional dependency:
``pip install torch==2.13.0`` then the ``smplx`` extra) and reads the file the
user names, at run time.

What comes from the model: the shaped rest joints (``J_regressor`` applied to the template
deformed by the body shape ``betas`` and the ``expression``; zero pose), and the kinematic tree
(``kintree_table``, checked to be SMPL-X's). What comes from ik-engine: joint names, the
anatomical joint limits of the shipped default skeleton, and capsule radii (the default
skeleton's, scaled by the ratio of the model's stature to the default's).

The mesh is not kept on the Skeleton. To pose the mesh (or check a pose against smplx's own
forward pass), use :func:`smplx_forward` with the same file and body shape. Reading a file
takes a fraction of a second: for many body shapes or poses, build the ``smplx.SMPLX`` module
once with :func:`smplx_module` and pass it to :func:`load_smplx_model` / :func:`smplx_forward`.

Errors: a missing, unreadable or malformed file, and betas or expression values the model
cannot take, raise :class:`ik_engine.errors.SkeletonFileError` (a ValueError) naming the file;
a missing ``smplx`` or ``torch`` raises ModuleNotFoundError (an ImportError) saying what to
install. Pickled files (``.pkl``, and object arrays inside an ``.npz``) are unpickled by
``smplx``: load only model files you trust.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ik_engine.errors import PoseError, SkeletonFileError
from ik_engine.pose import Pose
from ik_engine.skeleton import Skeleton

from .smplx_default import (
    SKELETON_FILE,
    joint_coordinate_kinds,
    joint_limits_radians,
    joint_neutral_rotations,
    joint_swing_reach,
    limits_file,
    load_smplx_default,
    read_data_file,
)
from .smplx_params import pose_to_smplx

from .smplx_model_file import NUM_JOINTS, ModelFileInfo, check_model_file, coefficients, import_smplx, resolve_model_file


# --------------------------------------------------------------------------- the smplx module
# smplx_module() notes the file on the module, so a Skeleton built from the module is named
# after it (an nn.Module takes plain attributes).
MODEL_FILE_ATTRIBUTE = "ik_engine_model_file"


def _build_module(info: ModelFileInfo, num_betas: int, num_expression: int, gender: str, dtype):
    smplx, torch = import_smplx()
    try:
        module = smplx.SMPLX(
            model_path=str(info.path),
            ext=info.ext,
            gender=gender.lower(),
            num_betas=num_betas,
            num_expression_coeffs=num_expression,
            use_pca=False,
            flat_hand_mean=True,
            dtype=dtype if dtype is not None else torch.float64,
        )
    except Exception as exc:  # noqa: BLE001 - whatever smplx trips on, name the file
        raise SkeletonFileError(f"smplx could not load the SMPL-X model file {str(info.path)!r}: {exc}") from None
    if module.num_betas != num_betas or module.num_expression_coeffs != num_expression:
        raise SkeletonFileError(
            f"smplx uses {module.num_betas} shape and {module.num_expression_coeffs} expression coefficients "
            f"from {str(info.path)!r}, not the {num_betas} and {num_expression} asked for"
        )
    setattr(module, MODEL_FILE_ATTRIBUTE, str(info.path))
    return module


def smplx_module(path: str | os.PathLike, num_betas: int = 10, num_expression_coeffs: int = 10,
                 gender: str = "neutral", dtype=None):
    """A checked ``smplx.SMPLX`` module for a model file, set up so that a Pose maps onto it.

    Build it once and pass it to :func:`load_smplx_model` / :func:`smplx_forward` to work with
    many body shapes or poses of one file without reading the file each time. The module takes
    raw axis-angle hand poses (``use_pca=False``, ``flat_hand_mean=True``), so
    :func:`~ik_engine.skeletons.smplx_params.pose_to_smplx` output feeds it unchanged.

    Args:
        path: an SMPL-X ``.npz`` or ``.pkl`` file, or a folder holding ``SMPLX_<GENDER>.npz/.pkl``.
        num_betas, num_expression_coeffs: the most coefficients the module takes (1..10 for files
            with 20 blend shapes; 1..300 and 1..100 for files with 400).
        gender: picks the file when ``path`` is a folder.
        dtype: a torch dtype (default ``torch.float64``).
    """
    file = resolve_model_file(path, gender)
    import_smplx()
    info = check_model_file(file)
    for n, what, limit in ((num_betas, "num_betas", info.max_betas),
                           (num_expression_coeffs, "num_expression_coeffs", info.max_expression)):
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not 1 <= n <= limit:
            raise SkeletonFileError(f"{what} for {str(file)!r} must be an integer in 1..{limit}, got {n!r}")
    return _build_module(info, int(num_betas), int(num_expression_coeffs), gender, dtype)


@dataclass
class _Model:
    module: Any
    where: str  # for messages: "SMPL-X model file '...'"
    file_name: str
    betas: np.ndarray  # (module.num_betas,)
    expression: np.ndarray  # (module.num_expression_coeffs,)


def _open(path_or_module, betas, expression, gender: str) -> _Model:
    """The smplx module (given, or built from the file for these betas) and padded coefficients."""
    if not isinstance(path_or_module, (str, os.PathLike)):
        smplx, torch = import_smplx()
        if not isinstance(path_or_module, smplx.SMPLX) or isinstance(path_or_module, smplx.SMPLXLayer):
            raise SkeletonFileError(
                "expected the path of an SMPL-X model file (or folder) or an smplx.SMPLX module, "
                f"got {type(path_or_module).__name__}"
            )
        module = path_or_module
        file = getattr(module, MODEL_FILE_ATTRIBUTE, None)
        where = f"SMPL-X model {'file ' + repr(file) if file else 'module'}"
        if module.use_pca:
            raise SkeletonFileError(
                f"{where} was built with use_pca=True; build it with use_pca=False (as smplx_module does): "
                "a Pose holds raw axis-angle hand rotations, not PCA coefficients"
            )
        if module.batch_size != 1:
            raise SkeletonFileError(f"{where} has batch_size {module.batch_size}; ik-engine runs it with batch 1")
        why = " (the module's num_betas / num_expression_coeffs)"
        beta_values = coefficients(betas, "betas", module.num_betas, where, why)
        expression_values = coefficients(expression, "expression", module.num_expression_coeffs, where, why)
        file_name = Path(file).name if file else "module"
    else:
        path = resolve_model_file(path_or_module, gender)
        smplx, torch = import_smplx()
        info = check_model_file(path)
        where = f"SMPL-X model file {str(path)!r}"
        why = f" ({info.num_shape_components} blend shapes in shapedirs)"
        beta_values = coefficients(betas, "betas", info.max_betas, where, why)
        expression_values = coefficients(expression, "expression", info.max_expression, where, why)
        module = _build_module(info, beta_values.size, expression_values.size, gender, torch.float64)
        file_name = path.name
    # Shorter vectors are zero-padded: the missing coefficients are zero.
    beta_values = np.pad(beta_values, (0, module.num_betas - beta_values.size))
    expression_values = np.pad(expression_values, (0, module.num_expression_coeffs - expression_values.size))
    return _Model(module, where, file_name, beta_values, expression_values)


def _run(model: _Model, pose: Pose, vertices: bool = False):
    """smplx's forward pass for a Pose: (joints (55, 3), vertices (V, 3) or None), float64.

    Every pose parameter is passed (smplx would otherwise use the module's own settable ones).
    """
    params = pose_to_smplx(pose)
    module = model.module
    if not module.flat_hand_mean:  # smplx adds its mean hand pose to the given one
        params["left_hand_pose"] = params["left_hand_pose"] - module.left_hand_mean.cpu().numpy()[None]
        params["right_hand_pose"] = params["right_hand_pose"] - module.right_hand_mean.cpu().numpy()[None]
    _, torch = import_smplx()
    dtype, device = module.shapedirs.dtype, module.shapedirs.device
    tensors = {k: torch.as_tensor(v, dtype=dtype, device=device) for k, v in params.items()}
    tensors["betas"] = torch.as_tensor(model.betas[None], dtype=dtype, device=device)
    tensors["expression"] = torch.as_tensor(model.expression[None], dtype=dtype, device=device)
    try:
        with torch.no_grad():
            out = module(**tensors, return_verts=vertices, return_shaped=False)
    except Exception as exc:  # noqa: BLE001
        raise SkeletonFileError(f"smplx's forward pass failed for {model.where}: {exc}") from None
    joints = out.joints[0, :NUM_JOINTS].cpu().numpy().astype(np.float64)
    verts = out.vertices[0].cpu().numpy().astype(np.float64) if vertices else None
    return joints, verts


def _stature(positions: np.ndarray, names: list[str]) -> float:
    """Head joint height above the lowest ankle or foot joint (Y up), metres."""
    index = {n: i for i, n in enumerate(names)}
    feet = [index[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
    return float(positions[index["head"], 1] - positions[feet, 1].min())


# --------------------------------------------------------------------------- public API
def load_smplx_model(path, betas=None, gender: str = "neutral", expression=None, limits: str = "box") -> Skeleton:
    """The 55-joint skeleton of a user's SMPL-X model for one body shape.

    Args:
        path: an SMPL-X model file (``.npz`` or ``.pkl``, any name), a folder holding
            ``SMPLX_<GENDER>.npz`` / ``.pkl`` (directly or in a ``smplx/`` subfolder), or an
            ``smplx.SMPLX`` module (e.g. from :func:`smplx_module`; reading a file takes a
            fraction of a second, so build the module once for many body shapes).
        betas: (N,) shape coefficients, 1 <= N <= what the file offers (10 for files with
            20 blend shapes, 300 for files with 400; a module's ``num_betas``); shorter vectors
            are zero-padded. None: the mean shape.
        gender: ``"neutral"``, ``"male"`` or ``"female"``; picks the file when ``path`` is a
            folder (a file is used as given).
        expression: (E,) expression coefficients (they move the jaw and eye joints too);
            None: neutral.
        limits: the shipped limit table, ``"box"`` (default) or ``"swing_twist"``
            (``ik.load_skeleton``).

    Returns:
        A Skeleton named ``"smplx:<file name>"``: SMPL-X joint names, order and parents;
        rest offsets from the shaped rest joints (root offset = pelvis position); the shipped
        anatomical limits; the default skeleton's capsule radii scaled by the stature ratio.
        Its forward kinematics equal smplx's joints ``[:, :55]`` for any pose fed as
        ``pose_to_smplx`` parameters (see :func:`smplx_forward`).

    Raises:
        SkeletonFileError: missing/unreadable/malformed file, or betas/expression the model
            cannot take (too many values, not 1-D, not finite). Nothing is half-loaded.
        ModuleNotFoundError: ``smplx`` or ``torch`` is not installed.
    """
    model = _open(path, betas, expression, gender)
    joints, _ = _run(model, Pose(np.zeros((NUM_JOINTS, 3))))
    if not np.isfinite(joints).all():
        raise SkeletonFileError(f"{model.where} gives non-finite rest joints (NaN or inf in its arrays)")

    default_data = read_data_file(SKELETON_FILE)
    names = list(default_data["joint_names"])
    parents = np.array(default_data["parents"], dtype=np.int64)
    model_parents = model.module.parents.cpu().numpy().astype(np.int64)  # kintree_table[0], root -> -1
    if model_parents.shape != parents.shape or not np.array_equal(model_parents, parents):
        bad = int(np.flatnonzero(model_parents[:NUM_JOINTS] != parents)[0]) if model_parents.shape == parents.shape else 0
        raise SkeletonFileError(
            f"{model.where}: kintree_table gives joint {bad} ({names[bad]}) the parent "
            f"{model_parents[bad] if model_parents.shape == parents.shape else model_parents.shape}; "
            f"SMPL-X's is {parents[bad]}"
        )

    offsets = joints - np.where(parents[:, None] >= 0, joints[np.maximum(parents, 0)], 0.0)
    limits = read_data_file(limits_file(limits))
    lower, upper = joint_limits_radians(names, limits)
    default = load_smplx_default()
    radii = None
    if default.radii is not None:
        ratio = _stature(joints, names) / _stature(default.rest_positions(), names)
        # A degenerate model (or one not Y-up) gives a meaningless ratio: keep the default radii.
        scale = ratio if np.isfinite(ratio) and 0.2 <= ratio <= 5.0 else 1.0
        radii = default.radii * scale
    return Skeleton(names, parents, offsets, lower, upper, radii=radii, name=f"smplx:{model.file_name}",
                    coordinates=joint_coordinate_kinds(names, limits),
                    neutral_rotations=joint_neutral_rotations(names, limits), swing_reach=joint_swing_reach(names, limits))


def smplx_forward(path_or_module, pose: Pose, betas=None, expression=None,
                  gender: str = "neutral") -> tuple[np.ndarray, np.ndarray]:
    """smplx's own forward pass for a Pose: ``(joints (55, 3), vertices (V, 3))``, float64, metres.

    For tests against the engine's forward kinematics, and to pose the mesh for export (faces:
    ``module.faces``).

    Args:
        path_or_module: an SMPL-X model file or folder (as for :func:`load_smplx_model`), or an
            ``smplx.SMPLX`` module built with ``use_pca=False`` (e.g. by :func:`smplx_module`;
            reuse one module for many calls). A module with ``flat_hand_mean=False`` is
            handled: its mean hand pose is taken off the Pose's hand rotations first (also
            by :func:`load_smplx_model`, so that the rest pose is the flat hand).
        pose: a 55-joint Pose, rotations as in the engine (raw axis-angle per joint).
        betas, expression: as for :func:`load_smplx_model`.
        gender: picks the file when a folder is given.
    """
    if not isinstance(pose, Pose) or pose.num_joints != NUM_JOINTS:
        got = f"{pose.num_joints} joints" if isinstance(pose, Pose) else type(pose).__name__
        raise PoseError(f"smplx_forward needs a {NUM_JOINTS}-joint ik_engine.Pose, got {got}")
    model = _open(path_or_module, betas, expression, gender)
    return _run(model, pose, vertices=True)


def smplx_mesh(path_or_module, betas=None, expression=None, gender: str = "neutral", weights_per_vertex: int = 4):
    """The user's SMPL-X body mesh as an engine :class:`ik_engine.mesh.Mesh`.

    Rest vertices for the body shape (zero pose, from smplx's own forward pass), the model's
    faces, and its skinning weights reduced to the ``weights_per_vertex`` largest per vertex
    (renormalised). Posed with :func:`ik_engine.skin` it is plain linear blend skinning:
    smplx's pose-corrective blend shapes are not applied (use :func:`smplx_forward` for the
    exact smplx mesh of a pose).
    """
    from ik_engine.mesh import Mesh

    model = _open(path_or_module, betas, expression, gender)
    rest = Pose(np.zeros((NUM_JOINTS, 3)))
    _, vertices = _run(model, rest, vertices=True)
    weights = model.module.lbs_weights.detach().cpu().numpy().astype(np.float64)  # (V, 55)
    k = int(weights_per_vertex)
    if not 1 <= k <= NUM_JOINTS:
        raise SkeletonFileError(f"weights_per_vertex must be in 1..{NUM_JOINTS}, got {weights_per_vertex!r}")
    top = np.argsort(-weights, axis=1)[:, :k]
    top_weights = np.take_along_axis(weights, top, axis=1)
    faces = np.asarray(model.module.faces, dtype=np.int64)
    names = read_data_file(SKELETON_FILE)["joint_names"]
    return Mesh(vertices, faces, top, top_weights, joint_names=names)
