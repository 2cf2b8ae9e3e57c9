"""The Blender add-on's solve operator, timed and checked inside real Blender (bpy 4.2, headless).

    python benchmarks/blender_benchmark.py            # 100 timed calls per scenario
    python benchmarks/blender_benchmark.py --calls 20 --no-write

Scene: the add-on's SMPL-X armature with Reach targets (empties) on both wrists and ankles, a
Look At on the head, Move Root on. Before each call the targets move; then one
``bpy.ops.ik_engine.solve()`` call is timed. From Python, a ``bpy.ops`` call updates the view
layer before the operator runs (Blender evaluates the moved empties) and after it (Blender
evaluates the new pose, and with the body mesh skins it); in between the operator reads the
armature, its constraints and its current pose (the warm start), solves, and writes the pose
bones. So the time covers the whole round trip from moved targets to an evaluated posed
character. The figures are then measured on Blender's evaluation: the distance of each evaluated
bone head from its empty, the angle of the head's look axis from its target. Two target motions:

* drag: the targets follow a smooth motion between random in-limit poses (40 steps between
  poses), as when an animator drags an empty or scrubs animated targets;
* jump: every call a new random in-limit pose (half the joint range), far from the last one.

Targets are reachable by construction (forward kinematics of in-limit poses of the engine's
SMPL-X skeleton, the one the armature is built from). Warm-up calls (the compile) are excluded.
Writes benchmarks/results/blender_benchmark.md and .json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parent.parent
RESULTS = REPOSITORY / "benchmarks" / "results"
REACH_BONES = ("left_wrist", "right_wrist", "left_ankle", "right_ankle")
LOOK_DISTANCE = 0.6  # metres in front of the head
SPREAD = 0.5  # fraction of each joint's range the random poses use
DRAG_STEPS = 40
WARMUP = 5
BUDGET_MS = 50.0


def setup_scene(bpy, addon_utils, with_mesh: bool):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("ik_engine_blender", default_set=True)
    assert bpy.ops.ik_engine.add_smplx_armature(with_mesh=with_mesh, with_targets=True) == {"FINISHED"}
    obj = bpy.context.view_layer.objects.active
    obj.ik_engine.move_root = True
    return obj


def target_sets(ik, obj, rng, count: int, motion: str) -> list[dict]:
    """World target locations for each call: {bone: (3,)} with 'head' the look-at point."""
    skeleton = ik.load_skeleton("smplx")
    body = skeleton.joint_names[:22]
    M = np.array(obj.matrix_world)

    def random_pose():
        # Joint coordinates (what the limits box; Euler angles at the elbows) at SPREAD of
        # an in-limit draw: in limits, and blends of two such poses are too.
        pose = skeleton.random_pose(rng, body)
        return skeleton.to_coordinates(pose.rotations) * SPREAD, rng.uniform(-0.1, 0.1, 3)

    def targets(coordinates, translation):
        R, p = skeleton.world_transforms(ik.Pose(skeleton.from_coordinates(coordinates), translation))
        to_world = lambda x: (M @ np.append(x, 1.0))[:3]  # noqa: E731
        out = {b: to_world(p[skeleton.index(b)]) for b in REACH_BONES}
        h = skeleton.index("head")
        out["head"] = to_world(p[h] + R[h] @ np.array([0.0, 0.0, LOOK_DISTANCE]))
        return out

    sets = []
    if motion == "jump":
        for _ in range(count):
            sets.append(targets(*random_pose()))
        return sets
    a = (np.zeros((skeleton.num_joints, 3)), np.zeros(3))
    while len(sets) < count:
        b = random_pose()
        for step in range(1, DRAG_STEPS + 1):
            s = step / DRAG_STEPS
            s = s * s * (3 - 2 * s)  # ease in and out
            sets.append(targets((1 - s) * a[0] + s * b[0], (1 - s) * a[1] + s * b[1]))
        a = b
    return sets[:count]


def measure_errors(bpy, obj, targets) -> tuple[float, float]:
    """(largest reach distance, metres; look-at angle, degrees) from Blender's evaluation."""
    ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    M = np.array(ev.matrix_world)
    worst = 0.0
    for bone in REACH_BONES:
        head = (M @ np.append(np.array(ev.pose.bones[bone].head), 1.0))[:3]
        worst = max(worst, float(np.linalg.norm(head - targets[bone])))
    T = M @ np.array(ev.pose.bones["head"].matrix)
    axis = T[:3, 2] / np.linalg.norm(T[:3, 2])  # the SMPL-X armature's bones face forward along +Z
    to_target = targets["head"] - T[:3, 3]
    angle = float(np.degrees(np.arccos(np.clip(axis @ to_target / np.linalg.norm(to_target), -1.0, 1.0))))
    return worst, angle


def run_scenario(bpy, ik, obj, motion: str, calls: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    sets = target_sets(ik, obj, rng, calls + WARMUP, motion)
    items = {item.bone: item for item in obj.ik_engine.constraints}
    operator_ms, engine_ms, errors_mm, angles_deg, met = [], [], [], [], []
    for i, targets in enumerate(sets):
        for bone, item in items.items():
            item.target.location = targets[bone].tolist()
        start = time.perf_counter()
        result = bpy.ops.ik_engine.solve()
        operator_seconds = time.perf_counter() - start
        if result != {"FINISHED"}:
            raise RuntimeError(f"call {i}: {obj.ik_engine.message}")
        if i < WARMUP:
            if i == WARMUP - 1:  # steady state: the compiled program (Live mode compiles it in the background)
                solver, constraints = _engine_solver(bpy, obj)
                solver.compile(constraints)
            continue
        error, angle = measure_errors(bpy, obj, targets)
        operator_ms.append(operator_seconds * 1e3)
        engine_ms.append(_engine_ms(obj.ik_engine.message))
        errors_mm.append(error * 1e3)
        angles_deg.append(angle)
        met.append(error <= 1e-3 and angle <= 1.0)
    o, g = np.array(operator_ms), np.array(engine_ms)
    programs = _engine_programs(bpy, obj)
    return {
        "compiled": programs,
        "calls": len(o),
        "operator_median_ms": float(np.median(o)),
        "operator_p95_ms": float(np.percentile(o, 95)),
        "operator_max_ms": float(o.max()),
        "within_50ms": float(np.mean(o <= BUDGET_MS)),
        "solve_median_ms": float(np.median(g)),
        "reach_error_median_mm": float(np.median(errors_mm)),
        "reach_error_max_mm": float(np.max(errors_mm)),
        "look_at_error_max_deg": float(np.max(angles_deg)),
        "within_1mm_and_1deg": float(np.mean(met)),
    }


def _engine_solver(bpy, obj):
    """(the engine's IKSolver the add-on uses for the armature, its current constraints)."""
    solving = sys.modules["ik_engine_blender.solving"]
    problem = solving.read_problem(obj, bpy.context.scene, bpy.context.evaluated_depsgraph_get())
    return problem.solver().solver, problem.constraints.constraints


def _engine_programs(bpy, obj) -> str:
    """'compiled' when the armature's solver runs a compiled program for its current
    constraints, else 'interpreted'."""
    solver, constraints = _engine_solver(bpy, obj)
    return "compiled" if solver.is_compiled(constraints) else "interpreted"


def run_structure_changes(bpy, obj, changes: int) -> dict:
    """Solve once, then ``changes`` times: switch one Reach's rotation on or off (a new
    constraint structure) and time the Solve operator, as a user adding a Rotation target."""
    items = list(obj.ik_engine.constraints)
    assert bpy.ops.ik_engine.solve() == {"FINISHED"}
    times, met = [], []
    for i in range(changes):
        item = items[i % len(items)]
        if item.kind != "REACH":
            continue
        item.use_rotation = not item.use_rotation
        start = time.perf_counter()
        result = bpy.ops.ik_engine.solve()
        times.append((time.perf_counter() - start) * 1e3)
        if result != {"FINISHED"}:
            raise RuntimeError(f"change {i}: {obj.ik_engine.message}")
        met.append(not obj.ik_engine.message_is_error)
    t = np.array(times)
    return {"changes": len(t), "operator_median_ms": float(np.median(t)), "operator_max_ms": float(t.max()),
            "all_met": bool(all(met))}


def _engine_ms(message: str) -> float:
    """The 'solved in X ms' figure of the panel message: reading the scene + the engine's solve."""
    try:
        return float(message.split(" in ")[1].split(" ms")[0])
    except (IndexError, ValueError):
        return float("nan")


def write_results(results: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "blender_benchmark.json").write_text(json.dumps(results, indent=2) + "\n")
    machine = results["machine"]
    versions = machine["versions"]
    lines = [
        "# Blender add-on: solve operator",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores; Python {machine['python']}; Blender (bpy) "
        f"{results['blender']}; ik-engine {versions['ik-engine']}, jax {versions['jax']}, numpy {versions['numpy']}; "
        f"commit {machine['git_commit']}",
        "",
        "SMPL-X armature made by the add-on; Reach empties on both wrists and ankles, Look At on the head, "
        "Move Root on. One `bpy.ops.ik_engine.solve()` call per set of moved targets, timed from the call to "
        "its return: Blender's evaluation of the moved empties, reading bones, constraints and the current pose "
        "(warm start), the solve, writing the pose bones, Blender's evaluation of the new pose (and skinning, "
        "with the mesh). Errors are measured on Blender's own evaluation of the result (evaluated pose bones "
        "and armature world matrix). "
        f"{WARMUP} warm-up calls excluded, then the structure compiled (`IKSolver.compile`): steady state. Produced by `python benchmarks/blender_benchmark.py`.",
        "",
        "| figure | " + " | ".join(s["scene"] for s in results["scenarios"]) + " |",
        "| --- | " + " | ".join("---" for _ in results["scenarios"]) + " |",
    ]
    keys = [k for k in results["scenarios"][0] if k not in ("scene",)]
    for key in keys:
        cells = []
        for s in results["scenarios"]:
            value = s[key]
            cells.append(f"{value:.4g}" if isinstance(value, float) else str(value))
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "drag: targets follow a smooth motion between random in-limit poses; jump: a new random in-limit pose "
        "every call. operator_*: the whole operator call; solve_median_ms: the part the add-on reports in its "
        "message (reading the scene + the engine's solve). within_50ms: share of calls at or under the 50 ms budget. "
        "within_1mm_and_1deg: share of calls whose four bones end within 1 mm of their empties and whose head "
        "looks within 1 degree of its target, as Blender evaluates them.",
        "",
    ]
    change = results.get("structure_changes")
    if change:
        lines += [
            f"Constraint structure changes (with the body mesh): after a first Solve, {change['changes']} times one "
            "Reach's Rotation switched on or off (a new constraint set) and Solve pressed: operator median "
            f"{change['operator_median_ms']:.1f} ms, max {change['operator_max_ms']:.1f} ms; every solve met: "
            f"{change['all_met']}. The engine answers a new structure with its interpreter (no compile).",
            "",
        ]
    (RESULTS / "blender_benchmark.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the Blender add-on's solve operator in headless Blender.")
    parser.add_argument("--calls", type=int, default=100, help="timed calls per scenario (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    try:
        import bpy
        import addon_utils  # ships with bpy; importable once bpy is
    except ImportError:
        print("needs Blender as a Python module: pip install 'ik-engine[blender]' (bpy 4.2, Python 3.11)")
        return 1
    sys.path.insert(0, str(REPOSITORY / "blender"))
    import ik_engine as ik
    from ik_engine.benchmarks.machine import machine_info

    scenarios = []
    for with_mesh in (False, True):
        obj = setup_scene(bpy, addon_utils, with_mesh)
        for motion in ("drag", "jump"):
            if with_mesh and motion == "jump":
                continue  # the mesh changes Blender's evaluation, not the operator: one row suffices
            row = {"scene": f"{motion}{' + body mesh' if with_mesh else ''}"}
            row.update(run_scenario(bpy, ik, obj, motion, args.calls, args.seed))
            scenarios.append(row)
            print(json.dumps(row))
    obj = setup_scene(bpy, addon_utils, True)
    change = run_structure_changes(bpy, obj, 8)
    print(json.dumps({"structure_changes": change}))
    results = {
        "benchmark": "blender_solve_operator",
        "structure_changes": change,
        "budget_ms": BUDGET_MS,
        "blender": bpy.app.version_string,
        "machine": machine_info(),
        "scenarios": scenarios,
    }
    if not args.no_write:
        write_results(results)
        print(f"wrote {RESULTS / 'blender_benchmark.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
