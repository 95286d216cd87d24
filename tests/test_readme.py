"""Every ```python block of README.md runs as pasted into a script.

Each block is written to a file in a fresh temporary directory and run with
``sys.executable`` in its own process (as a user would run it: the sweeps'
spawned workers re-import the script, so a missing main guard fails here
too), with this checkout on ``PYTHONPATH`` and matplotlib's Agg backend.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Blocks known not to run, by section heading, with the reason.  xfail is strict: once the
#: README is fixed the test reports XPASS as a failure, and the entry must be removed.
KNOWN_BROKEN = {}


def readme_snippets():
    """``(section heading, code)`` for each ```python block, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    snippets, heading = [], "top"
    for match in re.finditer(r"^## ([^\n]+)$|^```python\n(.*?)^```", text, flags=re.M | re.S):
        if match.group(1) is not None:
            heading = match.group(1).strip()
        else:
            snippets.append((heading, match.group(2)))
    return snippets


SNIPPETS = readme_snippets()


def test_readme_has_python_snippets():
    assert len(SNIPPETS) >= 3


@pytest.mark.statistical  # minutes in all: each block samples in earnest
@pytest.mark.parametrize(
    "heading, code",
    [pytest.param(h, c, id=h, marks=[pytest.mark.xfail(reason=KNOWN_BROKEN[h], strict=True)]
                  if h in KNOWN_BROKEN else [])
     for h, c in SNIPPETS])
def test_readme_snippet_runs_as_a_script(heading, code, tmp_path):
    if "import pymc" in code or "pymc as pm" in code:
        # The PyMC block needs the pymc extra (CI installs it and requires it).
        if not os.environ.get("SAMPLERS_REQUIRE_PYMC"):
            pytest.importorskip("pymc")
    script = tmp_path / "snippet.py"
    script.write_text(code, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"README block under '{heading}' failed:\n{result.stderr[-3000:]}"
