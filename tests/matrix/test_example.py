"""The rank-one example runs, writes its figure where it is told, and recovers sigma."""
import re

import pytest

from reference import run_example


@pytest.mark.slow
def test_rank_one_example_writes_to_its_argument_and_covers_sigma(tmp_path):
    result = run_example("matrix_rank_one.py", tmp_path, timeout=600)
    lo, hi = map(float, re.search(r"90% interval \[([\d.]+), ([\d.]+)\], true 0.1", result.stdout).groups())
    assert lo <= 0.1 <= hi
