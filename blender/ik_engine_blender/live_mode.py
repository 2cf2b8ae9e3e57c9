"""Live mode: re-solve an armature whenever its targets move.

A ``depsgraph_update_post`` handler (added at register, removed at unregister) visits the
scene's armatures whose Live option is on. For each it takes the signature of the solve's inputs
(the evaluated world matrices of the armature and of its targets, and its constraint settings);
when that differs from the signature it last solved, it solves, warm-started from the current
pose, and writes the pose bones. Its own writes cause one more depsgraph update, which finds the
same signature and stops: no endless loop. A flag also refuses re-entry while the handler runs.
The signatures are forgotten when a file loads (a ``load_pre`` handler: every update after it is
the new file's), since a new file may hold objects of the same names.

Never blocking: a constraint structure's first solve compiles a program (a second or more). In
the interface that compile runs in a background thread (pure engine work: no Blender data is
touched there) and a timer re-solves once it is ready; later solves of the structure take
milliseconds inside the handler. While the thread holds a solver, solves that need it (live,
Solve, Bake) do not wait: they say so and live mode solves again when the compile is done. A
compile that fails shows its error in the panel. Without an interface (``bpy.app.background``:
scripts, tests) the compile runs in place.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field

import bpy
from bpy.app.handlers import persistent

from .errors import AddonError
from .solving import SolverBusy, apply_solution, read_problem, solve_problem

_in_handler = False
# How many live solves have run in the main thread in this session (the panel's and the tests'
# evidence that an update without new inputs solves nothing).
solve_count = 0
# (scene name, armature name) -> signature of the inputs last solved (or failed on).
_last_inputs: dict[tuple[str, str], tuple] = {}
TIMER_INTERVAL = 0.1


@dataclass
class CompileJob:
    """A compile in a background thread.

    Attributes:
        thread: the thread; it holds its solver's lock until it is done.
        waiting: (scene name, armature name) -> input signature of each live armature that asked
            for this compile (a failure is reported to them, and not retried for those inputs).
        error: the message of the thread's failure, None while running or after success.
    """

    thread: threading.Thread | None = None
    waiting: dict[tuple[str, str], tuple] = field(default_factory=dict)
    error: str | None = None


# (solver, constraint structure) -> its compile in flight
_compiling: dict[tuple, CompileJob] = {}


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
        cached = problem.solver()
        if not cached.is_compiled(problem.structure) and compile_in_background():
            start_compile(cached, problem, key, signature)
            _last_inputs.pop(key, None)  # solve again once compiled
            show(settings, "Live: compiling the solver for these constraints...", False)
            return False
        solution = solve_problem(problem, cached)
        solve_count += 1
        apply_solution(armature_object, solution)
        show(settings, f"Live: {solution.summary()}", not solution.result.converged)
        return True
    except SolverBusy:
        _last_inputs.pop(key, None)  # the timer solves again when the compile is done
        show(settings, "Live: waiting for the solver to finish compiling...", False)
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
        for obj in live_armatures(scene):
            update_live(obj, scene, depsgraph)
    finally:
        _in_handler = False


@persistent
def on_load_pre(*_args) -> None:
    """A file is loading: its objects may have the names of the last file's, not their inputs."""
    _last_inputs.clear()
    for job in _compiling.values():
        job.waiting.clear()


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


def start_compile(cached, problem, requester: tuple[str, str], signature: tuple) -> None:
    """Compile (and once solve) a structure in a background thread; a timer picks it up.

    The solver's lock is taken here, in the main thread (SolverBusy if another compile holds
    it), and released by the thread when it is done.
    """
    job = _compiling.get((cached, problem.structure))
    if job is not None:
        job.waiting[requester] = signature
        return
    cached.reserve(problem.armature_name)
    job = CompileJob(waiting={requester: signature})
    constraints, init = problem.constraints.constraints, problem.init

    def work():
        try:
            cached.solve_reserved(problem.structure, constraints, init)
        except AddonError as exc:
            job.error = str(exc)
        except Exception as exc:  # reported by the timer, in the main thread
            job.error = f"unexpected {type(exc).__name__}: {exc}"

    job.thread = threading.Thread(target=work, name="ik-engine compile", daemon=True)
    _compiling[(cached, problem.structure)] = job
    try:
        job.thread.start()
    except BaseException:
        del _compiling[(cached, problem.structure)]
        cached.release()
        raise
    if not bpy.app.timers.is_registered(check_compiles):
        # Persistent: a file loaded meanwhile must not strand the compile's job.
        bpy.app.timers.register(check_compiles, first_interval=TIMER_INTERVAL, persistent=True)


def check_compiles():
    """Timer: when a compile finished, solve the live armatures waiting for it (main thread);
    a failed compile's error goes to the panels of the armatures that asked for it."""
    finished = [(key, job) for key, job in _compiling.items() if not job.thread.is_alive()]
    for key, job in finished:
        del _compiling[key]
        if job.error is None:
            continue
        for (scene_name, object_name), signature in job.waiting.items():
            _last_inputs[(scene_name, object_name)] = signature  # not again for the same inputs
            obj = bpy.data.objects.get(object_name)
            if obj is not None and obj.type == "ARMATURE":
                show(obj.ik_engine, f"Live: {job.error}", True)
    scene = getattr(bpy.context, "scene", None)
    if finished and scene is not None:
        depsgraph = bpy.context.evaluated_depsgraph_get()
        for obj in live_armatures(scene):
            update_live(obj, scene, depsgraph)  # those whose inputs were not solved yet
    return TIMER_INTERVAL if _compiling else None


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
    if bpy.app.timers.is_registered(check_compiles):
        bpy.app.timers.unregister(check_compiles)
    _last_inputs.clear()
    _compiling.clear()
