"""The ik-engine command."""

from __future__ import annotations

import re

import subprocess
import sys

import pytest

from ik_engine.cli import main


def test_demo_solves_and_writes_a_png(tmp_path, capsys):
    out = tmp_path / "demo.png"
    assert main(["demo", "--frames", "12", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "all converged: True" in printed
    assert "limit violations: 0" in printed
    assert re.search(r"compilations: [01]\b", printed)  # at most one, in the background


def test_bad_arguments_exit_with_code_2(tmp_path):
    out = subprocess.run([sys.executable, "-m", "ik_engine.cli", "demo", "--frames", "0"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "--frames must be >= 1" in out.stderr
    out = subprocess.run([sys.executable, "-m", "ik_engine.cli", "dance"], capture_output=True, text=True)
    assert out.returncode == 2


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"]])
def test_help(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
