"""The methods of ``ik-engine bench`` and how one is measured on a workload: the method table, the
runner that calls our solver or a baseline the same way, per-solve and batch measurements, the
first call in fresh processes."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .bench_workloads import Workload, build_workload, load_bench_skeleton

# One success rule for every method (the protocol's): errors measured with float64 FK.
POSITION_TOLERANCE = 1e-4  # metres: what every solver is asked to reach
ORIENTATION_TOLERANCE = 1e-3  # radians
SUCCESS_THRESHOLDS = (("1mm", 1e-3, np.radians(1.0)), ("5mm", 5e-3, np.radians(5.0)), ("1cm", 1e-2, None))
LIMIT_VIOLATION_THRESHOLD = 1e-4  # radians, as in the protocol
GRADIENT_MAX_ITERATIONS = 1000  # the first-order method's budget (at least this, whatever the scenario sets)


# ---------------------------------------------------------------------------- methods
@dataclass(frozen=True)
class Method:
    """A method the benchmark can run.

    Attributes:
        name: its command-line name.
        label: what tables and plots call it.
        solver_method, backend: for our solver (``IKSolver(method=..., backend=...)``).
        module, function, options: for a baseline: ``module.function(skeleton, constraints,
            joints, init, options)`` and its options dataclass ``module.options``.
        requires: a module that must be importable.
    """

    name: str
    label: str
    solver_method: str | None = None
    backend: str | None = None
    module: str | None = None
    function: str | None = None
    options: str | None = None
    requires: str | None = None

    @property
    def ours(self) -> bool:
        return self.solver_method is not None

    def unavailable(self) -> str | None:
        """Why the method cannot run here ("not installed: ..."), or None when it can."""
        if self.requires and importlib.util.find_spec(self.requires) is None:
            return f"not installed (needs the {self.requires} package)"
        if self.ours:
            from ik_engine.errors import SolverError
            from ik_engine.backends.backend import check_backend
            from ik_engine.solver import METHODS as SOLVER_METHODS

            try:
                check_backend(self.backend)
            except SolverError as exc:
                return f"not installed ({exc})"
            if self.solver_method not in SOLVER_METHODS:
                return f"not installed (IKSolver has no method {self.solver_method!r})"
            return None
        try:
            module = importlib.import_module(self.module)
            getattr(module, self.function), getattr(module, self.options)
        except Exception as exc:  # an unfinished or broken baseline: report, never crash
            return f"not installed ({self.module}: {type(exc).__name__}: {exc})"
        return None


METHODS = {m.name: m for m in (
    Method("lm", "ik-engine LM (JAX)", solver_method="lm", backend="jax"),
    Method("gradient", "ik-engine gradient/Adam (JAX)", solver_method="gradient", backend="jax"),
    Method("lm-tensorflow", "ik-engine LM (TensorFlow)", solver_method="lm", backend="tensorflow", requires="tensorflow"),
    Method("gradient-tensorflow", "ik-engine gradient/Adam (TensorFlow)", solver_method="gradient", backend="tensorflow",
           requires="tensorflow"),
    Method("ccd", "CCD", module="ik_engine.baselines.ccd", function="ccd", options="CCDOptions"),
    Method("fabrik", "FABRIK", module="ik_engine.baselines.fabrik", function="fabrik", options="FABRIKOptions"),
    Method("ipopt", "IPOPT (CasADi)", module="ik_engine.baselines.ipopt", function="ipopt", options="IPOPTOptions",
           requires="casadi"),
)}


class Runner:
    """One method set up for one workload: ``solve``, ``solve_batch`` (our solver only), its
    settings and its compile counter."""

    def __init__(self, method: Method, workload: Workload) -> None:
        self.method, self.workload = method, workload
        options = dict(workload.solver_options)
        if method.ours:
            import ik_engine as ik

            if method.solver_method == "gradient":
                # First-order methods need many more iterations: at least GRADIENT_MAX_ITERATIONS,
                # whatever the scenario's budget for LM (restarts do not apply: it never restarts).
                options["max_iterations"] = max(options.get("max_iterations", 0), GRADIENT_MAX_ITERATIONS)
                options.pop("restarts", None)
            # Blocking compilation: the tables measure the compiled solver from its first call
            # (the compile is the "first call" figure); the default's interpreted first answers
            # and background compiles are measured by the real-time scenarios.
            self.solver = ik.IKSolver(
                workload.skeleton, joints=workload.moving, move_root=workload.move_root, method=method.solver_method,
                backend=method.backend, position_tolerance=POSITION_TOLERANCE, orientation_tolerance=ORIENTATION_TOLERANCE,
                compilation="blocking", **options,
            )
        else:
            module = importlib.import_module(method.module)
            self._function = getattr(module, method.function)
            baseline_options = {"move_root": workload.move_root, "position_tolerance": POSITION_TOLERANCE,
                                "orientation_tolerance": ORIENTATION_TOLERANCE}
            if "max_iterations" in options:  # the scenario's budget applies to every method
                baseline_options["max_iterations"] = options["max_iterations"]
            if method.name == "ipopt":
                # IPOPT retries from random in-limit starts as often as our solver may restart
                # (a retry only happens when a solve misses the tolerances).
                import ik_engine as ik

                default_restarts = inspect.signature(ik.IKSolver).parameters["restarts"].default
                baseline_options["restarts"] = options.get("restarts", default_restarts)
            self.options = getattr(module, method.options)(**baseline_options)
            if method.name == "ipopt":
                module.clear_ipopt_cache()  # the first call builds the NLP: measure it cold
                self._builds = module.ipopt_cache_info

    def first_call(self) -> None:
        """The call that compiles: the workload's first problem (the smallest batch for batches)."""
        workload = self.workload
        if workload.batch_sizes:
            self.solve_batch(workload.batch_constraints(workload.batch_sizes[0]))
        else:
            self.solve(workload.constraints(0, workload.init), workload.init)

    def solve(self, constraints, init):
        if self.method.ours:
            # A cold start is a call without init, as a user makes it (the pose is the rest
            # pose; the search starts in the middle of the ranges of the chains to the targets).
            return self.solver.solve(constraints, init=None if self.workload.cold_start else init)
        return self._function(self.workload.skeleton, constraints, joints=self.workload.moving, init=init, options=self.options)

    def solve_batch(self, constraints):
        return self.solver.solve_batch(constraints)

    @property
    def compilations(self) -> int | None:
        """Programs compiled so far (our solver), NLPs built (IPOPT), None where nothing compiles."""
        if self.method.ours:
            return self.solver.compilations
        if self.method.name == "ipopt":
            return self._builds().builds
        return None

    def settings(self) -> dict:
        """The method's settings on this workload, for the comparison tables."""
        if not self.method.ours:
            return {"function": f"{self.method.module}.{self.method.function}", **_plain(dataclasses.asdict(self.options))}
        s = self.solver
        return {"method": s.method, "backend": s.backend, "max_iterations": s.max_iterations,
                "position_tolerance": s.position_tolerance, "orientation_tolerance": s.orientation_tolerance,
                "move_root": s.move_root, "seed": s.seed, **_plain(dataclasses.asdict(s.options))}


def _plain(value):
    """JSON-friendly copy (tuples to lists, numpy scalars to numbers, others to text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


# ---------------------------------------------------------------------------- measurement
def _summary(times: np.ndarray, position: np.ndarray, rotation: np.ndarray, iterations: np.ndarray,
             violations: int, rotations: bool) -> dict:
    """The figures of a set of solves: times (s), errors (m, rad), iterations."""
    out = {"n": int(len(position))}
    for label, metres, radians in SUCCESS_THRESHOLDS:
        ok = position <= metres
        if rotations and radians is not None:
            ok &= rotation <= radians
        out[f"success_{label}"] = float(np.mean(ok))
    series = {"error_mm": position * 1e3, "rotation_error_deg": np.degrees(rotation), "ms": times * 1e3,
              "iterations": iterations}
    for name, values in series.items():
        out[f"median_{name}"] = float(np.median(values))
        out[f"p95_{name}"] = float(np.percentile(values, 95))
    out["mean_ms"] = float(np.mean(times) * 1e3)
    out["limit_violations"] = int(violations)
    # The raw figures of every solve.
    out["times_ms"] = (times * 1e3).round(5).tolist()
    out["position_errors_mm"] = (position * 1e3).round(6).tolist()
    out["rotation_errors_deg"] = np.degrees(rotation).round(6).tolist()
    out["iterations"] = iterations.astype(int).tolist()
    return out


RAW_FIGURES = ("times_ms", "position_errors_mm", "rotation_errors_deg", "iterations")


def _violates(skeleton, pose) -> bool:
    return skeleton.limit_violation(pose) > LIMIT_VIOLATION_THRESHOLD


def measure_solves(workload: Workload, runner: Runner, progress) -> dict:
    """Solve every problem (or frame) of a workload, timing each public call."""
    start = time.perf_counter()
    runner.first_call()  # compiles (our solver) or builds (IPOPT)
    first_call = time.perf_counter() - start
    compilations = runner.compilations
    previous, times, position, rotation, iterations, violations = workload.init, [], [], [], [], 0
    for i in range(workload.size):
        constraints = workload.constraints(i, previous)
        init = previous if workload.warm_start else workload.init
        start = time.perf_counter()
        result = runner.solve(constraints, init)
        times.append(time.perf_counter() - start)
        p, r = workload.errors(i, result.pose)
        position.append(p)
        rotation.append(r)
        iterations.append(result.iterations)
        violations += _violates(workload.skeleton, result.pose)
        if workload.warm_start:
            previous = result.pose
        progress.update(1)
    out = _summary(np.array(times), np.array(position), np.array(rotation), np.array(iterations), violations, workload.rotations)
    out["first_call_in_process_s"] = first_call
    out["recompilations"] = None if compilations is None else runner.compilations - compilations
    return out


def measure_batches(workload: Workload, runner: Runner, progress, min_calls: int = 3, min_seconds: float = 1.0) -> dict:
    """Each batch size: a first call (compiles for this B), then timed calls (at least one,
    up to ``min_calls`` or ``min_seconds``); errors of every problem with float64 FK."""
    from ik_engine.pose import Pose

    rows, first_calls, recompilations = [], [], 0
    for B in workload.batch_sizes:
        constraints = workload.batch_constraints(B)
        start = time.perf_counter()
        runner.solve_batch(constraints)  # compiles the program of this B
        first_calls.append(time.perf_counter() - start)
        compiled = runner.compilations
        calls = []
        while not calls or (len(calls) < min_calls and sum(calls) < min_seconds):
            start = time.perf_counter()
            result = runner.solve_batch(constraints)
            calls.append(time.perf_counter() - start)
        recompilations += runner.compilations - compiled
        rotations, translations = result.pose_arrays()
        poses = [Pose(rotations[b], translations[b]) for b in range(B)]
        errors = np.array([workload.errors(b, pose) for b, pose in enumerate(poses)])
        calls = np.array(calls)
        figures = _summary(calls / B, errors[:, 0], errors[:, 1], result.iterations,
                           sum(_violates(workload.skeleton, pose) for pose in poses), workload.rotations)
        figures.update(batch=B, first_call_s=first_calls[-1], call_seconds=calls.round(6).tolist(),
                       seconds_per_call_median=float(np.median(calls)), solves_per_second=float(B / np.median(calls)))
        rows.append(figures)
        progress.update(1)
    # The cell's figures are those of the largest batch (time per solve = call time / B), with
    # its raw per-problem figures; each batch size keeps its summary figures.
    out = {k: v for k, v in rows[-1].items() if k not in ("batch", "call_seconds", "first_call_s")}
    for row in rows:
        for raw in RAW_FIGURES:
            del row[raw]
    out.update(first_call_in_process_s=first_calls[0], batches=rows, largest_batch=rows[-1]["batch"],
               limit_violations=sum(r["limit_violations"] for r in rows))
    out["recompilations"] = recompilations  # during the timed calls (each B compiles once, first)
    return out


FIRST_CALL_SNIPPET = """
import json, sys, time
t0 = time.perf_counter()
from ik_engine.benchmarks.bench_methods import first_call_probe
print(json.dumps(first_call_probe(json.loads(sys.argv[1]), t0)))
"""


def first_call_probe(spec: dict, process_start: float) -> dict:
    """In a fresh process: set a workload up, then time making the solver and its first call
    (framework import and compilation included)."""
    skeleton = load_bench_skeleton(spec["skeleton"], spec["bvh_scale"])
    clip = None if spec["clip"] is None else Path(spec["clip"])
    workload = build_workload(spec["scenario"], skeleton, 2, spec["seed"], clip, spec["bvh_scale"], (1,))
    # From before the solver is made: JAX is imported at the first solve, TensorFlow when
    # the solver is made; either way the framework's import counts.
    start = time.perf_counter()
    runner = Runner(METHODS[spec["method"]], workload)
    runner.first_call()
    end = time.perf_counter()
    return {"first_call_s": end - start, "process_total_s": end - process_start}


def first_call_in_fresh_processes(spec: dict, warm_cache: bool = True) -> dict:
    """Our solver's first call in fresh processes: with an empty compile cache, then (with
    ``warm_cache``) with the cache the first one filled (IK_ENGINE_COMPILE_CACHE pointing at a
    temporary folder). The cache is JAX's: TensorFlow methods have no warm-cache figure."""
    with tempfile.TemporaryDirectory(prefix="ik-engine-bench-cache-") as cache:
        env = dict(os.environ, IK_ENGINE_COMPILE_CACHE=cache)
        runs = []
        for _ in range(2 if warm_cache else 1):
            out = subprocess.run([sys.executable, "-c", FIRST_CALL_SNIPPET, json.dumps(spec)], capture_output=True,
                                 text=True, env=env, timeout=600)
            if out.returncode != 0:
                raise RuntimeError(f"the first-call process failed: {out.stderr.strip().splitlines()[-1:]}")
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {"first_call_cold_s": runs[0]["first_call_s"], "first_call_warm_cache_s": runs[-1]["first_call_s"] if warm_cache else None,
            "cold_start_total_s": runs[0]["process_total_s"]}


