"""Smoke tests: every benchmark script runs end to end with --quick.

The scripts read the real corpora (``SKMTL_DATA``, else ``../shared/data``
beside the repository); they are not bundled, so these tests are skipped, with
the expected location in the reason, only when that folder does not exist.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
DATA_DIR = Path(os.environ.get("SKMTL_DATA", BENCHMARKS.parents[1] / "shared" / "data"))
TABLE = re.compile(r"^\|.+\|\n\|(?: *:?-{3,}:? *\|)+\n\|.+\|$", re.MULTILINE)
SCRIPTS = {
    "bench_defaults.py": "bench_defaults_quick.md",
    "bench_epoch.py": "bench_epoch_quick.md",
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_benchmark_quick(script, tmp_path):
    if not DATA_DIR.is_dir():
        pytest.skip(
            f"benchmark corpora not found: expected the folder {DATA_DIR} (set "
            "SKMTL_DATA, or put the shared data folder beside the repository as "
            "../shared/data)"
        )
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        f"{script} --quick exited {result.returncode}\n"
        f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    )
    report = tmp_path / SCRIPTS[script]
    assert report.is_file(), f"{script} wrote no {report.name}: {result.stdout[-2000:]}"
    text = report.read_text()
    # A Markdown table: a header row, its | --- | rule and at least one row.
    assert TABLE.search(text), text
    assert "--quick" in text and "os.cpu_count()" in text
    assert "PASS" in text or "MISS" in text
    # The tables are printed to stdout too.
    assert "| task |" in result.stdout or "| dtype |" in result.stdout
