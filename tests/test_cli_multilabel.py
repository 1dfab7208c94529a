"""Multi-label task columns on the command line: ``skmtl train --multilabel``
reads label sets (an empty cell is missing, the separator alone the empty set),
the model file keeps the separator, ``predict`` writes sets back the same way
and ``evaluate`` scores them as :mod:`skmtl.metrics` does."""

import json
import re

import joblib
import numpy as np
import pandas as pd
import pytest

from skmtl._cli import _modelfile, _tables, main
from skmtl.metrics import per_task_score
from tests.test_cli import make_reviews, one_error_line, read_jsonl, write_csv

TAG_WORDS = {
    "bug": ["crashes", "freezes", "broken"],
    "docs": ["manual", "typo", "tutorial"],
    "ui": ["button", "menu", "layout"],
}
TASKS = ["sentiment", "topic", "tags"]


def make_tickets(n_rows=160, seed=0):
    """Rows of make_reviews (binary sentiment, 3-class topic) with label sets.

    Each tag is present with probability 0.35 and then named in the text; a
    row has ``tags`` None (missing, about 20 %) or a sorted tuple, maybe empty.
    """
    rng = np.random.RandomState(seed)
    rows = make_reviews(n_rows=n_rows, seed=seed)
    for row in rows:
        tags = tuple(tag for tag in sorted(TAG_WORDS) if rng.rand() < 0.35)
        words = row["text"].split() + [str(rng.choice(TAG_WORDS[t])) for t in tags]
        rng.shuffle(words)
        row["text"] = " ".join(words)
        row["tags"] = tags if rng.rand() > 0.2 else None
    return rows


def tags_text(tags, sep="|"):
    """A label set as a CSV cell: "" for missing, the separator for the empty set."""
    if tags is None:
        return ""
    return sep.join(tags) if tags else sep


def write_data(path, rows, sep="|"):
    """CSV cells as text; JSON lines with arrays ([] empty) and nulls (missing)."""
    if str(path).endswith(".jsonl"):
        records = [
            {**row, "tags": None if row["tags"] is None else list(row["tags"])}
            for row in rows
        ]
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        return str(path)
    return write_csv(path, [{**r, "tags": tags_text(r["tags"], sep)} for r in rows])


def read_sets(cells, sep="|"):
    """The test's own reading of written label sets (independent of the CLI)."""
    return [() if cell == sep else tuple(cell.split(sep)) for cell in cells]


def train_argv(data, model, *options):
    return ["train", str(data), "--text", "text", "--tasks", ",".join(TASKS),
            "--multilabel", "tags", "--model", str(model), *options]  # fmt: skip


@pytest.fixture(scope="module")
def tickets(tmp_path_factory):
    """Training rows, test rows and a model trained on the training rows."""
    rows = make_tickets(n_rows=220, seed=1)
    train, test = rows[:160], rows[160:]
    # Every task has missing cells and the tags some empty sets, in both parts.
    for part in (train, test):
        assert any(r["sentiment"] == "" for r in part)
        assert any(r["topic"] == "" for r in part)
        assert any(r["tags"] is None for r in part)
        assert any(r["tags"] == () for r in part)
    folder = tmp_path_factory.mktemp("tickets")
    model = folder / "model.joblib"
    assert main(train_argv(write_data(folder / "train.csv", train), model)) == 0
    return train, test, str(model)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("bug|ui", ("bug", "ui")),
        (" bug | ui ", ("bug", "ui")),
        ("ui||bug|", ("ui", "bug")),
        ("bug|bug", ("bug",)),
        ("bug", ("bug",)),
        ("|", ()),
        (" | ", ()),
        ("||", ()),
        ("", _tables.MISSING),
        ("   ", _tables.MISSING),
    ],
)
def test_label_set_rule(text, expected):
    assert _tables.label_set(text, "|") == expected


def test_join_label_sets_reads_back():
    cells = [("bug", "ui"), (), ("docs",)]
    written = _tables.join_label_sets(cells, ";")
    assert written == ["bug;ui", ";", "docs"]
    assert [_tables.label_set(text, ";") for text in written] == cells


def test_train_reads_label_sets(tickets, capsys, tmp_path):
    train, _, model = tickets
    bundle = joblib.load(model)
    assert bundle["skmtl_model"] == _modelfile.MULTILABEL_MODEL_FORMAT == 2
    assert bundle["label_sep"] == "|"
    classifier = bundle["pipeline"][-1]
    assert classifier.multilabel_.tolist() == [False, False, True]
    assert classifier.classes_[2].tolist() == sorted(TAG_WORDS)

    # Retrain with output: the tags' line and the table's micro-F1 column.
    data = write_data(tmp_path / "train.csv", train)
    assert main(train_argv(data, tmp_path / "m.joblib", "--max-iter", "2")) == 0
    out = capsys.readouterr().out
    n_tags = sum(r["tags"] is not None for r in train)
    assert f"  tags: {n_tags} labelled, multi-label, 3 labels (bug, docs, ui)" in out
    assert "task       labelled  accuracy  macro-F1  micro-F1" in out
    assert "multi-label: tags (accuracy: share of rows whose label set" in out

    metrics = json.loads((tmp_path / "m.joblib.metrics.json").read_text())
    # An empty set is a label, a missing cell is not.
    assert metrics["tasks"]["tags"]["n_labelled"] == n_tags
    assert [metrics["tasks"][t]["multilabel"] for t in TASKS] == [False, False, True]
    assert set(metrics["mean"]) == {"accuracy", "f1_macro", "f1_micro"}
    assert metrics["options"]["multilabel"] == ["tags"]
    assert metrics["options"]["label_sep"] == "|"


def test_empty_set_trains_and_missing_does_not(tickets, tmp_path):
    """'|' cells train every tag towards "absent"; empty cells train nothing."""
    train, _, _ = tickets
    as_missing = [{**r, "tags": r["tags"] or None} for r in train]
    counts = []
    for name, rows in [("sets", train), ("missing", as_missing)]:
        model = tmp_path / f"{name}.joblib"
        data = write_data(tmp_path / f"{name}.csv", rows)
        assert main(train_argv(data, model, "--quiet", "--max-iter", "1")) == 0
        counts.append(joblib.load(model)["pipeline"][-1]._class_counts_seen.sum())
    n_empty = sum(r["tags"] == () for r in train)
    # One (absent) count per tag for each row whose set is empty.
    assert counts[0] - counts[1] == n_empty * len(TAG_WORDS)


def _predict_and_evaluate(model, data, out, capsys):
    """The predictions written to ``out`` and evaluate --quiet's table rows."""
    argv = ["predict", model, data, "--out", str(out), "--keep", "id", "--quiet"]
    assert main(argv) == 0
    if str(out).endswith(".jsonl"):
        predicted = pd.DataFrame(read_jsonl(out))
    else:
        sep = "\t" if str(out).endswith(".tsv") else ","
        predicted = pd.read_csv(out, sep=sep, dtype=str, keep_default_na=False)
    assert main(["evaluate", model, data, "--quiet"]) == 0
    out_text, err = capsys.readouterr()
    assert err == ""
    lines = out_text.splitlines()
    assert lines[0].split() == ["task", "labelled", "accuracy", "macro-F1", "micro-F1"]
    table = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    return predicted, table


@pytest.mark.parametrize(
    "data_name, out_name",
    [("test.csv", "pred.csv"), ("test.jsonl", "pred.jsonl"), ("test.tsv", "p.tsv")],
)
def test_round_trip(tickets, tmp_path, capsys, data_name, out_name):
    _, test, model = tickets
    if data_name.endswith(".tsv"):
        data = write_csv(
            tmp_path / data_name,
            [{**r, "tags": tags_text(r["tags"])} for r in test],
            sep="\t",
        )
    else:
        data = write_data(tmp_path / data_name, test)
    predicted, table = _predict_and_evaluate(model, data, tmp_path / out_name, capsys)
    assert predicted["id"].tolist() == [r["id"] for r in test]

    # The written sets read back as the model's predictions; none is missing.
    pipeline = joblib.load(model)["pipeline"]
    expected = pipeline.predict([r["text"] for r in test])
    written = predicted["tags"].tolist()
    assert "" not in written
    assert read_sets(written) == list(expected[:, 2])
    assert [_tables.label_set(c, "|") for c in written] == list(expected[:, 2])
    assert () in list(expected[:, 2])  # an empty set was predicted, written "|"
    assert predicted["topic"].tolist() == expected[:, 1].tolist()

    # evaluate's numbers are skmtl.metrics' on the written predictions.
    Y_true = pd.DataFrame(
        {task: [r[task] if r[task] != "" else None for r in test] for task in TASKS}
    )
    Y_pred = np.empty((len(test), 3), dtype=object)
    Y_pred[:, 0] = predicted["sentiment"]
    Y_pred[:, 1] = predicted["topic"]
    for i, cell in enumerate(read_sets(written)):
        Y_pred[i, 2] = cell
    for position, metric in [(1, "accuracy"), (2, "f1_macro"), (3, "f1_micro")]:
        options = {} if metric == "accuracy" else {"zero_division": 0}
        scores = per_task_score(Y_true, Y_pred, metric, **options)
        for task, score in zip(TASKS, scores):
            assert float(table[task][position]) == pytest.approx(score, abs=5e-5)
        mean = float(table["mean"][position - 1])
        assert mean == pytest.approx(scores.mean(), abs=5e-5)
    n_tags = sum(r["tags"] is not None for r in test)
    assert int(table["tags"][0]) == n_tags
    assert float(table["tags"][3]) > 0.7  # micro-F1: the tags are learned


def test_predict_proba_has_a_column_per_label(tickets, tmp_path):
    _, test, model = tickets
    data = write_data(tmp_path / "test.csv", test)
    out = tmp_path / "pred.csv"
    argv = ["predict", model, data, "--out", str(out), "--proba", "--tasks", "tags"]
    assert main(argv + ["--quiet"]) == 0
    predicted = pd.read_csv(out, dtype=str, keep_default_na=False)
    columns = [f"tags:proba:{tag}" for tag in sorted(TAG_WORDS)]
    assert list(predicted.columns) == ["row", "tags", *columns]
    proba = predicted[columns].to_numpy(dtype=float)
    # Independent probabilities: a label is in the set where it is above 0.5.
    present = [[tag in cell for tag in sorted(TAG_WORDS)]
               for cell in read_sets(predicted["tags"])]  # fmt: skip
    np.testing.assert_array_equal(proba > 0.5, present)


def test_evaluate_reports_each_label(tickets, tmp_path, capsys):
    _, test, model = tickets
    data = write_data(tmp_path / "test.csv", test)
    assert main(["evaluate", model, data, "--tasks", "tags"]) == 0
    out = capsys.readouterr().out
    n_tags = sum(r["tags"] is not None for r in test)
    assert f"tags ({n_tags} labelled rows; multi-label)" in out
    for line in [*TAG_WORDS, "micro avg", "macro avg", "weighted avg"]:
        assert re.search(rf"^ *{line} +\d", out, re.MULTILINE), line
    assert "samples avg" not in out
    assert out.rstrip().endswith("F1 over the labels)")


def test_other_separator_round_trip(tmp_path, capsys):
    rows = make_tickets(n_rows=80, seed=2)
    data = write_data(tmp_path / "train.csv", rows, sep=";")
    model = str(tmp_path / "model.joblib")
    argv = train_argv(data, model, "--label-sep", " ; ", "--quiet", "--min-df", "1")
    assert main(argv) == 0
    assert joblib.load(model)["label_sep"] == ";"
    out = tmp_path / "pred.csv"
    assert main(["predict", model, data, "--out", str(out), "--quiet"]) == 0
    written = pd.read_csv(out, dtype=str, keep_default_na=False)["tags"]
    expected = joblib.load(model)["pipeline"].predict([r["text"] for r in rows])
    assert read_sets(written, ";") == list(expected[:, 2])
    assert main(["evaluate", model, data, "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_model_without_label_sets_keeps_format_1(tmp_path):
    data = write_csv(tmp_path / "reviews.csv", make_reviews(n_rows=60))
    model = tmp_path / "model.joblib"
    argv = ["train", data, "--text", "text", "--tasks", "sentiment,topic",
            "--model", str(model), "--quiet", "--max-iter", "1"]  # fmt: skip
    assert main(argv) == 0
    bundle = joblib.load(model)
    assert bundle["skmtl_model"] == 1 and "label_sep" not in bundle


def _bad_train_cases(tmp_path, train):
    csv = write_data(tmp_path / "train.csv", train)
    model = tmp_path / "m.joblib"

    def jsonl(name, tags):
        rows = [{**r, "tags": list(r["tags"] or ())} for r in train]
        rows[3]["tags"] = tags
        path = tmp_path / name
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path

    only_empty = write_data(
        tmp_path / "empty.csv",
        [{**r, "tags": None if r["tags"] is None else ()} for r in train],
    )
    argv = ["train", csv, "--text", "text", "--tasks", "sentiment,tags",
            "--model", str(model)]  # fmt: skip
    return {
        "unknown --multilabel column": (
            argv + ["--multilabel", "tags,labels"],
            "--multilabel names 'labels', which is not among the --tasks columns",
        ),
        "--multilabel names the text": (
            argv + ["--multilabel", "text"],
            "--multilabel names 'text'",
        ),
        "empty --label-sep": (
            argv + ["--multilabel", "tags", "--label-sep", ""],
            "--label-sep is empty or white space",
        ),
        "blank --label-sep": (
            argv + ["--multilabel", "tags", "--label-sep", "  "],
            "--label-sep is empty or white space",
        ),
        "--label-sep without --multilabel": (
            argv + ["--label-sep", ";"],
            "--label-sep is given without --multilabel",
        ),
        "JSON label holding the separator": (
            train_argv(jsonl("sep.jsonl", ["bug|ui"]), model),
            "holds the label 'bug|ui' in row 3 (counting from 0), which contains "
            "the label separator '|'",
        ),
        "JSON null in a label set": (
            train_argv(jsonl("null.jsonl", ["bug", None]), model),
            "holds a null inside the array of row 3",
        ),
        "JSON object in a label set": (
            train_argv(jsonl("object.jsonl", [{"a": 1}]), model),
            "holds a JSON dict in row 3",
        ),
        "no label in any set": (
            train_argv(only_empty, model),
            "cannot train on",
        ),
    }


BAD_TRAIN_CASES = [
    "unknown --multilabel column",
    "--multilabel names the text",
    "empty --label-sep",
    "blank --label-sep",
    "--label-sep without --multilabel",
    "JSON label holding the separator",
    "JSON null in a label set",
    "JSON object in a label set",
    "no label in any set",
]


@pytest.mark.parametrize("case", BAD_TRAIN_CASES)
def test_bad_multilabel_input_is_one_line_error(case, tickets, tmp_path, capsys):
    cases = _bad_train_cases(tmp_path, tickets[0])
    assert sorted(cases) == sorted(BAD_TRAIN_CASES)
    argv, message = cases[case]
    assert main(argv) == 1
    one_error_line(capsys, message)
    assert not (tmp_path / "m.joblib").exists()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"skmtl_model": 3}, "of format 3, written by skmtl"),
        ({"label_sep": None}, "damaged skmtl model file"),
    ],
)
def test_model_file_format_checks(change, message, tickets, tmp_path, capsys):
    _, test, model = tickets
    bundle = {**joblib.load(model), **change}
    joblib.dump(bundle, tmp_path / "changed.joblib")
    data = write_data(tmp_path / "test.csv", test)
    assert main(["evaluate", str(tmp_path / "changed.joblib"), data]) == 1
    one_error_line(capsys, message)


def test_scoring_only_multiclass_tasks_keeps_the_plain_table(tickets, tmp_path, capsys):
    _, test, model = tickets
    data = write_data(tmp_path / "test.csv", test)
    assert main(["evaluate", model, data, "--tasks", "topic", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["task", "labelled", "accuracy", "macro-F1"]
    assert [line.split()[0] for line in lines] == ["task", "topic", "mean"]
