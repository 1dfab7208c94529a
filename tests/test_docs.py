"""The documentation builds without a warning (so it cannot rot).

The gallery's examples are not executed here (``plot_gallery=0``): each one
already runs on its own in ``test_examples.py``.
"""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="the docs need the docs extra (sphinx)")
pytest.importorskip("numpydoc", reason="the docs need the docs extra (numpydoc)")
pytest.importorskip("sphinx_gallery", reason="the docs need sphinx-gallery")

pytestmark = pytest.mark.docs

DOC = Path(__file__).parents[1] / "doc"


def test_docs_build_without_warnings(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-D", "plot_gallery=0", "-d", str(tmp_path / "doctrees"),
         str(DOC), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    assert (tmp_path / "html" / "index.html").exists()
