"""Backend selection and the compile-cache setting."""

from __future__ import annotations

import sys

import pytest

import ik_engine as ik
from ik_engine.backends.backend import check_backend
from ik_engine.backends.compile_cache import compile_cache_dir


def test_known_and_unknown_backends():
    assert check_backend("jax") == "jax"
    with pytest.raises(ik.SolverError, match="unknown backend 'numpy'"):
        check_backend("numpy")


@pytest.mark.parametrize("value", ["0", "off", "false", ""])
def test_compile_cache_can_be_turned_off(monkeypatch, value):
    monkeypatch.setenv("IK_ENGINE_COMPILE_CACHE", value)
    assert compile_cache_dir() is None


def test_compile_cache_defaults_to_the_user_cache_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("IK_ENGINE_COMPILE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert compile_cache_dir() == str(tmp_path / "ik-engine" / "jax")
    monkeypatch.setenv("IK_ENGINE_COMPILE_CACHE", str(tmp_path / "elsewhere"))
    assert compile_cache_dir() == str(tmp_path / "elsewhere")


def test_import_sets_no_global_jax_state():
    import subprocess
    import sys

    code = "import sys, ik_engine; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # importing ik_engine does not even import JAX


THREADS_REPORT = """
import json, os, sys
if sys.argv[1] == "jax-first":
    import jax
    jax.devices()
import ik_engine as ik
skeleton = ik.load_skeleton("smplx")
solver = ik.IKSolver(skeleton, joints=("left_collar", "left_shoulder", "left_elbow", "left_wrist"), compilation="blocking")
rest = skeleton.world_positions(skeleton.rest_pose())[skeleton.index("left_wrist")]
result = solver.solve([ik.Position("left_wrist", rest + [-0.15, -0.1, 0.1])])
import jax
threads = []
for t in os.listdir("/proc/self/task"):
    try:
        status = open(f"/proc/self/task/{t}/status").read()
        name = open(f"/proc/self/task/{t}/comm").read().strip()
    except OSError:
        continue
    allowed = [line.split(":")[1].strip() for line in status.splitlines() if line.startswith("Cpus_allowed_list")][0]
    threads.append((name, allowed))
main = [line.split(":")[1].strip() for line in open("/proc/self/status").read().splitlines() if line.startswith("Cpus_allowed_list")][0]
print(json.dumps({"async": jax.config.values["jax_cpu_enable_async_dispatch"], "threads": threads, "process_cpus": main,
                  "cpus": len(os.sched_getaffinity(0)), "compiled": solver.compilations, "met": bool(result.converged)}))
"""


def _threads_report(mode: str = "ik-first", **environment) -> dict:
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("IK_ENGINE_JAX_CPU", "JAX_CPU_ENABLE_ASYNC_DISPATCH")}
    env.update(environment)
    out = subprocess.run([sys.executable, "-c", THREADS_REPORT, mode], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _eigen_threads(report: dict) -> int:
    """Threads of XLA's intra-op pool (XLA names them ``tf_XLAEigen``)."""
    return sum(name == "tf_XLAEigen" for name, _ in report["threads"])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread affinities are set on Linux only")
def test_jax_cpu_runtime_started_for_small_programs():
    ours = _threads_report()
    assert ours["compiled"] == 1 and ours["met"]
    assert ours["async"] is False  # programs run in the caller's thread
    assert _eigen_threads(ours) == 1  # one intra-op thread
    # No thread is left pinned to the one CPU the runtime was created from.
    assert {allowed for _, allowed in ours["threads"]} == {ours["process_cpus"]}

    jax_default = _threads_report(IK_ENGINE_JAX_CPU="default")
    assert jax_default["async"] is True and jax_default["met"]
    assert _eigen_threads(jax_default) == jax_default["cpus"]  # one per CPU: XLA's own sizing
    if ours["cpus"] > 1:
        assert _eigen_threads(jax_default) > _eigen_threads(ours)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread affinities are set on Linux only")
def test_jax_cpu_runtime_started_by_the_user_is_left_alone():
    started_first = _threads_report("jax-first")
    assert _eigen_threads(started_first) == started_first["cpus"]
    own_setting = _threads_report(JAX_CPU_ENABLE_ASYNC_DISPATCH="true")
    assert own_setting["async"] is True and _eigen_threads(own_setting) == 1


def test_jax_cpu_setting_is_checked(monkeypatch):
    from ik_engine.backends import jax_cpu_runtime

    monkeypatch.setenv("IK_ENGINE_JAX_CPU", "fast")
    with pytest.raises(ik.SolverError, match="IK_ENGINE_JAX_CPU='fast' is not understood"):
        jax_cpu_runtime.wanted()
    monkeypatch.setenv("IK_ENGINE_JAX_CPU", "default")
    assert jax_cpu_runtime.wanted() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread affinities are set on Linux only")
def test_jax_cpu_runtime_start_survives_a_jax_without_cpu_backend(monkeypatch):
    """A JAX limited to other platforms has no CPU client to start: ik-engine's start does
    nothing then (and leaves this thread's CPUs as they were), instead of failing the compile."""
    import os

    import jax

    from ik_engine.backends import jax_cpu_runtime

    def no_cpu(platform=None):
        raise RuntimeError("Unknown backend: 'cpu' requested, but no platforms that are instances of cpu are present.")

    cpus = os.sched_getaffinity(0)
    monkeypatch.setattr(jax, "devices", no_cpu)
    monkeypatch.setattr(jax_cpu_runtime, "_started", False)
    monkeypatch.setenv("JAX_CPU_ENABLE_ASYNC_DISPATCH", "1")  # this test process's JAX setting stays as it is
    jax_cpu_runtime.start()
    assert os.sched_getaffinity(0) == cpus
