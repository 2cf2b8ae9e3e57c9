"""Build the Blender extension zip of the IK Engine add-on.

    python scripts/build_blender_addon.py            # -> dist/ik_engine_blender-0.1.0.zip
    python scripts/build_blender_addon.py --output-dir /tmp
    python scripts/build_blender_addon.py --with-wheel   # the ik-engine wheel inside (wheels/)

The zip holds the files of ``blender/ik_engine_blender/`` at its root (``blender_manifest.toml``
first), as Blender's ``blender --command extension build`` lays them out; install it with
Edit > Preferences > Get Extensions > Install from Disk (or drag it into Blender). Needs only
Python: the manifest is read with tomllib. ``--with-wheel`` builds the ik-engine wheel from this
repository and packs it under ``wheels/``: the add-on's Install button then installs ik-engine
from it (ik-engine is not on PyPI; its dependencies still come from the package index).
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
import tomllib
import zipfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
SOURCE = REPOSITORY / "blender" / "ik_engine_blender"
MANIFEST = "blender_manifest.toml"
# Never packed, whatever the manifest says.
ALWAYS_EXCLUDED = ("__pycache__", "*.pyc", ".*")


def manifest(source: Path = SOURCE) -> dict:
    with open(source / MANIFEST, "rb") as f:
        return tomllib.load(f)


def packed_files(source: Path, exclude_patterns: list[str]) -> list[Path]:
    """Files of ``source`` to pack, relative paths, manifest first, sorted for a stable zip."""
    patterns = [p.rstrip("/") for p in list(ALWAYS_EXCLUDED) + list(exclude_patterns)]
    files = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if not path.is_file() or any(fnmatch.fnmatch(part, p) for part in relative.parts for p in patterns):
            continue
        files.append(relative)
    files.sort(key=lambda p: (str(p) != MANIFEST, str(p)))
    return files


def engine_wheel(output_dir: Path) -> Path:
    """Build the ik-engine wheel (no dependencies) into ``output_dir``; return its path."""
    import shutil
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        # From a copy of the sources: a build in the checkout would leave build/ behind.
        copy = Path(tmp) / "source"
        shutil.copytree(REPOSITORY, copy, ignore=shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info",
                                                                        "__pycache__", ".pytest_cache"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                        "--wheel-dir", str(output_dir), str(copy)], check=True)
    return max(output_dir.glob("ik_engine-*.whl"))


def build(output_dir: Path, source: Path = SOURCE, wheel: Path | None = None) -> Path:
    """Write ``<id>-<version>.zip`` into ``output_dir`` (with ``wheel`` under ``wheels/`` when
    given); return its path."""
    meta = manifest(source)
    for key in ("id", "version"):
        if key not in meta:
            raise SystemExit(f"{source / MANIFEST} has no {key!r}")
    output_dir.mkdir(parents=True, exist_ok=True)
    archive = output_dir / f"{meta['id']}-{meta['version']}.zip"
    exclude = meta.get("build", {}).get("paths_exclude_pattern", [])
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for relative in packed_files(source, exclude):
            # Fixed timestamps: the same sources give the same zip.
            info = zipfile.ZipInfo(relative.as_posix(), date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, (source / relative).read_bytes())
        if wheel is not None:
            info = zipfile.ZipInfo(f"wheels/{wheel.name}", date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, wheel.read_bytes())
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=REPOSITORY / "dist", help="where the zip goes (default: dist/)")
    parser.add_argument("--with-wheel", action="store_true", help="pack the ik-engine wheel, built from this repository")
    args = parser.parse_args(argv)
    wheel = engine_wheel(args.output_dir) if args.with_wheel else None
    archive = build(args.output_dir, wheel=wheel)
    print(archive)
    return 0


if __name__ == "__main__":
    sys.exit(main())
