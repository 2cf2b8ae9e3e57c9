"""Backend selection and the compile-cache setting."""

from __future__ import annotations

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
