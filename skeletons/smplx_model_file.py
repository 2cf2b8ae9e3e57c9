"""The user's SMPL-X model files: where they are, whether they are SMPL-X (checked from the
array headers before anything is unpickled), and the ``smplx`` package that reads them
(``smplx_model.py`` builds skeletons and meshes from them; its docstring has the licence
terms)."""

from __future__ import annotations

import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ik_engine.errors import SkeletonFileError

NUM_JOINTS = 55
NUM_VERTICES = 10475  # the SMPL-X mesh topology; smplx picks extra joints by vertex index
NUM_POSE_BASIS = (NUM_JOINTS - 1) * 9  # pose blend shapes: one 3x3 matrix per non-root joint
EXTENSIONS = (".npz", ".pkl")
GENDERS = ("neutral", "male", "female")

# The arrays smplx.SMPLX reads, with their shapes (V: vertices, F: faces, K: shape components,
# L: landmarks; None: any size). Checked before smplx sees the file, so a bad file gives a
# message naming the array instead of a KeyError or a shape error deep inside smplx.
REQUIRED_ARRAYS: dict[str, tuple] = {
    "v_template": ("V", 3),
    "f": ("F", 3),
    "J_regressor": (NUM_JOINTS, "V"),
    "kintree_table": (2, NUM_JOINTS),
    "weights": ("V", NUM_JOINTS),
    "shapedirs": ("V", 3, "K"),
    "posedirs": ("V", 3, NUM_POSE_BASIS),
    "hands_componentsl": (None, 45),
    "hands_componentsr": (None, 45),
    "hands_meanl": (45,),
    "hands_meanr": (45,),
    "lmk_faces_idx": ("L",),
    "lmk_bary_coords": ("L", 3),
}
INTEGER_ARRAYS = ("f", "kintree_table", "lmk_faces_idx")

INSTALL_HINT = (
    'install it with `pip install torch==2.13.0` (the CPU wheel is enough) and then '
    '`pip install smplx==0.1.28` (ik-engine\'s extra "smplx")'
)


@dataclass(frozen=True)
class ModelFileInfo:
    """What a checked SMPL-X model file offers.

    Attributes:
        path: the model file.
        ext: ``"npz"`` or ``"pkl"``.
        num_shape_components: K, the blend shapes in ``shapedirs`` (shape and expression).
        max_betas: the most shape coefficients smplx uses from this file (10 when K < 400,
            else 300).
        max_expression: the most expression coefficients (10 when K < 400, else 100).
    """

    path: Path
    ext: str
    num_shape_components: int
    max_betas: int
    max_expression: int


# --------------------------------------------------------------------------- smplx import
def import_smplx():
    """``(smplx, torch)``, or ModuleNotFoundError saying how to install them."""
    try:
        import torch
    except ImportError as exc:
        raise ModuleNotFoundError(
            f"loading SMPL-X model files needs PyTorch, which is not installed ({exc}); {INSTALL_HINT}",
            name="torch",
        ) from exc
    try:
        import smplx
    except ImportError as exc:
        raise ModuleNotFoundError(
            f"loading SMPL-X model files needs the `smplx` package, which cannot be imported ({exc}); {INSTALL_HINT}",
            name="smplx",
        ) from exc
    return smplx, torch


# --------------------------------------------------------------------------- the file
def resolve_model_file(path: str | os.PathLike, gender: str = "neutral") -> Path:
    """The model file to read: ``path`` itself, or for a folder ``SMPLX_<GENDER>.npz/.pkl`` in it
    (or in its ``smplx/`` subfolder, the layout ``smplx.create`` uses)."""
    if not isinstance(gender, str) or gender.lower() not in GENDERS:
        raise SkeletonFileError(f"gender must be one of {', '.join(GENDERS)}, got {gender!r}")
    try:
        p = Path(os.fspath(path)).expanduser()
    except TypeError:
        raise SkeletonFileError(f"an SMPL-X model path must be a str or os.PathLike, got {type(path).__name__}") from None
    if p.is_dir():
        tried = [d / f"SMPLX_{gender.upper()}{ext}" for d in (p, p / "smplx") for ext in EXTENSIONS]
        for candidate in tried:
            if candidate.is_file():
                return candidate
        raise SkeletonFileError(
            f"SMPL-X model folder {str(p)!r} has no model file for gender {gender!r}; looked for "
            + ", ".join(str(c) for c in tried)
        )
    if not p.exists():
        raise SkeletonFileError(f"SMPL-X model file {str(p)!r} does not exist")
    if not p.is_file():
        raise SkeletonFileError(f"SMPL-X model path {str(p)!r} is not a file")
    if p.suffix.lower() not in EXTENSIONS:
        raise SkeletonFileError(
            f"SMPL-X model file {str(p)!r} must end in .npz or .pkl (the formats smplx reads), not {p.suffix!r}"
        )
    return p


def _npz_array_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """{key: (shape, dtype)} of every array in an .npz, reading only the headers."""
    headers = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                continue
            with archive.open(member) as fp:
                version = np.lib.format.read_magic(fp)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
                else:  # rare newer header versions: read the array itself
                    with archive.open(member) as whole:
                        array = np.lib.format.read_array(whole, allow_pickle=False)
                    shape, dtype = array.shape, array.dtype
            headers[member[: -len(".npy")]] = (tuple(shape), np.dtype(dtype))
    return headers


def _pkl_array_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    with open(path, "rb") as fp:
        data = pickle.load(fp, encoding="latin1")
    if not isinstance(data, dict):
        raise SkeletonFileError(f"SMPL-X model file {str(path)!r} holds a {type(data).__name__}, not a dict of arrays")
    headers = {}
    for key, value in data.items():
        if "scipy.sparse" in str(type(value)):  # smplx densifies sparse matrices from .pkl files
            headers[str(key)] = (tuple(value.shape), np.dtype(value.dtype))
            continue
        try:
            array = np.asarray(value)
        except Exception:  # noqa: BLE001 - any odd object: reported as not an array below
            array = np.empty((), dtype=object)
        headers[str(key)] = (array.shape, array.dtype)
    return headers


def check_model_file(path: Path) -> ModelFileInfo:
    """Check that ``path`` holds the arrays smplx.SMPLX needs, with consistent shapes.

    Reads only the array headers of an .npz; unpickles a .pkl. Raises SkeletonFileError naming
    the file and the first problem found.
    """
    where = f"SMPL-X model file {str(path)!r}"
    ext = path.suffix.lower().lstrip(".")
    try:
        headers = _npz_array_headers(path) if ext == "npz" else _pkl_array_headers(path)
    except SkeletonFileError:
        raise
    except ModuleNotFoundError as exc:  # e.g. a .pkl of chumpy objects
        raise SkeletonFileError(
            f"{where} cannot be unpickled: it needs the module {exc.name!r}; convert it to an .npz of plain arrays"
        ) from None
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, pickle.UnpicklingError, TypeError, AttributeError) as exc:
        kind = ".npz archive" if ext == "npz" else "pickle"
        raise SkeletonFileError(f"{where} is not a readable {kind}: {exc}") from None

    missing = [k for k in REQUIRED_ARRAYS if k not in headers]
    if missing:
        hint = ""
        if "J_regressor" in headers and headers["J_regressor"][0][:1] in ((24,), (52,)):
            hint = " (its J_regressor has SMPL/SMPL-H's joint count: this is not an SMPL-X model)"
        raise SkeletonFileError(
            f"{where} lacks the arrays {missing}{hint}; an SMPL-X model has {list(REQUIRED_ARRAYS)}"
        )

    sizes: dict[str, int] = {}
    for key, pattern in REQUIRED_ARRAYS.items():
        shape, dtype = headers[key]
        if dtype == object:
            raise SkeletonFileError(
                f"{where}: {key} is a pickled object, not a numeric array (smplx needs a dense array"
                + (", e.g. J_regressor.toarray()" if key == "J_regressor" else "")
                + ")"
            )
        numeric = np.issubdtype(dtype, np.integer) if key in INTEGER_ARRAYS else np.issubdtype(dtype, np.number)
        if not numeric:
            want = "integers" if key in INTEGER_ARRAYS else "numbers"
            raise SkeletonFileError(f"{where}: {key} must hold {want}, got dtype {dtype}")
        if len(shape) != len(pattern):
            raise SkeletonFileError(f"{where}: {key} must have shape {_describe(pattern)}, got {shape}")
        for axis, (want, got) in enumerate(zip(pattern, shape)):
            if isinstance(want, str):
                known = sizes.setdefault(want, got)
                if known != got:
                    raise SkeletonFileError(
                        f"{where}: {key} has shape {shape} but other arrays give {want} = {known} "
                        f"(expected {_describe(pattern, sizes)})"
                    )
            elif want is not None and want != got:
                raise SkeletonFileError(f"{where}: {key} must have shape {_describe(pattern, sizes)}, got {shape}")
    if sizes["V"] != NUM_VERTICES:
        raise SkeletonFileError(
            f"{where}: v_template has {sizes['V']} vertices; the SMPL-X mesh has {NUM_VERTICES}"
        )
    K = sizes["K"]
    if K < 20:
        raise SkeletonFileError(
            f"{where}: shapedirs has {K} blend shapes; smplx needs at least 20 (10 shape + 10 expression)"
        )
    if sizes["L"] == 0 or sizes["F"] == 0:
        raise SkeletonFileError(f"{where}: f and lmk_faces_idx must not be empty")
    full = K >= 400  # smplx: 300 shape + 100 expression components, else 10 + 10
    return ModelFileInfo(path, ext, K, 300 if full else 10, 100 if full else 10)


def _describe(pattern: tuple, sizes: dict[str, int] | None = None) -> str:
    sizes = sizes or {}
    parts = [str(sizes.get(p, p)) if isinstance(p, str) else ("N" if p is None else str(p)) for p in pattern]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def coefficients(value, what: str, limit: int, where: str, why: str = "") -> np.ndarray:
    """A 1-D finite float64 vector of 1..``limit`` entries (None: ``min(10, limit)`` zeros)."""
    if value is None:
        return np.zeros(min(10, limit))
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SkeletonFileError(f"{what} for {where} must be numbers: {exc}") from None
    if array.ndim != 1 or array.size == 0:
        raise SkeletonFileError(f"{what} for {where} must be a non-empty 1-D vector, got shape {array.shape}")
    if array.size > limit:
        raise SkeletonFileError(f"{what} has {array.size} values but {where} offers only {limit}{why}")
    if not np.isfinite(array).all():
        i = int(np.flatnonzero(~np.isfinite(array))[0])
        raise SkeletonFileError(f"{what} for {where} must be finite; entry {i} is {array[i]}")
    return array
