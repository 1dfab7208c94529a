"""Every gallery example runs on its own (so the docs cannot rot)."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="examples plot with matplotlib (test extra)")

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("plot_*.py"))


@pytest.mark.docs
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert not list(tmp_path.iterdir()), "the example left files behind"


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_has_a_title_and_a_plot(script):
    """sphinx-gallery needs a reST title first in the docstring; each example
    shows at least one figure."""
    source = script.read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(source), clean=False)
    assert docstring, "no module docstring"
    overline, title, underline = docstring.strip("\n").splitlines()[:3]
    assert set(overline) == set(underline) == {"="}, "no ==== title"
    assert len(overline) >= len(title.strip()), "title longer than its ==== lines"
    assert "plt.show()" in source


def test_examples_exist():
    assert EXAMPLES, "no examples/plot_*.py found"
