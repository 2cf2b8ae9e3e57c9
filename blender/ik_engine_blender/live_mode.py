"""Live mode: re-solve an armature whenever its targets move.

A ``depsgraph_update_post`` handler (added at register, removed at unregister) first lets
every armature's constraint items follow renamed bones (``following``), then visits the scene's armatures whose Live option is on. For each it takes the signature of the solve's inputs
(the evaluated world matrices of the armature and of its targets, and its constraint settings);
when that differs from the signature it last solved, it solves, warm-started from the current
pose, and writes the pose bones. Its own writes cause one more depsgraph update, which finds the
same signature and stops: no endless loop. A flag also refuses re-entry while the handler runs.
The signatures are forgotten when a file loads (a ``load_pre`` handler: every update after it is
the new file's), since a new file may hold objects of the same names.

Never blocking: the engine answers a new constraint structure at once (interpreted) and compiles
structures solved again in its own background thread (``ik_engine.programs``), so every live
solve runs inside the handler and takes milliseconds.
"""

from __future__ import annotations

import contextlib

import bpy
from bpy.app.handlers import persistent

from . import pose_memory
from .errors import AddonError
from .following import follow_scene
from .solving import apply_solution, read_problem, solve_problem

_in_handler = False
# How many live solves have run in the main thread in this session (the panel's and the tests'
# evidence that an update without new inputs solves nothing).
solve_count = 0
# (scene name, armature name) -> signature of the inputs last solved (or failed on).
_last_inputs: dict[tuple[str, str], tuple] = {}


def set_message(settings, text: str, is_error: bool) -> None:
    """Show ``text`` in the panel (written only when it changes, to spare depsgraph updates)."""
    if settings.message != text:
        settings.message = text
    if settings.message_is_error != is_error:
        settings.message_is_error = is_error


def inputs_signature(armature_object, depsgraph) -> tuple:
    """What a live solve depends on, as a comparable tuple."""

    def matrix(obj):
        evaluated = obj.evaluated_get(depsgraph) if depsgraph is not None else obj
        return tuple(v for row in evaluated.matrix_world for v in row)

    settings = armature_object.ik_engine
    parts = [matrix(armature_object), settings.move_root]
    for item in settings.constraints:
        target = item.target
        parts.append((
            item.kind, item.enabled, item.bone, item.weight, item.priority, item.use_rotation, item.point,
            item.axis, item.clearance, None if target is None else (target.name, matrix(target)),
        ))
    return tuple(parts)


def live_armatures(scene):
    return [obj for obj in scene.objects if obj.type == "ARMATURE" and obj.ik_engine.live]


def show(settings, text: str, is_error: bool) -> None:
    """``set_message`` for the handler: an armature deleted meanwhile has no panel to tell."""
    with contextlib.suppress(ReferenceError):
        set_message(settings, text, is_error)


def update_live(armature_object, scene, depsgraph, force: bool = False) -> bool:
    """Solve one live armature if its inputs changed; True when the pose was written.

    Never raises: every problem goes to the panel's message.
    """
    global solve_count
    key = (scene.name, armature_object.name)
    try:
        settings = armature_object.ik_engine
        if armature_object.mode == "EDIT":
            return False
        signature = inputs_signature(armature_object, depsgraph)
    except ReferenceError:  # an object removed while we look at it
        return False
    if not force and _last_inputs.get(key) == signature:
        return False
    _last_inputs[key] = signature
    try:
        problem = read_problem(armature_object, scene, depsgraph)
        solution = solve_problem(problem)
        solve_count += 1
        apply_solution(armature_object, solution)
        show(settings, f"Live: {solution.summary()}", not solution.result.converged)
        return True
    except AddonError as exc:
        show(settings, f"Live: {exc}", True)
    except (ReferenceError, KeyError) as exc:  # deleted or renamed while the pose was written
        show(settings, f"Live: the armature changed while its pose was written ({type(exc).__name__}: {exc})", True)
    except Exception as exc:  # never let a handler raise into Blender
        show(settings, f"Live: unexpected {type(exc).__name__}: {exc}", True)
    return False


@persistent
def on_depsgraph_update(scene, depsgraph) -> None:
    """The handler: re-solve live armatures whose inputs changed."""
    global _in_handler
    if _in_handler:
        return
    _in_handler = True
    try:
        with contextlib.suppress(Exception):  # never let a handler raise into Blender
            follow_scene(scene)
        for obj in live_armatures(scene):
            update_live(obj, scene, depsgraph)
    finally:
        _in_handler = False


@persistent
def on_load_pre(*_args) -> None:
    """A file is loading: its objects may have the names of the last file's, not their inputs."""
    _last_inputs.clear()
    pose_memory.forget()


def start_live(obj, context) -> None:
    """Live just turned on: solve right away (a property change alone triggers no depsgraph
    update)."""
    scene = getattr(context, "scene", None)
    if not obj.ik_engine.live or scene is None:
        return
    global _in_handler
    if _in_handler:
        return
    _in_handler = True
    try:
        update_live(obj, scene, context.evaluated_depsgraph_get(), force=True)
    finally:
        _in_handler = False


@contextlib.contextmanager
def suspended():
    """Live mode ignores depsgraph updates inside this block (Bake steps through frames)."""
    global _in_handler
    previous = _in_handler
    _in_handler = True
    try:
        yield
    finally:
        _in_handler = previous


def is_handler(function, handler=None) -> bool:
    """True for this module's ``handler`` (default: the depsgraph one), also from an earlier
    load of the add-on (a reload)."""
    handler = on_depsgraph_update if handler is None else handler
    name, module = getattr(function, "__name__", ""), getattr(function, "__module__", "")
    return name == handler.__name__ and module == handler.__module__


def _handlers():
    """(handler list, our handler) pairs: register adds them, unregister removes them."""
    return ((bpy.app.handlers.depsgraph_update_post, on_depsgraph_update), (bpy.app.handlers.load_pre, on_load_pre))


def register() -> None:
    for handlers, handler in _handlers():
        for function in [f for f in handlers if is_handler(f, handler)]:
            handlers.remove(function)
        handlers.append(handler)


def unregister() -> None:
    for handlers, handler in _handlers():
        for function in [f for f in handlers if is_handler(f, handler)]:
            handlers.remove(function)
    _last_inputs.clear()
