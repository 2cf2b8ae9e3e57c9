"""The benchmark runner behind ``ik-engine bench``: every method on every scenario.

    ik-engine bench [--scenario NAME ... | all] [--methods NAME ...] [--n N] [--seed S]
                    [--skeleton smplx | MODEL.npz | MODEL.pkl | SKELETON.bvh]
                    [--bvh CLIP.bvh] [--quick] [--out DIR]

It follows the project's benchmark protocol (README, "Benchmarks"): targets reachable by
construction, the same targets, skeleton, limits, rest-pose start and success rule for every
method, success measured with float64 forward kinematics (position <= 1 mm and orientation
<= 1 degree; also the shares within 5 mm / 5 degrees and within 1 cm), wall time of the
public call after a warm-up, the first call (compilation) measured apart: in fresh processes
with an empty and then a warm compile cache for our solver, in-process for the baselines.

Scenarios (``SCENARIOS``):

- single solves, every method that can express their constraints: arm_reach, arm_pose,
  strict_limits, full_body, multi_constraint;
- our solver's methods only: animation_loop (warm-started frames), mocap_tracking (a BVH
  clip, frame by frame), batch_scaling (1 to 4096 problems in one ``solve_batch``);
- real time in use, our default solver (benchmarks/realtime.py): structure_changes (an
  editing session in a fresh process with an empty compile cache: first answer, then 40
  edits of the constraint structure each followed by a solve) and frame_loop (arm and full
  body following smooth targets with 2 ms of numpy work between solves, back to back beside);
  out_of_reach (benchmarks/default_settings.py: 200 arm problems out of reach, the default
  solver's weighted cost beside IPOPT's best of 31 starts, and a hand target moving out of
  reach for 300 frames, warm-started: the largest jump of the hand).

Methods (``METHODS``): lm and gradient (``IKSolver`` on JAX), lm-tensorflow and
gradient-tensorflow (when the TensorFlow backend is installed), ccd, fabrik and ipopt (the
baselines; ipopt needs casadi).

Writes ``results.json`` (every figure, the raw per-solve times and errors, each method's
settings, the machine), ``results.md`` (the tables) and PNG plots to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .bench_methods import (  # noqa: F401  (names the tests and ik-engine read from here)
    GRADIENT_MAX_ITERATIONS, LIMIT_VIOLATION_THRESHOLD, METHODS, ORIENTATION_TOLERANCE, POSITION_TOLERANCE,
    SUCCESS_THRESHOLDS, Method, Runner, first_call_in_fresh_processes, first_call_probe, measure_batches, measure_solves,
)
from .bench_workloads import (  # noqa: F401
    BATCH_SIZES, BenchArgumentError, CMU_SCALE, Workload, animation_loop, arm_pose, arm_reach, batch_scaling, build_workload, full_body,
    load_bench_skeleton, mocap_tracking, multi_constraint, strict_limits,
)

SINGLE_SOLVE_SCENARIOS = ("arm_reach", "arm_pose", "strict_limits", "full_body", "multi_constraint")
OUR_SOLVER_SCENARIOS = ("animation_loop", "mocap_tracking", "batch_scaling")
# Real time in use (benchmarks/realtime.py): our default solver as a user meets it, not
# method against method: an editing session from a fresh process, and frame loops.
REALTIME_SCENARIOS = ("structure_changes", "frame_loop", "out_of_reach")
SCENARIOS = SINGLE_SOLVE_SCENARIOS + OUR_SOLVER_SCENARIOS + REALTIME_SCENARIOS
REALTIME_SIZES = {"edits": 40, "frames": 300, "work_ms": 2.0, "far": 200, "ipopt_starts": 30}
QUICK_REALTIME_SIZES = {"edits": 10, "frames": 60, "work_ms": 2.0, "far": 10, "ipopt_starts": 5}

QUICK_BATCH_SIZES = (1, 16, 256)  # each size compiles its own program: few in a quick run
DEFAULT_N = 500  # problems per single-solve scenario
DEFAULT_FRAMES = 1000  # frames of the animation loop and of the mocap clip (at most its length)
QUICK_N = 10  # --quick: problems and frames
QUICK_MOCAP_FRAMES = 120
# Ships with the package (benchmarks/data/README.md has its source and terms).
DEFAULT_CLIP = Path(__file__).resolve().parent / "data" / "131_01.bvh"




# ---------------------------------------------------------------------------- progress
class Progress:
    """A progress bar over all solves: tqdm when installed, else a line updated in place."""

    def __init__(self, total: int) -> None:
        try:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="solve", dynamic_ncols=True)
        except ImportError:
            self._bar = None
        self.total, self.done, self.label, self._shown = total, 0, "", 0.0

    def describe(self, label: str) -> None:
        self.label = label
        if self._bar is not None:
            self._bar.set_description(label)
        else:
            self._print(new_task=True)

    def update(self, count: int) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
        elif time.monotonic() - self._shown > 0.5 or self.done >= self.total:
            self._print()

    def _print(self, new_task: bool = False) -> None:
        # In a terminal one line updated in place; in a log, one line per task.
        interactive = sys.stderr.isatty()
        if not (interactive or new_task):
            return
        self._shown = time.monotonic()
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        line = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} solves  {self.label:<40.40s}"
        print("\r" + line if interactive else line, end="" if interactive else "\n", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif sys.stderr.isatty():
            print(file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- the run
@dataclass
class Plan:
    """What a run does, worked out (and checked) before anything is measured."""

    scenarios: list[str]
    methods: list[Method]
    unavailable: dict[str, str]
    skeleton: Any
    workloads: dict[str, Workload]
    n: int
    seed: int
    quick: bool
    clip: Path | None
    bvh_scale: float
    skeleton_source: str
    notes: list[str]
    realtime: list[str] = field(default_factory=list)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", "--scenarios", dest="scenario", nargs="+", default=["all"],
                        choices=list(SCENARIOS) + ["all"], metavar="NAME",
                        help=f"scenarios to run: {', '.join(SCENARIOS)}, or all (default)")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), metavar="NAME",
                        help=f"methods: {', '.join(METHODS)} (default: all that are installed)")
    parser.add_argument("--n", type=int, help=f"problems per single-solve scenario (default {DEFAULT_N}) and frames of the "
                                              f"animation loop and mocap clip (default {DEFAULT_FRAMES}); {QUICK_N} with --quick")
    parser.add_argument("--seed", type=int, default=0, help="seed of the targets (default 0)")
    parser.add_argument("--skeleton", default="smplx", help="smplx (default), an SMPL-X model file (.npz/.pkl) or a .bvh")
    parser.add_argument("--bvh", help="a BVH clip for mocap_tracking (default: tests/data/cmu/131_01.bvh when present)")
    parser.add_argument("--bvh-scale", type=float, default=CMU_SCALE,
                        help=f"BVH units to metres, for --bvh and a .bvh --skeleton (default CMU's {CMU_SCALE})")
    parser.add_argument("--quick", action="store_true",
                        help=f"a small run: n={QUICK_N}, batches of {', '.join(map(str, QUICK_BATCH_SIZES))}, the first "
                             f"call in fresh processes measured once, mocap only with --bvh ({QUICK_MOCAP_FRAMES} frames), "
                             "the TensorFlow methods only when named in --methods")
    parser.add_argument("--out", default="bench-results", help="folder for results.json, results.md and the plots")


def make_plan(args) -> Plan:
    """Check the arguments and set every workload up; raises BenchArgumentError."""
    if args.n is not None and args.n <= 0:
        raise BenchArgumentError(f"--n must be a positive integer, got {args.n}")
    if args.seed < 0:
        raise BenchArgumentError(f"--seed must be >= 0, got {args.seed}")
    if not (np.isfinite(args.bvh_scale) and args.bvh_scale > 0):
        raise BenchArgumentError(f"--bvh-scale must be a positive number, got {args.bvh_scale}")
    n = args.n or (QUICK_N if args.quick else DEFAULT_N)
    frames = args.n or (QUICK_N if args.quick else DEFAULT_FRAMES)
    notes = []
    explicit = "all" not in args.scenario
    scenarios = [s for s in SCENARIOS if s in args.scenario or not explicit]
    realtime = [s for s in scenarios if s in REALTIME_SCENARIOS]
    scenarios = [s for s in scenarios if s not in REALTIME_SCENARIOS]

    clip = None
    if args.bvh:
        clip = Path(args.bvh)
        if not clip.is_file():
            raise BenchArgumentError(f"--bvh {args.bvh!r}: no such file")
    elif "mocap_tracking" in scenarios:
        if explicit:
            if not DEFAULT_CLIP.is_file():
                raise BenchArgumentError(f"mocap_tracking needs a BVH clip: pass --bvh CLIP.bvh "
                                         f"(the default {DEFAULT_CLIP} is not in this installation)")
            clip = DEFAULT_CLIP
        elif args.quick or not DEFAULT_CLIP.is_file():
            scenarios.remove("mocap_tracking")
            notes.append("mocap_tracking skipped: " + ("--quick runs it only with --bvh CLIP.bvh" if args.quick else
                         f"no clip (pass --bvh CLIP.bvh; the default {DEFAULT_CLIP} is not in this installation)"))
        else:
            clip = DEFAULT_CLIP

    unavailable = {name: why for name, m in METHODS.items() if (why := m.unavailable())}
    if args.methods:
        wanted = list(dict.fromkeys(args.methods))
        missing = [m for m in wanted if m in unavailable]
        if missing:
            raise BenchArgumentError("; ".join(f"method {m} is {unavailable[m]}" for m in missing))
    else:
        wanted = [m for m in METHODS if m not in unavailable]
        notes += [f"method {m} skipped: {why}" for m, why in unavailable.items()]
        if args.quick:
            # TensorFlow has no persistent compile cache: each scenario compiles for seconds.
            slow = [m for m in wanted if METHODS[m].backend == "tensorflow"]
            wanted = [m for m in wanted if m not in slow]
            notes += [f"method {m} left out of --quick (TensorFlow compiles each scenario for seconds); "
                      f"name it with --methods to run it" for m in slow]
    methods = [METHODS[m] for m in wanted]

    from ik_engine.errors import IKError

    try:
        skeleton = load_bench_skeleton(args.skeleton, args.bvh_scale)
    except (IKError, OSError, ValueError, ImportError) as exc:
        raise BenchArgumentError(f"cannot load the skeleton {args.skeleton!r}: {exc}") from None
    batch_sizes = QUICK_BATCH_SIZES if args.quick else BATCH_SIZES
    counts = {"animation_loop": frames, "mocap_tracking": QUICK_MOCAP_FRAMES if args.quick and not args.n else frames}
    workloads = {}
    for name in scenarios:
        try:
            workloads[name] = build_workload(name, skeleton, counts.get(name, n), args.seed, clip, args.bvh_scale, batch_sizes)
        except (IKError, OSError, ValueError) as exc:
            raise BenchArgumentError(f"scenario {name}: {exc}") from None
    if realtime and args.skeleton != "smplx":
        notes += [f"{name} skipped: it runs on the shipped SMPL-X skeleton only" for name in realtime]
        realtime = []
    return Plan(scenarios, methods, unavailable, skeleton, workloads, n, args.seed, args.quick, clip, args.bvh_scale,
                args.skeleton, notes, realtime)


def run_cell(plan: Plan, workload: Workload, method: Method, progress, measure_first_call: bool) -> dict:
    """Measure one (scenario, method) pair; a constraint kind the method cannot express is
    "not supported", any other exception an "error" (reported, the run goes on)."""
    from ik_engine.errors import SolverError

    cell = {"scenario": workload.name, "method": method.name, "label": method.label}
    if workload.our_solver_only and not method.ours:
        return {**cell, "status": "not applicable", "message": "run by our solver's methods only"}
    progress.describe(f"{workload.name} / {method.name}")
    units, done_before = len(workload.batch_sizes) or workload.size, progress.done
    try:
        runner = Runner(method, workload)
        cell["settings"] = runner.settings()
        measure = measure_batches if workload.batch_sizes else measure_solves
        cell.update(measure(workload, runner, progress))
        cell["status"] = "ok"
    except SolverError as exc:
        progress.update(max(0, done_before + units - progress.done))
        if "not supported by" in str(exc):
            return {**cell, "status": "not supported", "message": str(exc)}
        return {**cell, "status": "error", "message": f"SolverError: {exc}"}
    except Exception as exc:  # a broken method must not take the whole run down
        progress.update(max(0, done_before + units - progress.done))
        return {**cell, "status": "error", "message": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=6)}
    cell.update(first_call_cold_s=None, first_call_warm_cache_s=None, cold_start_total_s=None)
    if method.ours and measure_first_call:
        spec = {"scenario": workload.name, "method": method.name, "skeleton": plan.skeleton_source,
                "bvh_scale": plan.bvh_scale, "seed": plan.seed + 12345, "clip": None if plan.clip is None else str(plan.clip)}
        progress.describe(f"{workload.name} / {method.name}: first call")
        try:
            cell.update(first_call_in_fresh_processes(spec, warm_cache=method.backend == "jax"))
        except (RuntimeError, subprocess.SubprocessError, ValueError) as exc:
            cell["first_call_message"] = str(exc)
    elif not method.ours:
        cell["first_call_cold_s"] = cell["first_call_in_process_s"]  # nothing persists between processes
    return cell


def run_realtime(plan: Plan) -> dict:
    """The real-time scenarios of the plan (benchmarks/realtime.py), each as a dict of figures
    (or {"status": "error", "message": ...})."""
    from ik_engine.benchmarks import realtime

    sizes = QUICK_REALTIME_SIZES if plan.quick else REALTIME_SIZES
    out = {}
    for name in plan.realtime:
        print(f"{name}: running", file=sys.stderr, flush=True)
        try:
            if name == "structure_changes":
                figures = realtime.structure_changes(sizes["edits"], plan.seed)
            elif name == "frame_loop":
                figures = realtime.frame_loop(sizes["frames"], sizes["work_ms"], plan.seed)
            else:
                from ik_engine.benchmarks.default_settings import out_of_reach

                figures = out_of_reach(None, sizes["far"], plan.seed, sizes["ipopt_starts"], sizes["frames"])
            out[name] = {"status": "ok", **figures}
        except Exception as exc:  # reported, the run goes on
            out[name] = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
    return out


def git_head() -> str | None:
    """The full commit hash of the checkout, None outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def library_versions() -> dict:
    """Versions of the libraries the methods use (beyond machine_info's)."""
    from importlib import metadata

    versions = {}
    for name in ("scipy", "casadi", "tensorflow", "matplotlib", "tqdm"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def execute(plan: Plan, command: str) -> dict:
    """Run every cell of the plan; returns the results document (what results.json holds)."""
    from ik_engine.backends.compile_cache import compile_cache_dir
    from ik_engine.benchmarks.machine import machine_info

    started = time.perf_counter()
    machine = machine_info()
    machine["git_head"] = git_head()
    machine["versions"].update(library_versions())
    pairs = [(plan.workloads[s], m) for s in plan.scenarios for m in plan.methods]
    total = sum(len(w.batch_sizes) or w.size for w, m in pairs if m.ours or not w.our_solver_only)
    progress = Progress(total)
    cells, first_call_timed = [], False
    try:
        for workload, method in pairs:
            # --quick: the first call in fresh processes once (our first method, first scenario).
            started_cell = time.perf_counter()
            cell = run_cell(plan, workload, method, progress, not (plan.quick and first_call_timed))
            cell["cell_seconds"] = time.perf_counter() - started_cell
            first_call_timed |= cell.get("first_call_cold_s") is not None and method.ours
            cells.append(cell)
    finally:
        progress.close()
    realtime_results = run_realtime(plan)
    return {
        "command": command,
        "settings": {"n": plan.n, "seed": plan.seed, "quick": plan.quick, "skeleton": plan.skeleton_source,
                     "skeleton_name": plan.skeleton.name, "bvh": None if plan.clip is None else str(plan.clip),
                     "bvh_scale": plan.bvh_scale, "position_tolerance_m": POSITION_TOLERANCE,
                     "orientation_tolerance_rad": ORIENTATION_TOLERANCE,
                     "success_rule": "float64 FK: position <= 1 mm and orientation <= 1 deg (5 mm with 5 deg; 1 cm: "
                                     "position only); every solve starts at the rest pose (loops: previous frame; our solver's single "
                                     "solves are cold starts, called without init)",
                     "limit_violation_threshold_rad": LIMIT_VIOLATION_THRESHOLD,
                     "compile_cache_in_process": compile_cache_dir()},
        "machine": machine,
        "scenarios": {name: {"description": w.description, "skeleton": w.skeleton.name, "moving": list(w.moving),
                             "move_root": w.move_root, "size": w.size, "rotations": w.rotations,
                             "warm_start": w.warm_start, "batch_sizes": list(w.batch_sizes),
                             "our_solver_only": w.our_solver_only}
                      for name, w in plan.workloads.items()},
        "methods": {name: {"label": m.label, "installed": name not in plan.unavailable,
                           "status": plan.unavailable.get(name, "run" if m in plan.methods else "not requested")}
                    for name, m in METHODS.items()},
        "notes": plan.notes,
        "cells": cells,
        "realtime": realtime_results,
        "seconds": time.perf_counter() - started,
    }


def write_results(results: dict, out: Path) -> list[Path]:
    """results.json, results.md and the plots under ``out``; returns the files written."""
    from ik_engine.benchmarks.bench_plots import write_plots
    from ik_engine.benchmarks.bench_report import markdown

    plots = write_plots(results, out)
    results["plots"] = [p.name for p in plots]
    # Compact: the raw per-solve figures make an indented file several times larger.
    (out / "results.json").write_text(json.dumps(_finite(results), separators=(",", ":"), allow_nan=False))
    (out / "results.md").write_text(markdown(results))
    return [out / "results.json", out / "results.md", *plots]


def _finite(value):
    """NaN and infinities become null (results.json is strict JSON)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def run(args, argv: list[str] | None = None) -> int:
    """``ik-engine bench``: 0 when every cell ran, 1 when a method failed, 2 for bad arguments."""
    from ik_engine.benchmarks.bench_report import terminal_table
    from ik_engine.errors import IKError

    words = sys.argv[2:] if argv is None else list(argv[1:] if argv[:1] == ["bench"] else argv)
    command = "ik-engine bench " + shlex.join(words)
    out = Path(args.out)
    try:
        plan = make_plan(args)
        out.mkdir(parents=True, exist_ok=True)
    except (BenchArgumentError, IKError) as exc:
        print(f"ik-engine bench: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"ik-engine bench: cannot write to --out {args.out!r}: {exc}", file=sys.stderr)
        return 2
    for note in plan.notes:
        print(f"note: {note}", file=sys.stderr)
    results = execute(plan, command)
    files = write_results(results, out)
    print(terminal_table(results))
    failed = [c for c in results["cells"] if c["status"] == "error"]
    failed += [{"scenario": name, "method": "lm", **r} for name, r in results["realtime"].items() if r["status"] == "error"]
    for c in failed:
        print(f"error: {c['scenario']} / {c['method']}: {c['message']}", file=sys.stderr)
    print(f"{len(results['cells'])} cells in {results['seconds']:.1f} s; wrote {', '.join(str(f) for f in files)}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ik-engine bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args, ["bench"] + list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
