"""The main job: `python -m samplers demo` prints a summary and writes a figure."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_demo_writes_summary_and_figure(tmp_path):
    out = tmp_path / "demo.png"
    env = dict(os.environ, PYTHONPATH=ROOT, MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, "-m", "samplers", "demo", "--out", str(out), "--draws", "500",
         "--no-progress"],
        env=env, capture_output=True, text=True, check=True, cwd=tmp_path)
    assert "r_hat" in result.stdout and "x[0]" in result.stdout
    assert "mode occupancy" in result.stdout
    assert f"figure written to {out}" in result.stdout
    assert out.stat().st_size > 10_000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_rejects_unknown_command():
    result = subprocess.run([sys.executable, "-m", "samplers", "fly"], capture_output=True,
                            text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 2 and "invalid choice" in result.stderr
