"""The engine inside Blender's Python: imported lazily, installed with pip on request.

The add-on itself needs only Blender. ``ik_engine`` (with jax and numpy >= 2) is imported the
first time something is solved, never at registration, so the add-on registers, draws its panel
and explains what is missing when the package is not installed.

Where it is installed: ``pip install --target`` into a folder of the add-on's own (the
extension's user folder, ``bpy.utils.extension_path_user``), which is always writable, survives
add-on updates and leaves Blender's bundled packages untouched. That folder goes first on
``sys.path``, so its numpy (ik-engine needs numpy 2) is the one imported, provided nothing in the
session imported Blender's bundled numpy before: if something did, a restart of Blender picks
the new one up, and the panel says so.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
import time

MODULE = "ik_engine"


def bundled_wheel() -> str | None:
    """The ik-engine wheel packed with the add-on (``wheels/ik_engine-*.whl``, see
    scripts/build_blender_addon.py --with-wheel), or None."""
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wheels")
    try:
        wheels = sorted(name for name in os.listdir(folder) if name.startswith("ik_engine-") and name.endswith(".whl"))
    except OSError:
        return None
    return os.path.join(folder, wheels[-1]) if wheels else None


# What the Install button gives pip: the bundled wheel when the add-on has one, else the name
# (ik-engine is not on PyPI: the user gives the path of a wheel or of a clone instead).
DEFAULT_REQUIREMENT = bundled_wheel() or "ik-engine"
NOT_ON_PYPI = ("ik-engine is not on PyPI: give the path of an ik-engine wheel (in a clone: pip wheel --no-deps . "
               "-w dist) or of a clone's folder as the package to install")
SITE_PACKAGES = "site-packages"
# The panel redraws constantly: a failed import is retried at most this often (seconds).
STATUS_RETRY = 3.0
_last_failure: tuple[float, str] | None = None
# Folder name under Blender's user scripts when the add-on runs as a legacy add-on (not an
# extension): extension_path_user only knows extensions.
LEGACY_FOLDER = "ik_engine_blender_site_packages"


class DependencyError(Exception):
    """``ik_engine`` cannot be imported; the message says why and how to install it."""


def _addon_package() -> str:
    return __package__ or "ik_engine_blender"


def site_packages_dir(create: bool = False) -> str:
    """The folder pip installs into for this add-on (see the module docstring)."""
    import bpy

    package = _addon_package()
    if package.startswith("bl_ext."):
        return bpy.utils.extension_path_user(package, path=SITE_PACKAGES, create=create)
    folder = os.path.join(bpy.utils.user_resource("SCRIPTS"), LEGACY_FOLDER)
    if create:
        os.makedirs(folder, exist_ok=True)
    return folder


def add_site_packages_to_path() -> str | None:
    """Put the add-on's package folder first on ``sys.path`` when it exists; return it."""
    try:
        folder = site_packages_dir()
    except Exception:  # no user folder (e.g. a factory-settings session): nothing to add
        return None
    if os.path.isdir(folder) and folder not in sys.path:
        sys.path.insert(0, folder)
    return folder if os.path.isdir(folder) else None


def remove_site_packages_from_path() -> None:
    try:
        folder = site_packages_dir()
    except Exception:
        return
    while folder in sys.path:
        sys.path.remove(folder)


def install_command_line(requirement: str = DEFAULT_REQUIREMENT) -> str:
    """The one-line shell command that does what the Install operator does (for the README)."""
    return (
        'blender --background --python-expr "import bpy; '
        f"bpy.ops.ik_engine.install_dependencies(requirement='{requirement}')\""
    )


def engine():
    """The ``ik_engine`` module; DependencyError with instructions when it cannot be imported."""
    try:
        return importlib.import_module(MODULE)
    except Exception as exc:  # ImportError, or a broken install (e.g. numpy 1 already loaded)
        raise DependencyError(missing_message(exc)) from None


def missing_message(exc: BaseException) -> str:
    reason = f"{type(exc).__name__}: {exc}"
    hint = ""
    if "numpy" in str(exc).lower() and "numpy" in sys.modules:
        hint = " If it was just installed, restart Blender (an older numpy is already loaded)."
    return (
        f"The ik-engine package cannot be imported in Blender's Python ({reason}). Install it from "
        "Edit > Preferences > Add-ons > IK Engine > Install dependencies." + hint
    )


def engine_status() -> tuple[bool, str]:
    """(available, message) for the panel and the preferences (a failure is remembered for
    STATUS_RETRY seconds, so that redraws do not search ``sys.path`` each time)."""
    global _last_failure
    if _last_failure is not None and time.monotonic() - _last_failure[0] < STATUS_RETRY:
        return False, _last_failure[1]
    try:
        module = engine()
    except DependencyError as exc:
        _last_failure = (time.monotonic(), str(exc))
        return False, str(exc)
    _last_failure = None
    return True, f"ik-engine {getattr(module, '__version__', '?')} is installed"


def forget_status() -> None:
    """Check the import afresh next time (after an install)."""
    global _last_failure
    _last_failure = None


def pip_commands(requirement: str, target: str) -> list[list[str]]:
    """The commands that install ``requirement`` and its needs into ``target``.

    ``ensurepip`` first when Blender's Python has no pip yet.
    """
    commands = []
    if importlib.util.find_spec("pip") is None:
        commands.append([sys.executable, "-m", "ensurepip", "--upgrade"])
    commands.append([
        sys.executable, "-m", "pip", "install", "--upgrade", "--target", target,
        "--disable-pip-version-check", "--no-input", requirement,
    ])
    return commands


def run_command(command: list[str]) -> subprocess.CompletedProcess:
    """Run one install step (separate so tests can replace it)."""
    return subprocess.run(command, capture_output=True, text=True)


def install(requirement: str = DEFAULT_REQUIREMENT) -> str:
    """Install ``requirement`` into the add-on's folder; return a summary or raise DependencyError."""
    requirement = requirement.strip()
    if not requirement:
        raise DependencyError("no package given to install (the default is 'ik-engine')")
    target = site_packages_dir(create=True)
    for command in pip_commands(requirement, target):
        completed = run_command(command)
        if completed.returncode != 0:
            tail = (completed.stderr or completed.stdout or "").strip().splitlines()[-3:]
            hint = ""
            if "No matching distribution" in " ".join(tail) and requirement.lower().startswith(("ik-engine", "ik_engine")):
                hint = f". {NOT_ON_PYPI}"
            raise DependencyError(
                f"'{' '.join(command[1:4])} ...' failed (exit {completed.returncode}): " + " | ".join(tail) + hint
            )
    add_site_packages_to_path()
    importlib.invalidate_caches()
    forget_status()
    available, message = engine_status()
    if not available:
        raise DependencyError(f"installed into {target}, but the import still fails: {message}")
    return f"{message} (in {target})"
