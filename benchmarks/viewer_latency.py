"""Viewer latency: from a gizmo update to the new pose handed to viser.

    python -m ik_engine.benchmarks.viewer_latency [--updates 300] [--rate 60] [--out DIR]

A viewer (``ik.view``, a real viser server on a free port of 127.0.0.1) receives a drag: a
target sliding 2 mm per update along a circle, ``rate`` updates per second (a browser sends a
gizmo's updates once per frame; viser's own thread sends the previous update's mesh in between;
``--rate 0``: back to back), each update through ``Viewer.move_target``, the function a gizmo's
callback calls. The time runs from that function's entry to the moment the
new mesh vertices, bones and joints-at-limit markers have been handed to viser (its messages
queued for the browsers; sending them is viser's event loop's work): the warm-started solve,
forward kinematics, skinning of the 13,524-vertex mesh and the scene updates.

* ``arm``: the left-hand target (position and rotation) only, the left arm's 4 joints moving.
* ``full_body``: both hands (position and rotation) and both feet (position), the SMPL-X body's
  22 joints moving.

Measured once the solver's compiled program is in use (the first updates of a new structure
are answered by the interpreter while it compiles in the background; they are not counted).
Prints the median and p95; writes viewer_latency.json and .md to ``--out``
(default ./viewer_latency-benchmark-results). Targets on this 2-core machine: median <= 5 ms
(arm), <= 10 ms (full body).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import ik_engine as ik
from ik_engine.benchmarks.machine import machine_info

STEP = 0.002  # metres moved per update, a quick drag at 60 updates per second (12 cm/s)
RADIUS = 0.08
WARMUP_SECONDS = 120.0


def _drag(viewer, name: str, updates: int, rate: float) -> tuple[np.ndarray, np.ndarray, int]:
    """(latencies (N,) s, solve times (N,) s, converged count) of ``updates`` drag updates of
    target ``name`` on a circle around where it is, once compiled."""
    start = viewer.session.targets[name].position.copy()
    wxyz = viewer.session.targets[name].wxyz.copy()
    angle_step = STEP / RADIUS

    def point(k: int) -> np.ndarray:
        a = k * angle_step
        return start + RADIUS * np.array([np.cos(a) - 1.0, np.sin(a), 0.0])

    k = 0
    deadline = time.monotonic() + WARMUP_SECONDS
    solver = viewer.session.solver()
    while time.monotonic() < deadline:  # until the compiled program answers
        viewer.move_target(name, point(k), wxyz)
        k += 1
        if solver.is_compiled(viewer.session.constraints()[0]) and k > 20:
            break
    latencies, solves, converged = [], [], 0
    tick = time.perf_counter()
    for _ in range(updates):
        if rate > 0:  # the next browser frame
            tick += 1.0 / rate
            time.sleep(max(0.0, tick - time.perf_counter()))
        before = len(viewer.latencies)
        result = viewer.move_target(name, point(k), wxyz)
        k += 1
        latencies.append(viewer.latencies[before])
        solves.append(viewer.session.last.solve_seconds)
        converged += bool(result.converged)
    return np.array(latencies), np.array(solves), converged


def scenario(name: str, updates: int, rate: float) -> dict:
    viewer = ik.view(port=0)
    try:
        if name == "arm":
            viewer.set_target("right_hand", enabled=False)
            viewer.set_moving_joints("left arm")
        else:
            viewer.set_moving_joints("body")
            for foot in ("left_foot", "right_foot"):
                viewer.set_target_option(foot, enabled=True)
        latencies, solves, converged = _drag(viewer, "left_hand", updates, rate)
    finally:
        viewer.stop()
    ms = latencies * 1e3
    return {"updates": updates, "median_ms": float(np.median(ms)), "p95_ms": float(np.percentile(ms, 95)),
            "max_ms": float(ms.max()), "solve_median_ms": float(np.median(solves) * 1e3),
            "solve_p95_ms": float(np.percentile(solves * 1e3, 95)), "converged": converged,
            "vertices": 13524, "rate_per_s": rate}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=300, help="measured updates per scenario")
    parser.add_argument("--rate", type=float, default=60.0, help="updates per second (0: back to back)")
    parser.add_argument("--out", default="./viewer_latency-benchmark-results", help="folder for the results")
    args = parser.parse_args(argv)
    results = {"machine": machine_info(), "target_median_ms": {"arm": 5.0, "full_body": 10.0}}
    lines = ["# Viewer latency: gizmo update to the new pose handed to viser", "",
             "| scenario | updates | median ms | p95 ms | max ms | solve median ms | solve p95 ms | converged |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in ("arm", "full_body"):
        r = results[name] = scenario(name, args.updates, args.rate)
        print(f"{name}: median {r['median_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms (max {r['max_ms']:.1f}); "
              f"solve alone median {r['solve_median_ms']:.2f} ms, p95 {r['solve_p95_ms']:.2f} ms; "
              f"{r['converged']}/{r['updates']} converged", flush=True)
        lines.append(f"| {name} | {r['updates']} | {r['median_ms']:.2f} | {r['p95_ms']:.2f} | {r['max_ms']:.1f} | "
                     f"{r['solve_median_ms']:.2f} | {r['solve_p95_ms']:.2f} | {r['converged']} |")
    m = results["machine"]
    lines += ["", f"{m['cpu']}, {m['cores']} cores; ik-engine {m['versions'].get('ik-engine', '?') if 'versions' in m else ''}",
              f"{args.rate:g} updates per second; `python -m ik_engine.benchmarks.viewer_latency`"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "viewer_latency.json").write_text(json.dumps(results, indent=1))
    (out / "viewer_latency.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'viewer_latency.json'} and viewer_latency.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
