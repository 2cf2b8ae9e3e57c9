"""The ik-engine command."""

from __future__ import annotations

import re

import subprocess
import sys

import pytest
from pathlib import Path

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


def test_first_hour_stumbles_get_a_working_command_or_a_clear_message(tmp_path, capsys):
    """From a new user's first hour (issue 21): each now works or says what to do."""
    # An unknown option is reported by the command it was given to, with that command's usage.
    out = subprocess.run([sys.executable, "-m", "ik_engine.cli", "demo", "--bogus"], capture_output=True, text=True)
    assert out.returncode == 2 and "usage: ik-engine demo" in out.stderr and "--bogus" in out.stderr
    # A BVH passed as a pose: a message that names --clip, not numpy's allow_pickle text.
    bvh = Path(__file__).parent / "data" / "cmu" / "131_01.bvh"
    assert main(["render", "--pose", str(bvh), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "--clip" in err and "pickle" not in err
    # render's options have help and show their defaults; bench's help cites no missing file.
    help_text = subprocess.run([sys.executable, "-m", "ik_engine.cli", "render", "--help"], capture_output=True, text=True).stdout
    for option in ("--out", "--views", "--title"):
        assert re.search(re.escape(option) + r"[^\n]*\n?\s+\S", help_text), option
    assert "default: ik-engine-render.png" in help_text
    bench_help = subprocess.run([sys.executable, "-m", "ik_engine.cli", "bench", "--help"], capture_output=True, text=True).stdout
    assert "benchmark-protocol.md" not in bench_help
    # A clip tracked on its own skeleton renders as a strip (on its own bones).
    tracked = tmp_path / "own.bvh"
    assert main(["track", str(bvh), "--frames", "20", "--own-skeleton", "--out", str(tracked)]) == 0
    strip = tmp_path / "own.png"
    assert main(["render", "--clip", str(tracked), "--frames", "2", "--out", str(strip)]) == 0
    assert strip.read_bytes()[:4] == b"\x89PNG"
