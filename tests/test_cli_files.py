"""The command line's files are safe (issue 18): atomic writes, inputs never
overwritten, output columns never colliding, every failure one line."""

import bz2
import errno
import gzip
import json
import lzma
import os
import signal
import subprocess
import sys
import textwrap
import time

import joblib
import pytest

from skmtl._cli import _modelfile, _tables, main
from tests.test_cli import make_reviews, one_error_line, train_argv, write_csv


@pytest.fixture
def trained(tmp_path):
    """A data file and a model (with its metrics) trained on it, in tmp_path."""
    data = write_csv(tmp_path / "reviews.csv", make_reviews())
    model = tmp_path / "model.joblib"
    assert main(train_argv(data, model, "--quiet", "--max-iter", "2")) == 0
    return data, model


def _leftovers(folder):
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


def _half_then(exc):
    """A joblib.dump that writes some bytes to its file, then raises ``exc``."""

    def dump(value, handle):
        handle.write(b"\x80partial model")
        raise exc

    return dump


@pytest.mark.parametrize(
    "exc, status",
    [(OSError(errno.ENOSPC, "No space left on device"), 1),
     (OSError(errno.EFBIG, "File too large"), 1),
     (KeyboardInterrupt(), 130)],
    ids=["disk full", "file-size limit", "Ctrl-C"],
)  # fmt: skip
def test_failed_model_write_keeps_the_previous_files(
    trained, exc, status, monkeypatch, capsys
):
    data, model = trained
    metrics = model.parent / "model.joblib.metrics.json"
    before = model.read_bytes(), metrics.read_bytes()
    monkeypatch.setattr(joblib, "dump", _half_then(exc))
    assert main(train_argv(data, model, "--quiet", "--max-iter", "3")) == status
    assert (model.read_bytes(), metrics.read_bytes()) == before
    assert joblib.load(model)["pipeline"][-1].n_iter_ == 2
    assert _leftovers(model.parent) == []
    if status == 1:
        one_error_line(capsys, "cannot write the model", str(exc.strerror))


def test_failed_prediction_write_keeps_the_previous_file(trained, monkeypatch, capsys):
    data, model = trained
    out = model.parent / "pred.csv"
    out.write_text("previous predictions\n")

    def fail(frame, handle, fmt):
        handle.write("row,sentiment\n0,pos\n")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_tables, "_write_text", fail)
    assert main(["predict", str(model), data, "--out", str(out)]) == 1
    one_error_line(capsys, "No space left on device")
    assert out.read_text() == "previous predictions\n"
    assert _leftovers(model.parent) == []


def test_written_files_follow_the_umask(trained, tmp_path):
    data, model = trained
    out = tmp_path / "pred.csv.gz"
    old = os.umask(0o027)
    try:
        assert main(["predict", str(model), data, "--out", str(out), "--quiet"]) == 0
    finally:
        os.umask(old)
    assert os.stat(out).st_mode & 0o777 == 0o640
    assert model.stat().st_mode & 0o777 == 0o666 & ~old
    with gzip.open(out, "rt") as handle:
        assert handle.readline().startswith("row,sentiment,topic")


_KILLED_WRITER = """
import signal, sys, time, joblib
from skmtl._cli import main

# A child inherits an ignored SIGINT (pytest started in the background by a
# shell without job control); Python then installs no handler of its own.
signal.signal(signal.SIGINT, signal.default_int_handler)

def dump(value, handle):
    handle.write(b"\\x80partial model")
    handle.flush()
    print("writing", flush=True)
    time.sleep(60)

joblib.dump = dump
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["KILL", "INT"])
def test_killed_model_write_keeps_the_previous_model(trained, sig):
    data, model = trained
    before = model.read_bytes()
    argv = train_argv(data, model, "--quiet", "--max-iter", "1")
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_KILLED_WRITER), *argv],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=os.environ | {"OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    try:
        assert child.stdout.readline() == "writing\n"
        assert _leftovers(model.parent)  # the partial file is a temporary one
        child.send_signal(sig)
        child.wait(timeout=60)
    finally:
        child.kill()
    assert model.read_bytes() == before
    if sig == signal.SIGINT:
        assert child.returncode == 130 and _leftovers(model.parent) == []
        assert child.stderr.read() == "skmtl: interrupted\n"


def test_refuses_to_write_over_an_input(trained, tmp_path, capsys):
    data, model = trained
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    data_bytes = open(data, "rb").read()
    cases = [
        (train_argv(data, data), "the model"),
        (train_argv(data, link), "the model"),
        (["predict", str(model), data, "--out", data], "the output"),
        (["predict", str(model), data, "--out", str(link)], "the output"),
        (["predict", str(model), data, "--out", str(model), "--out-format", "csv"],
         "the output"),
    ]  # fmt: skip
    for argv, what in cases:
        assert main(argv) == 1
        one_error_line(capsys, what, "would destroy that input")
    assert open(data, "rb").read() == data_bytes
    assert joblib.load(model)["tasks"] == ["sentiment", "topic"]


def test_refuses_a_metrics_file_that_is_the_data(tmp_path, capsys):
    rows = make_reviews()
    data = tmp_path / "m.metrics.json"
    data.write_text(json.dumps(rows))
    argv = train_argv(data, tmp_path / "m", "--quiet")
    assert main(argv) == 1
    one_error_line(capsys, "the metrics file", "would destroy")
    assert json.loads(data.read_text()) == rows


@pytest.mark.parametrize("task", ["row", "sentiment:proba:pos"])
def test_task_names_cannot_take_output_column_names(task, tmp_path, capsys):
    rows = [{"text": r["text"], task: r["sentiment"]} for r in make_reviews()]
    data = write_csv(tmp_path / "d.csv", rows)
    argv = ["train", data, "--text", "text", "--tasks", task, "--model",
            str(tmp_path / "m.joblib")]  # fmt: skip
    assert main(argv) == 1
    one_error_line(capsys, f"task name {task!r} would collide")


def test_keep_column_cannot_take_an_output_column_name(trained, tmp_path, capsys):
    data, model = trained
    argv = ["predict", str(model), data, "--out", str(tmp_path / "p.csv")]
    assert main(argv + ["--keep", "id,sentiment"]) == 1
    one_error_line(capsys, "several columns named 'sentiment'")
    assert main(argv + ["--keep", "row", "--tasks", "topic", "--proba"]) == 1
    one_error_line(capsys, "several columns named 'row'")


def _damaged_files(tmp_path):
    """(file name, expected message part) of damaged data files."""
    good = (tmp_path / "reviews.csv").read_bytes()
    (tmp_path / "corrupt.csv.gz").write_bytes(gzip.compress(good)[:300] + b"x" * 300)
    (tmp_path / "truncated.csv.gz").write_bytes(gzip.compress(good)[:300])
    (tmp_path / "corrupt.csv.xz").write_bytes(lzma.compress(good)[:200] + b"x" * 99)
    (tmp_path / "corrupt.csv.bz2").write_bytes(bz2.compress(good)[:200] + b"x" * 99)
    (tmp_path / "nested.jsonl").write_text(
        '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    )
    return ["corrupt.csv.gz", "truncated.csv.gz", "corrupt.csv.xz",
            "corrupt.csv.bz2", "nested.jsonl"]  # fmt: skip


def test_damaged_data_files_are_one_line_errors(trained, tmp_path, capsys):
    data, model = trained
    for name in _damaged_files(tmp_path):
        path = str(tmp_path / name)
        assert main(train_argv(path, tmp_path / "m2.joblib")) == 1, name
        one_error_line(capsys, f"cannot read {path!r}")
        assert main(["evaluate", str(model), path]) == 1, name
        one_error_line(capsys, f"cannot read {path!r}")


def test_absurd_n_components_is_a_one_line_error(trained, tmp_path, capsys):
    data, _ = trained
    argv = train_argv(data, tmp_path / "m2.joblib", "--n-components", str(10**12))
    assert main(argv) == 1
    one_error_line(capsys, "cannot train: out of memory", "--n-components")
    assert not (tmp_path / "m2.joblib").exists()


def test_deeply_nested_json_option_is_a_usage_error(trained, tmp_path, capsys):
    data, _ = trained
    nested = "[" * 100_000 + "]" * 100_000
    with pytest.raises(SystemExit) as exc_info:
        main(train_argv(data, tmp_path / "m2.joblib", "--class-weight", nested))
    assert exc_info.value.code == 2
    assert "argument --class-weight: must be" in capsys.readouterr().err


def test_json_numbers_are_the_labels_written_in_csv(tmp_path, capsys):
    """JSON 1, 1.0 and CSV "1" are one label "1"; 2.5 stays "2.5"."""
    rows = make_reviews()
    stars = {"pos": "5", "neg": "1", "": ""}
    train = [{"text": r["text"], "stars": stars[r["sentiment"]]} for r in rows]
    data = write_csv(tmp_path / "train.csv", train)
    model = str(tmp_path / "m.joblib")
    assert main(["train", data, "--text", "text", "--tasks", "stars",
                 "--model", model, "--quiet"]) == 0  # fmt: skip
    as_json = [{"text": r["text"], "stars": float(r["stars"]) if r["stars"] else None}
               for r in train]  # fmt: skip
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in as_json))
    assert main(["evaluate", model, data, "--quiet"]) == 0
    from_csv = capsys.readouterr()
    assert main(["evaluate", model, str(tmp_path / "test.jsonl"), "--quiet"]) == 0
    from_json = capsys.readouterr()
    assert from_json == from_csv and from_json.err == ""
    assert _tables._json_text(2.5) == "2.5" and _tables._json_text(7) == "7"


def test_labels_the_model_does_not_know_are_named(trained, tmp_path, capsys):
    data, model = trained
    rows = make_reviews(n_rows=20, seed=3)
    for row in rows[:3]:
        row["sentiment"] = "neutral"
    test = write_csv(tmp_path / "test.csv", rows)
    assert main(["evaluate", str(model), test, "--quiet"]) == 0
    err = capsys.readouterr().err
    assert err == (
        "skmtl: warning: task 'sentiment': 1 label(s) of the data are not classes "
        "of the model (neutral; the model's: neg, pos); they count as errors\n"
    )


def test_check_output_path_creates_nothing(tmp_path):
    _modelfile.check_output_path(str(tmp_path / "m.joblib"), "model")
    assert os.listdir(tmp_path) == []


def test_write_atomically_replaces_all_files_or_none(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"old a")

    def fail(handle):
        raise OSError(errno.ENOSPC, "full")

    with pytest.raises(OSError):
        _modelfile.write_atomically({str(a): lambda h: h.write(b"new a"), str(b): fail})
    assert a.read_bytes() == b"old a" and not b.exists()
    assert os.listdir(tmp_path) == ["a"]
    _modelfile.write_atomically({str(a): lambda h: h.write(b"new a")})
    assert a.read_bytes() == b"new a"
    time.sleep(0)  # nothing asynchronous: the file is complete on return


def test_escape_formulas_quotes_formula_like_cells(trained, tmp_path):
    data, model = trained
    rows = make_reviews(n_rows=5, seed=4)
    ids = ["=1+1", "+cmd|' /C calc'!A0", "-2", "@SUM(A1)", "plain"]
    for row, value in zip(rows, ids):
        row["id"] = value
    test = write_csv(tmp_path / "test.csv", rows)
    read = _tables.read_table
    for option, expected in [([], ids), (["--escape-formulas"],
                                         ["'" + v for v in ids[:4]] + ["plain"])]:
        out = tmp_path / "p.csv"
        argv = ["predict", str(model), test, "--out", str(out), "--keep", "id"]
        assert main(argv + option + ["--quiet"]) == 0
        assert read(str(out), "csv")["id"].tolist() == expected
    out = tmp_path / "p.jsonl"  # JSON is never run as a formula: left as is
    argv = ["predict", str(model), test, "--out", str(out), "--keep", "id"]
    assert main(argv + ["--escape-formulas", "--quiet"]) == 0
    assert [json.loads(line)["id"] for line in out.open()] == ids


def test_proba_of_a_hinge_model_is_a_one_line_error(tmp_path, capsys):
    data = write_csv(tmp_path / "reviews.csv", make_reviews(n_rows=60))
    model = tmp_path / "hinge.joblib"
    argv = train_argv(data, model, "--loss", "hinge", "--quiet", "--max-iter", "1")
    assert main(argv) == 0
    out = tmp_path / "p.csv"
    assert main(["predict", str(model), data, "--out", str(out), "--proba"]) == 1
    one_error_line(capsys, "--proba needs a model trained with --loss log_loss or auto")
    assert not out.exists()
