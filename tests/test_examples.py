"""The examples write their figure where they are told, not into the current directory."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.statistical  # about a minute: the example samples in earnest
def test_gaussian_mixture_example_writes_to_its_argument(tmp_path):
    cwd, out = tmp_path / "cwd", tmp_path / "figures" / "mixture.png"
    cwd.mkdir()
    out.parent.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "gaussian_mixture.py"), str(out)],
                            cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert out.stat().st_size > 0
    assert list(cwd.iterdir()) == []
