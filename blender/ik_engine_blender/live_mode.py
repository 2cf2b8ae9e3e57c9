"""Live mode: re-solve an armature whenever its targets move.

A ``depsgraph_update_post`` handler (added at register, removed at unregister) visits the
scene's armatures whose Live option is on. For each it takes the signature of the solve's inputs
(the evaluated world matrices of the armature and of its targets, and its constraint settings);
when that differs from the signature it last solved, it solves, warm-started from the current
pose, and writes the pose bones. Its own writes cause one more depsgraph update, which finds the
same signature and stops: no endless loop. A flag also refuses re-entry while the handler runs.

Never blocking: a constraint structure's first solve compiles a program (a second or more). In
the interface that compile runs in a background thread (pure engine work: no Blender data is
touched there) and a timer re-solves once it is ready; later solves of the structure take
milliseconds inside the handler. Without an interface (``bpy.app.background``: scripts, tests)
the compile runs in place.
"""

from __future__ import annotations

import contextlib
import threading

import bpy
from bpy.app.handlers import persistent

from .errors import AddonError
from .solving import apply_solution, is_compiled, read_problem, solve_problem, solver_for

_in_handler = False
# How many live solves have run in this session (the panel's and the tests' evidence that an
# update without new inputs solves nothing).
solve_count = 0
# (scene name, armature name) -> signature of the inputs last solved (or failed on).
_last_inputs: dict[tuple[str, str], tuple] = {}
# structure key -> compiling thread
_compiling: dict[tuple, threading.Thread] = {}
TIMER_INTERVAL = 0.1


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


def compile_in_background() -> bool:
    """Whether a first compile goes to a thread: with an interface, yes; without one (scripts,
    tests), no, it runs in place."""
    return not bpy.app.background


def live_armatures(scene):
    return [obj for obj in scene.objects if obj.type == "ARMATURE" and obj.ik_engine.live]


def update_live(armature_object, scene, depsgraph, force: bool = False) -> bool:
    """Solve one live armature if its inputs changed; True when the pose was written."""
    global solve_count
    settings = armature_object.ik_engine
    if armature_object.mode == "EDIT":
        return False
    key = (scene.name, armature_object.name)
    try:
        signature = inputs_signature(armature_object, depsgraph)
    except ReferenceError:  # an object removed while we look at it
        return False
    if not force and _last_inputs.get(key) == signature:
        return False
    _last_inputs[key] = signature
    try:
        problem = read_problem(armature_object, scene, depsgraph)
        if not is_compiled(problem.key) and compile_in_background():
            start_compile(problem)
            _last_inputs.pop(key, None)  # solve again once compiled
            set_message(settings, "Live: compiling the solver for these constraints...", False)
            return False
        solve_count += 1
        solution = solve_problem(problem)
    except AddonError as exc:
        set_message(settings, f"Live: {exc}", True)
        return False
    except Exception as exc:  # never let a handler raise into Blender
        set_message(settings, f"Live: unexpected {type(exc).__name__}: {exc}", True)
        return False
    apply_solution(armature_object, solution)
    set_message(settings, f"Live: {solution.summary()}", not solution.result.converged)
    return True


@persistent
def on_depsgraph_update(scene, depsgraph) -> None:
    """The handler: re-solve live armatures whose inputs changed."""
    global _in_handler
    if _in_handler:
        return
    _in_handler = True
    try:
        for obj in live_armatures(scene):
            update_live(obj, scene, depsgraph)
    finally:
        _in_handler = False
# How many live solves have run in this session (the panel's and the tests' evidence that an
# update without new inputs solves nothing).
solve_count = 0


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
# How many live solves have run in this session (the panel's and the tests' evidence that an
# update without new inputs solves nothing).
solve_count = 0


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


def start_compile(problem) -> None:
    """Compile (and once solve) a structure in a background thread; a timer picks it up."""
    if problem.key in _compiling:
        return
    solver = solver_for(problem.model, problem.move_root)
    constraints, init = problem.constraints.constraints, problem.init

    def work():
        try:
            solver.solve(constraints, init=init)
        except Exception:  # the main-thread solve reports it
            pass

    thread = threading.Thread(target=work, name="ik-engine compile", daemon=True)
    _compiling[problem.key] = thread
    thread.start()
    if not bpy.app.timers.is_registered(check_compiles):
        bpy.app.timers.register(check_compiles, first_interval=TIMER_INTERVAL)


def check_compiles():
    """Timer: when a compile finished, solve the live armatures again (main thread)."""
    from . import solving

    finished = [key for key, thread in _compiling.items() if not thread.is_alive()]
    for key in finished:
        del _compiling[key]
        solving._COMPILED.add(key)
    if finished:
        context = bpy.context
        scene = getattr(context, "scene", None)
        if scene is not None:
            depsgraph = context.evaluated_depsgraph_get()
            for obj in live_armatures(scene):
                update_live(obj, scene, depsgraph, force=True)
    return TIMER_INTERVAL if _compiling else None


def is_handler(function) -> bool:
    """True for this module's handler, also from an earlier load of the add-on (a reload)."""
    return getattr(function, "__name__", "") == on_depsgraph_update.__name__ and getattr(
        function, "__module__", ""
    ) == on_depsgraph_update.__module__


def register() -> None:
    handlers = bpy.app.handlers.depsgraph_update_post
    for function in [f for f in handlers if is_handler(f)]:
        handlers.remove(function)
    handlers.append(on_depsgraph_update)


def unregister() -> None:
    handlers = bpy.app.handlers.depsgraph_update_post
    for function in [f for f in handlers if is_handler(f)]:
        handlers.remove(function)
    if bpy.app.timers.is_registered(check_compiles):
        bpy.app.timers.unregister(check_compiles)
    _last_inputs.clear()
    _compiling.clear()
