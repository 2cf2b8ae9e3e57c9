"""The add-on's Live mode beside Blender's own Standard IK constraint, in real Blender (bpy 4.2).

    python -m ik_engine.benchmarks.blender_live_vs_ik [--updates 200] [--out DIR]

Two armatures of the same kind in one scene: one posed by Blender's IK constraints, one by the
add-on in Live mode, each with its own target empties at the same places. Per update, in turn
(interleaved, so both see the same machine load): the targets of one armature move to the next
place and the view layer updates until the armature's new pose is evaluated (for Live: the
update that runs its handler, which solves and writes the pose bones, and the update that
evaluates that pose, as the next redraw would). Timed: that wall time. Checked: each reach's
distance, as Blender evaluates it. Scenes:

* arm: a 4-bone arm from edit bones with rolls of 25/-40/70/135 degrees, four rotation modes,
  the object turned and scaled 1.6, a Reach on the last bone's tail (Blender: IK, chain 4);
* smplx: the add-on's SMPL-X armature with its 13,524-vertex skinned mesh, Reach on both wrists
  and ankles (Blender: IK on each, chains of 4 bones to the collar and 3 to the hip).

Targets are reachable: the first armature's bones are turned at random (up to 35 degrees
each) and the reached points recorded first. The first updates are not timed: Live's new
constraint structure is solved interpreted at once and compiled in the background meanwhile;
the timed ones start once it has compiled (steady state). Writes blender_live_vs_ik.json/.md to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROLLS = (25, -40, 70, 135)
MODES = ("QUATERNION", "XYZ", "AXIS_ANGLE", "ZXY")
ARM = [("upper", (0, 0, 1.0), (0.3, 0, 1.0)), ("fore", (0.3, 0, 1.0), (0.55, 0.05, 1.0)),
       ("hand", (0.55, 0.05, 1.0), (0.7, 0.05, 0.95)), ("finger", (0.7, 0.05, 0.95), (0.8, 0.1, 0.95))]
WARMUP = 10
SMPLX_REACH = {"left_wrist": 4, "right_wrist": 4, "left_ankle": 3, "right_ankle": 3}


def arm_armature(bpy, name: str):
    armature = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, armature)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    parent = None
    for i, (bone, head, tail) in enumerate(ARM):
        eb = armature.edit_bones.new(bone)
        eb.head, eb.tail, eb.roll = head, tail, np.radians(ROLLS[i])
        eb.parent = parent
        parent = eb
    bpy.ops.object.mode_set(mode="OBJECT")
    obj.rotation_euler = (0.3, -0.2, 0.7)
    obj.scale = (1.6, 1.6, 1.6)
    for i, (bone, _, _) in enumerate(ARM):
        obj.pose.bones[bone].rotation_mode = MODES[i]
    return obj


def smplx_armature(bpy, name: str):
    assert bpy.ops.ik_engine.add_smplx_armature(with_mesh=True, with_targets=False) == {"FINISHED"}
    obj = bpy.context.view_layer.objects.active
    obj.name = name
    return obj


def effector(obj, bone: str, tail: bool, bpy) -> np.ndarray:
    ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    p = ev.pose.bones[bone].tail if tail else ev.pose.bones[bone].head
    return (np.array(ev.matrix_world) @ np.append(np.array(p), 1.0))[:3]


def reachable_targets(bpy, obj, bones: dict, tail: bool, count: int, rng) -> list[dict]:
    """Reached points of random poses (each moving bone turned up to 35 degrees at random)."""
    from mathutils import Matrix

    moving = [b.name for b in obj.pose.bones]
    out = []
    for _ in range(count):
        for name in moving:
            angle = rng.uniform(0, np.radians(35))
            axis = rng.normal(size=3)
            from scipy.spatial.transform import Rotation

            T = np.eye(4)
            T[:3, :3] = Rotation.from_rotvec(axis / np.linalg.norm(axis) * angle).as_matrix()
            if name in ("pelvis",) or name.startswith(("spine", "neck", "head", "jaw", "left_eye", "right_eye")):
                continue
            obj.pose.bones[name].matrix_basis = Matrix(T.tolist())
        bpy.context.view_layer.update()
        out.append({b: effector(obj, b, tail, bpy) for b in bones})
    for name in moving:
        obj.pose.bones[name].matrix_basis = Matrix(np.eye(4).tolist())
    bpy.context.view_layer.update()
    return out


def run(bpy, scene_kind: str, updates: int, seed: int) -> dict:
    import addon_utils

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("ik_engine_blender", default_set=True)
    make = arm_armature if scene_kind == "arm" else smplx_armature
    bones = {"finger": 4} if scene_kind == "arm" else SMPLX_REACH
    tail = scene_kind == "arm"
    blender_rig, live_rig = make(bpy, "BlenderIK"), make(bpy, "Live")
    rng = np.random.default_rng(seed)
    targets = reachable_targets(bpy, blender_rig, bones, tail, updates + WARMUP, rng)
    empties = {}
    for bone, chain in bones.items():
        empty = bpy.data.objects.new(f"IK target {bone}", None)
        bpy.context.scene.collection.objects.link(empty)
        c = blender_rig.pose.bones[bone].constraints.new("IK")
        c.target, c.chain_count, c.use_tail = empty, chain, tail
        empties[bone] = empty
    bpy.context.view_layer.objects.active = live_rig
    bpy.ops.object.mode_set(mode="POSE")
    for bone in bones:
        live_rig.data.bones.active = live_rig.data.bones[bone]
        assert bpy.ops.ik_engine.constraint_add(kind="REACH", bone=bone) == {"FINISHED"}
    for item in live_rig.ik_engine.constraints:
        item.point = "TAIL" if tail else "HEAD"
    assert bpy.ops.ik_engine.live_toggle() == {"FINISHED"}
    live_items = {item.bone: item for item in live_rig.ik_engine.constraints}
    times = {"blender": [], "live": []}
    errors = {"blender": [], "live": []}
    for i, target in enumerate(targets):
        if i == WARMUP:  # steady state: Live's structure compiled (Live does so in the background)
            solving = sys.modules["ik_engine_blender.solving"]
            problem = solving.read_problem(live_rig, bpy.context.scene, bpy.context.evaluated_depsgraph_get())
            problem.solver().solver.compile(problem.constraints.constraints)
        for method in ("blender", "live") if i % 2 == 0 else ("live", "blender"):
            start = time.perf_counter()
            for bone, p in target.items():
                (empties[bone] if method == "blender" else live_items[bone].target).location = p.tolist()
            bpy.context.view_layer.update()
            if method == "live":
                bpy.context.view_layer.update()  # the handler's pose write, evaluated
            seconds = time.perf_counter() - start
            rig = blender_rig if method == "blender" else live_rig
            if i >= WARMUP:  # the first updates are interpreted while the program compiles
                times[method].append(seconds * 1e3)
                errors[method].append(max(np.linalg.norm(effector(rig, b, tail, bpy) - p) for b, p in target.items()) * 1e3)
    out = {}
    for method in times:
        t, e = np.array(times[method]), np.array(errors[method])
        out[method] = {"median_ms": float(np.median(t)), "p95_ms": float(np.percentile(t, 95)),
                       "reach_within_1mm": float(np.mean(e <= 1.0)), "reach_error_median_mm": float(np.median(e))}
    out["ratio_live_to_blender"] = out["live"]["median_ms"] / out["blender"]["median_ms"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenes", default="arm,smplx")
    parser.add_argument("--out", default="blender-live-vs-ik-benchmark-results")
    args = parser.parse_args(argv)
    import bpy

    from ik_engine.benchmarks.machine import machine_info

    # The add-on from this repository's blender/ folder (as benchmarks/blender_benchmark.py).
    addon_folder = str(Path(__file__).resolve().parent.parent / "blender")
    if addon_folder not in sys.path:
        sys.path.insert(0, addon_folder)

    results = {"machine": machine_info(), "updates": args.updates}
    lines = ["| scene | Blender IK median / p95 (ms) | Live median / p95 (ms) | Live / Blender | within 1 mm (Blender, Live) |",
             "| --- | --- | --- | --- | --- |"]
    for scene_kind in args.scenes.split(","):
        r = run(bpy, scene_kind, args.updates, args.seed)
        results[scene_kind] = r
        b, live = r["blender"], r["live"]
        lines.append(f"| {scene_kind} | {b['median_ms']:.3f} / {b['p95_ms']:.3f} | {live['median_ms']:.3f} / {live['p95_ms']:.3f} "
                     f"| {r['ratio_live_to_blender']:.1f}x | {b['reach_within_1mm'] * 100:.0f} %, {live['reach_within_1mm'] * 100:.0f} % |")
    table = "\n".join(lines)
    print(table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "blender_live_vs_ik.json").write_text(json.dumps(results, indent=1))
    (out / "blender_live_vs_ik.md").write_text(
        "# Live mode beside Blender's Standard IK\n\n`python -m ik_engine.benchmarks.blender_live_vs_ik`\n\n" + table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
