"""Smoke tests: every benchmark script runs end to end with --quick.

The scripts read the real corpora (``SKMTL_DATA``, else ``shared/data`` beside
the repository's folder; see ``benchmarks/README.md``); they are not bundled,
so these tests are skipped, with the expected location in the reason, only when
that folder does not exist. Peers whose package the test extras do not install
(fastText) are left out by the scripts, which say so in their reports.
"""

import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
DATA_DIR = Path(os.environ.get("SKMTL_DATA", BENCHMARKS.parents[1] / "shared" / "data"))
TABLE = re.compile(r"^\|.+\|\n\|(?: *:?-{3,}:? *\|)+\n\|.+\|$", re.MULTILINE)
# script -> (report it writes, a table header it prints, plot it writes or None,
# whether the report ends with PASS/MISS verdicts).
SCRIPTS = {
    "bench_defaults.py": ("bench_defaults_quick.md", "| task |", None, True),
    "bench_epoch.py": ("bench_epoch_quick.md", "| dtype |", None, True),
    "bench_panel.py": ("bench_panel_quick.md", "| system |", None, True),
    "bench_multilabel.py": ("bench_multilabel_quick.md", "| system |", None, True),
    "bench_peers.py": (
        "bench_peers_quick.md",
        "| system |",
        "bench_peers_accuracy_time_quick.png",
        True,
    ),
    "bench_threads_memory.py": (
        "bench_threads_memory_quick.md",
        "| corpus |",
        None,
        True,
    ),
    "bench_scaling.py": (
        "bench_scaling_quick.md",
        "| documents |",
        "bench_scaling_quick.png",
        False,
    ),
}
# bench_peers.py --quick takes ~1 min on a quiet 2-core machine and 5 min on a
# busy one (load 9): the timeout only guards against a hang.
TIMEOUT = 900


@pytest.mark.slow
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
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, (
        f"{script} --quick exited {result.returncode}\n"
        f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    )
    name, header, plot, verdicts = SCRIPTS[script]
    report = tmp_path / name
    assert report.is_file(), f"{script} wrote no {report.name}: {result.stdout[-2000:]}"
    text = report.read_text()
    # A Markdown table: a header row, its | --- | rule and at least one row.
    assert TABLE.search(text), text
    assert "--quick" in text and "os.cpu_count()" in text
    # The command that reproduces the run is relative to the repository root,
    # and no path of this machine is printed.
    assert f"`python benchmarks/{script} --quick`" in text
    assert str(tmp_path) not in text and str(BENCHMARKS) not in text
    assert "The question:" in text
    if verdicts:
        assert "PASS" in text or "MISS" in text
    # The tables are printed to stdout too.
    assert header in result.stdout and header in text
    if plot:
        png = tmp_path / plot
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({plot})" in text


@pytest.mark.slow
def test_peers_without_a_peer_package_say_why(tmp_path):
    """bench_peers.py runs with the test extras alone: fastText, when absent,
    is left out with the reason in the report, and present, it is compared."""
    data = DATA_DIR / "trec"
    if not data.is_dir():
        pytest.skip(f"benchmark corpora not found: expected the folder {data}")
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_peers.py"), "--quick", "--corpora",
         "trec", "--systems", "skmtl,fasttext", "--no-kernel", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    text = (tmp_path / "bench_peers_quick.md").read_text()
    if importlib.util.find_spec("fasttext") is None:
        assert "fastText per task: skipped: the `fasttext` module" in text
        assert "fastText per task: skipped" in result.stdout
        assert "| fastText per task |" not in text
    else:
        assert "skipped" not in text
        assert "| fastText per task |" in text and "than one fastText model" in text


def _bench_module(name, monkeypatch):
    """A benchmark script as a module, its BLAS/OpenMP pinning undone after."""
    # The scripts pin those variables when imported: monkeypatch restores them.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, os.environ.get(var, "1"))
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCHMARKS))


def _bench_threads_memory(monkeypatch):
    return _bench_module("bench_threads_memory", monkeypatch)


def test_time_verdicts_judge_each_size_by_its_fastest_fit(monkeypatch):
    """bench_threads_memory's linear-time verdict: a slow spell that raises one
    size's median does not fail a line the fastest fits follow, the medians'
    deviation is still reported, and fastest fits off the line fail."""
    time_verdicts = _bench_threads_memory(monkeypatch).time_verdicts
    sizes = [125_000, 250_000, 500_000, 1_000_000]
    fastest = [0.5 + 8e-6 * n for n in sizes]
    medians = list(fastest)
    medians[1] *= 1.3  # one size's fits fell in a slow spell
    measured = [{"n_jobs": 1, "n_documents": n, "fastest_seconds": f, "fit_seconds": m}
                for n, f, m in zip(sizes, fastest, medians)]
    (line,) = time_verdicts(measured)
    assert "8.00 µs a document plus 0.50 s" in line
    assert "largest deviation 0.0 %" in line and ": PASS." in line
    median_deviation = float(re.search(r"Through the median times: .*largest "
                                       r"deviation ([\d.]+) %", line).group(1))
    assert median_deviation > 10
    measured[1]["fastest_seconds"] *= 1.3
    (line,) = time_verdicts(measured)
    assert ": MISS." in line


def test_thread_rounds_grouped_by_the_cores_round_trip(monkeypatch, tmp_path):
    """bench_threads_memory's core-latency probe gives a positive round trip
    where it can be built, None without a compiler, and the rounds' speed-ups
    are reported by near and far cores."""
    bench = _bench_threads_memory(monkeypatch)
    core_latency_probe, latency_line = bench.core_latency_probe, bench.latency_line
    compiler = os.environ.get("CC", "cc")
    monkeypatch.setenv("CC", "no-such-compiler")
    assert core_latency_probe(tmp_path)() is None
    if sys.platform.startswith("linux") and (os.cpu_count() or 1) >= 2:
        monkeypatch.setenv("CC", compiler)
        round_trip = core_latency_probe(tmp_path)()
        assert round_trip is not None and 0 < round_trip < 1e6
    line = latency_line("FDU-MTL", [(60.0, 1.7), (450.0, 1.3), (80.0, 1.8)])
    assert "2 round(s) with the cores near" in line and "60–80 ns" in line
    assert "speed-up 1.75 (1.70–1.80)" in line
    assert "1 round(s) with the cores far" in line and "speed-up 1.30" in line
    assert "not measured" in latency_line("FDU-MTL", [(None, 1.5)])


def test_halved_macro_f1_separates_ranking_from_thresholds(monkeypatch):
    """bench_multilabel's ranking table: scores that put every positive
    above every negative (positives tied, so that one half's cut holds on the
    other) score 100, reversed scores no more than about the F1 of predicting
    every row, and rescaling or shifting a label's scores changes nothing."""
    bench_multilabel = _bench_module("bench_multilabel", monkeypatch)
    rng = np.random.default_rng(0)
    truth = (rng.random((400, 3)) < [0.05, 0.2, 0.5]).astype(np.int8)
    ranked = truth + rng.random(truth.shape) * 0.5 * (1 - truth)
    chosen, best = bench_multilabel.halved_macro_f1(truth, ranked, n_halvings=5)
    assert chosen == pytest.approx(100) and best == pytest.approx(100)
    shifted = ranked * [1.0, 10.0, 1.0] + [0.0, -3.0, 7.0]
    assert bench_multilabel.halved_macro_f1(truth, shifted, n_halvings=5) == (
        pytest.approx(chosen), pytest.approx(best))
    chosen, best = bench_multilabel.halved_macro_f1(truth, -ranked, n_halvings=5)
    every_row = 100 * np.mean(2 * truth.mean(0) / (1 + truth.mean(0)))
    assert chosen <= best <= every_row + 5
