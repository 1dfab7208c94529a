"""Tests of the ``skmtl`` command line (skmtl._cli, python -m skmtl)."""

import subprocess
import sys

import pytest

import skmtl
from skmtl import _cli
from skmtl._cli import main

TASKS = ["books", "dvd", "electronics", "kitchen_housewares"]


def test_demo_quiet_prints_only_the_table(capsys):
    assert main(["demo", "--quiet"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    # Two header lines, one row per task, the average row; nothing else.
    assert len(lines) == 2 + len(TASKS) + 1
    assert "accuracy" in lines[0] and "macro-F1" in lines[0]
    assert lines[1].split() == [
        "task",
        "n_train",
        "n_test",
        "skmtl",
        "logreg",
        "skmtl",
        "logreg",
    ]
    rows = [line.split() for line in lines[2:]]
    assert [row[0] for row in rows] == TASKS + ["average"]
    for row in rows:
        scores = [float(v) for v in row[3:]]
        assert len(scores) == 4 and all(0.5 < s <= 1 for s in scores)
    # The bundled corpus: 1400 (1398) train and 400 test reviews per task.
    assert [int(row[1]) for row in rows] == [1400, 1400, 1398, 1400, 5598]
    assert [int(row[2]) for row in rows] == [400] * 4 + [1600]
    assert "fit time" not in out and err == ""


def test_demo_error_is_one_line_on_stderr(monkeypatch, capsys):
    def missing(**kwargs):
        raise FileNotFoundError(2, "No such file or directory", "demo_corpus.jsonl.gz")

    monkeypatch.setattr(_cli, "load_demo_corpus", missing)
    assert main(["demo"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("skmtl: error: cannot read the bundled demo corpus")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("value", ["-1", "abc", str(2**32)])
def test_demo_rejects_bad_random_state(value, capsys):
    with pytest.raises(SystemExit) as exc_info:
        main(["demo", "--random-state", value])
    assert exc_info.value.code == 2
    assert "--random-state" in capsys.readouterr().err


def test_python_m_skmtl_help():
    result = subprocess.run(
        [sys.executable, "-m", "skmtl", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: skmtl")
    assert "demo" in result.stdout


def test_version(capsys):
    with pytest.raises(SystemExit) as exc_info:
        main(["--version"])
    assert exc_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"skmtl {skmtl.__version__}"


@pytest.mark.parametrize("argv", [["frobnicate"], []])
def test_unknown_or_missing_command_exits_non_zero(argv, capsys):
    with pytest.raises(SystemExit) as exc_info:
        main(argv)
    assert exc_info.value.code != 0
    assert "usage: skmtl" in capsys.readouterr().err


def test_unknown_command_in_subprocess():
    result = subprocess.run(
        [sys.executable, "-m", "skmtl", "frobnicate"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "invalid choice: 'frobnicate'" in result.stderr
