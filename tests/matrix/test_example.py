import pytest
"""The rank-one example runs, writes its figure where it is told, and recovers sigma."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_rank_one_example_writes_to_its_argument_and_covers_sigma(tmp_path):
    cwd, out = tmp_path / "cwd", tmp_path / "figures" / "rank_one.png"
    cwd.mkdir()
    out.parent.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "matrix_rank_one.py"), str(out)],
                            cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert out.stat().st_size > 0 and list(cwd.iterdir()) == []
    lo, hi = map(float, re.search(r"90% interval \[([\d.]+), ([\d.]+)\], true 0.1", result.stdout).groups())
    assert lo <= 0.1 <= hi
