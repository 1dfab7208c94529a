"""Tests of the ``skmtl`` command line (skmtl._cli, python -m skmtl)."""

import argparse
import csv
import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

import skmtl
from skmtl import _cli
from skmtl._cli import main
from skmtl._progress import EpochInfo

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

    monkeypatch.setattr(_cli.demo, "load_demo_corpus", missing)
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


# ------------------------------------------------ train, predict and evaluate

SENTIMENT_WORDS = {
    "neg": ["awful", "terrible", "boring", "poor", "hated"],
    "pos": ["great", "excellent", "wonderful", "superb", "loved"],
}
TOPIC_WORDS = {
    "food": ["pizza", "recipe", "dinner", "sauce"],
    "sports": ["match", "goal", "team", "coach"],
    "tech": ["phone", "battery", "laptop", "screen"],
}
FILLER = ["the", "a", "this", "was", "really", "and", "it", "very", "i", "think"]
N_ROWS = 160


def make_reviews(n_rows=N_ROWS, seed=0):
    """Rows id, text, sentiment, topic: the text predicts both labels.

    About 30 % of the labels of each task are missing (empty strings).
    """
    rng = np.random.RandomState(seed)
    rows = []
    for i in range(n_rows):
        sentiment = str(rng.choice(sorted(SENTIMENT_WORDS)))
        topic = str(rng.choice(sorted(TOPIC_WORDS)))
        words = (
            list(rng.choice(SENTIMENT_WORDS[sentiment], 2, replace=False))
            + list(rng.choice(TOPIC_WORDS[topic], 2, replace=False))
            + list(rng.choice(FILLER, 3, replace=False))
        )
        rng.shuffle(words)
        rows.append(
            {
                "id": f"r{i:03d}",
                "text": " ".join(map(str, words)),
                "sentiment": sentiment if rng.rand() > 0.3 else "",
                "topic": topic if rng.rand() > 0.3 else "",
            }
        )
    return rows


def write_csv(path, rows, sep=","):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), delimiter=sep)
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def read_jsonl(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def one_error_line(capsys, *parts):
    """The one line of a failed command's stderr, holding each of ``parts``."""
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("skmtl: error: "), err
    for part in parts:
        assert part in err, err
    return err


def train_argv(data, model, *options):
    return ["train", str(data), "--text", "text", "--tasks", "sentiment,topic",
            "--model", str(model), *options]  # fmt: skip


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    """A CSV file of N_ROWS reviews with missing cells, and its rows."""
    rows = make_reviews()
    path = tmp_path_factory.mktemp("data") / "reviews.csv"
    return write_csv(path, rows), rows


@pytest.fixture(scope="module")
def model_path(reviews, tmp_path_factory):
    """A model trained (quietly) on ``reviews``."""
    path = tmp_path_factory.mktemp("model") / "model.joblib"
    assert main(train_argv(reviews[0], path, "--quiet")) == 0
    return str(path)


def test_train_writes_model_metrics_and_shows_progress(reviews, tmp_path, capsys):
    data, rows = reviews
    model = tmp_path / "model.joblib"
    assert main(train_argv(data, model, "--max-iter", "5")) == 0
    out, err = capsys.readouterr()

    bundle = joblib.load(model)
    assert bundle["text_column"] == "text"
    assert bundle["tasks"] == ["sentiment", "topic"]
    assert bundle["skmtl_version"] == skmtl.__version__
    classifier = bundle["pipeline"][-1]
    assert classifier.task_names_ == ["sentiment", "topic"]
    assert [c.tolist() for c in classifier.classes_] == [
        ["neg", "pos"],
        ["food", "sports", "tech"],
    ]
    assert classifier.missing_label == "" and classifier.verbose == 0

    metrics = json.loads((tmp_path / "model.joblib.metrics.json").read_text())
    assert metrics["evaluated_on"] == "training data"
    assert metrics["n_rows"] == metrics["n_train_rows"] == N_ROWS
    for t, task in enumerate(["sentiment", "topic"]):
        scores = metrics["tasks"][task]
        assert scores["n_labelled"] == sum(row[task] != "" for row in rows)
        assert scores["accuracy"] > 0.9 and scores["f1_macro"] > 0.9
    assert f"scores on the {N_ROWS} training rows" in out
    assert "sentiment: " in out and "model written to" in out
    # Progress on stderr: a tqdm bar over the 5 epochs, per-task losses.
    assert "training" in err and "5/5" in err
    assert re.search(r"sentiment: \d\.\d{4}, topic: \d\.\d{4}", err)


def test_train_holdout_scores_held_out_rows(reviews, tmp_path, capsys):
    model = tmp_path / "model.joblib"
    assert main(train_argv(reviews[0], model, "--holdout", "0.25")) == 0
    out = capsys.readouterr().out
    metrics = json.loads((tmp_path / "model.joblib.metrics.json").read_text())
    assert metrics["evaluated_on"] == "holdout"
    assert metrics["n_rows"] == metrics["n_holdout_rows"] == N_ROWS // 4
    assert metrics["n_train_rows"] == N_ROWS - N_ROWS // 4
    # Chance is 0.5 and 0.33.
    assert metrics["tasks"]["sentiment"]["accuracy"] > 0.8
    assert metrics["tasks"]["topic"]["accuracy"] > 0.7
    assert f"scores on the {N_ROWS // 4} held-out rows" in out


def test_train_quiet_prints_nothing(reviews, tmp_path, capsys):
    model = tmp_path / "model.joblib"
    assert main(train_argv(reviews[0], model, "--quiet", "--float32")) == 0
    assert capsys.readouterr() == ("", "")
    assert model.exists() and (tmp_path / "model.joblib.metrics.json").exists()
    assert joblib.load(model)["pipeline"][-1].shared_coef_.dtype == np.float32


def test_train_progress_without_tqdm(reviews, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_cli.train, "load_tqdm", lambda: None)
    assert main(train_argv(reviews[0], tmp_path / "m.joblib", "--max-iter", "3")) == 0
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 3
    assert [line.split(":")[0] for line in lines] == [
        f"-- Epoch {i}/3" for i in (1, 2, 3)
    ]
    assert all("sentiment: " in line for line in lines)


def test_train_options_reach_the_pipeline(reviews, tmp_path):
    model = tmp_path / "model.joblib"
    options = ["--n-components", "8", "--max-iter", "3", "--alpha", "1e-5",
               "--eta0", "0.3", "--activation", "tanh", "--random-state", "7",
               "--ngram-max", "1", "--min-df", "1", "--max-features", "20",
               "--no-sublinear-tf", "--quiet"]  # fmt: skip
    assert main(train_argv(reviews[0], model, *options)) == 0
    vectorizer, classifier = joblib.load(model)["pipeline"]
    assert vectorizer.ngram_range == (1, 1) and vectorizer.min_df == 1
    assert vectorizer.max_features == 20 and not vectorizer.sublinear_tf
    assert len(vectorizer.vocabulary_) == 20
    params = classifier.get_params()
    assert params["n_components"] == 8 and params["max_iter"] == 3
    assert params["alpha"] == 1e-5 and params["eta0"] == 0.3
    assert params["activation"] == "tanh" and params["random_state"] == 7


def test_train_reads_json_lines_labels_as_text(tmp_path, capsys):
    records = []
    for row in make_reviews():
        stars = {"pos": 5, "neg": 1, "": None}[row["sentiment"]]
        record = {"text": row["text"], "stars": stars}
        if row["topic"]:  # an absent key is a missing label too
            record["topic"] = row["topic"]
        records.append(record)
    data = tmp_path / "reviews.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    model = tmp_path / "model.joblib"
    argv = ["train", str(data), "--text", "text", "--tasks", "stars,topic",
            "--model", str(model), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    classifier = joblib.load(model)["pipeline"][-1]
    assert classifier.classes_[0].tolist() == ["1", "5"]

    out = tmp_path / "pred.jsonl"
    assert main(["predict", str(model), str(data), "--out", str(out), "--quiet"]) == 0
    predicted = read_jsonl(out)
    assert {record["stars"] for record in predicted} <= {"1", "5"}
    assert capsys.readouterr() == ("", "")


def test_epoch_progress_shows_the_callback_info_as_a_bar(capsys):
    tqdm = pytest.importorskip("tqdm").tqdm
    progress = _cli.train.EpochProgress(tqdm)
    for epoch, score in [(1, None), (2, 0.8)]:
        loss = np.array([0.5, 0.4])
        progress(EpochInfo(epoch, 3, ["books", "dvd"], loss, score, 0.01))
    assert progress._bar.n == 2
    postfix = "books: 0.5000, dvd: 0.4000; validation score 0.8000"
    assert progress._bar.postfix == postfix
    progress.close()
    assert "2/3" in capsys.readouterr().err


def test_train_progress_comes_from_the_epoch_callback(reviews, tmp_path, monkeypatch):
    """The bar advances once per EpochInfo the estimator reports, not per print."""
    seen = []
    monkeypatch.setattr(_cli.train, "load_tqdm", lambda: None)
    monkeypatch.setattr(_cli.train.EpochProgress, "__call__",
                        lambda self, info: seen.append(info))
    argv = train_argv(reviews[0], tmp_path / "m.joblib", "--max-iter", "4")
    assert main(argv) == 0
    assert [info.epoch for info in seen] == [1, 2, 3, 4]
    assert all(info.max_iter == 4 for info in seen)
    assert seen[0].task_names == ["sentiment", "topic"]
    classifier = joblib.load(tmp_path / "m.joblib")["pipeline"][-1]
    losses = [info.task_loss for info in seen]
    np.testing.assert_allclose(losses, classifier.loss_curve_)


def test_reads_compressed_files_and_json_arrays(model_path, tmp_path, capsys):
    rows = make_reviews(n_rows=20, seed=2)
    with gzip.open(tmp_path / "reviews.csv.gz", "wt", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (tmp_path / "reviews.json").write_text(json.dumps(rows, indent=1))
    outputs = []
    for name in ["reviews.csv.gz", "reviews.json"]:
        out = tmp_path / f"{name}.pred.jsonl.gz"
        argv = ["predict", model_path, str(tmp_path / name), "--out", str(out)]
        assert main(argv + ["--keep", "id", "--quiet"]) == 0
        with gzip.open(out, "rt", encoding="utf-8") as handle:
            outputs.append([json.loads(line) for line in handle])
    assert outputs[0] == outputs[1]
    assert [record["id"] for record in outputs[0]] == [row["id"] for row in rows]
    assert main(["evaluate", model_path, str(tmp_path / "reviews.json")]) == 0
    assert capsys.readouterr().err == ""


def test_predict_writes_labels_csv(model_path, reviews, tmp_path, capsys):
    data, rows = reviews
    out = tmp_path / "pred.csv"
    assert main(["predict", model_path, data, "--out", str(out), "--keep", "id"]) == 0
    assert "wrote the labels of 2 tasks" in capsys.readouterr().out
    predicted = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(predicted.columns) == ["row", "id", "sentiment", "topic"]
    assert predicted["row"].tolist() == [str(i) for i in range(N_ROWS)]
    assert predicted["id"].tolist() == [row["id"] for row in rows]
    assert set(predicted["sentiment"]) <= set(SENTIMENT_WORDS)
    assert set(predicted["topic"]) <= set(TOPIC_WORDS)
    # Predicted for every row, labelled or not; right on the labelled ones.
    labelled = [i for i, row in enumerate(rows) if row["topic"]]
    hits = [predicted["topic"][i] == rows[i]["topic"] for i in labelled]
    assert np.mean(hits) > 0.9


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".tsv"])
def test_predict_proba(model_path, reviews, tmp_path, suffix):
    out = tmp_path / f"pred{suffix}"
    argv = ["predict", model_path, reviews[0], "--out", str(out), "--proba", "--quiet"]
    assert main(argv) == 0
    if suffix == ".jsonl":
        predicted = pd.DataFrame(read_jsonl(out))
    else:
        predicted = pd.read_csv(out, sep="," if suffix == ".csv" else "\t")
    proba_columns = {
        "sentiment": ["sentiment:proba:neg", "sentiment:proba:pos"],
        "topic": ["topic:proba:food", "topic:proba:sports", "topic:proba:tech"],
    }
    expected = ["row"]
    for task, columns in proba_columns.items():
        expected += [task, *columns]
    assert list(predicted.columns) == expected
    assert len(predicted) == N_ROWS
    for task, columns in proba_columns.items():
        proba = predicted[columns].to_numpy(dtype=float)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
        labels = [column.split(":proba:")[1] for column in columns]
        best = np.array(labels)[proba.argmax(axis=1)]
        assert (predicted[task].to_numpy(dtype=str) == best).all()


def test_predict_one_task(model_path, reviews, tmp_path):
    out = tmp_path / "pred.csv"
    argv = ["predict", model_path, reviews[0], "--out", str(out), "--tasks", "topic"]
    assert main(argv + ["--quiet"]) == 0
    assert list(pd.read_csv(out).columns) == ["row", "topic"]


def test_evaluate_prints_reports_and_summary(model_path, reviews, capsys):
    assert main(["evaluate", model_path, reviews[0]]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.count("precision    recall  f1-score   support") == 2
    for label in [*SENTIMENT_WORDS, *TOPIC_WORDS]:
        assert re.search(rf"^ +{label} +\d", out, re.MULTILINE)
    table = out[out.index("task  ") :].splitlines()
    assert table[0].split() == ["task", "labelled", "accuracy", "macro-F1"]
    assert [line.split()[0] for line in table[1:]] == ["sentiment", "topic", "mean"]
    for line in table[1:]:
        assert all(float(value) > 0.9 for value in line.split()[-2:])


def test_evaluate_quiet_prints_only_the_table(model_path, reviews, capsys):
    argv = ["evaluate", model_path, reviews[0], "--quiet", "--tasks", "sentiment"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["task", "sentiment", "mean"]


def test_train_predict_evaluate_round_trip(tmp_path, capsys):
    """Train on one file, predict and evaluate another with missing cells."""
    rows = make_reviews(n_rows=240, seed=1)
    train = write_csv(tmp_path / "train.csv", rows[:160])
    test = write_csv(tmp_path / "test.tsv", rows[160:], sep="\t")
    model = str(tmp_path / "model.joblib")
    assert main(train_argv(train, model, "--holdout", "0.2", "--quiet")) == 0
    out = tmp_path / "pred.jsonl"
    assert main(["predict", model, test, "--out", str(out), "--keep", "id"]) == 0
    assert main(["evaluate", model, test, "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()

    predicted = read_jsonl(out)
    assert [p["id"] for p in predicted] == [row["id"] for row in rows[160:]]
    for task in ["sentiment", "topic"]:
        # evaluate scores what predict wrote, on the labelled rows only.
        pairs = [(r[task], p[task]) for r, p in zip(rows[160:], predicted) if r[task]]
        accuracy = np.mean([true == pred for true, pred in pairs])
        row = next(line for line in lines if line.startswith(task)).split()
        assert int(row[1]) == len(pairs)
        assert float(row[2]) == pytest.approx(accuracy, abs=1e-4)
        assert accuracy > 0.8


def _bad_inputs(tmp_path, data, model):
    """(argv, expected message part) of each bad-input case."""
    (tmp_path / "binary.csv").write_bytes(b"\x80\x81\xfe\xff\x00")
    (tmp_path / "ragged.csv").write_text("text,sentiment\na,pos\nb,neg,extra\n")
    (tmp_path / "bad.jsonl").write_text('{"text": "a"}\n{"text": \n')
    (tmp_path / "no_text.csv").write_text("body,sentiment\nfine,pos\n")
    joblib.dump({"not": "a model"}, tmp_path / "other.joblib")
    tmp = str(tmp_path)
    return {
        "missing file": (train_argv(f"{tmp}/nope.csv", f"{tmp}/m"), "no such file"),
        "not UTF-8": (train_argv(f"{tmp}/binary.csv", f"{tmp}/m"), "utf-8"),
        "bad CSV": (train_argv(f"{tmp}/ragged.csv", f"{tmp}/m"), "line 3"),
        "bad JSON": (train_argv(f"{tmp}/bad.jsonl", f"{tmp}/m"), "line 2"),
        "unknown extension": (train_argv(f"{tmp}/data.txt", f"{tmp}/m"), "--format"),
        "missing text column": (
            f"train {data} --text body --tasks topic --model {tmp}/m".split(),
            "no text column 'body'",
        ),
        "missing task column": (
            f"train {data} --text text --tasks topic,stars --model {tmp}/m".split(),
            "no task column 'stars'",
        ),
        "no model directory": (train_argv(data, f"{tmp}/no/m"), "no directory"),
        "predict unknown task": (
            ["predict", model, data, "--out", f"{tmp}/p.csv", "--tasks", "stars"],
            "unknown task 'stars'",
        ),
        "evaluate unknown task": (
            ["evaluate", model, data, "--tasks", "topic,stars"],
            "unknown task 'stars'",
        ),
        "model is a CSV": (
            ["predict", data, data, "--out", f"{tmp}/p.csv"],
            "cannot load the model",
        ),
        "model is another pickle": (
            ["evaluate", f"{tmp}/other.joblib", data],
            "not a skmtl model file",
        ),
        "missing model": (["evaluate", f"{tmp}/nope.joblib", data], "no such file"),
        "predict without text column": (
            ["predict", model, f"{tmp}/no_text.csv", "--out", f"{tmp}/p.csv"],
            "no text column 'text'",
        ),
        "evaluate without task column": (
            ["evaluate", model, f"{tmp}/no_text.csv", "--text", "body"],
            "no task column 'topic'",
        ),
        "missing --keep column": (
            ["predict", model, data, "--out", f"{tmp}/p.csv", "--keep", "uid"],
            "no --keep column 'uid'",
        ),
    }


BAD_INPUTS = [
    "missing file",
    "not UTF-8",
    "bad CSV",
    "bad JSON",
    "unknown extension",
    "missing text column",
    "missing task column",
    "no model directory",
    "predict unknown task",
    "evaluate unknown task",
    "model is a CSV",
    "model is another pickle",
    "missing model",
    "predict without text column",
    "evaluate without task column",
    "missing --keep column",
]


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_error(case, model_path, reviews, tmp_path, capsys):
    cases = _bad_inputs(tmp_path, reviews[0], model_path)
    assert sorted(cases) == sorted(BAD_INPUTS)
    argv, message = cases[case]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("skmtl: error: ")
    assert message in err


@pytest.mark.parametrize("value", ["1", "1.5", "-0.1", "nan"])
def test_train_rejects_holdout_out_of_range(value, reviews, tmp_path, capsys):
    argv = train_argv(reviews[0], tmp_path / "m.joblib", "--holdout", value)
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
    assert err.startswith("skmtl: error: --holdout must be a fraction in (0, 1)")
    assert not (tmp_path / "m.joblib").exists()


@pytest.mark.parametrize("exc_type", [ValueError, TypeError])
def test_fit_errors_are_one_line(exc_type, reviews, tmp_path, monkeypatch, capsys):
    def fail(self, X, y, sample_weight=None):
        raise exc_type("Training diverged at epoch 3:\nlower eta0.")

    monkeypatch.setattr(skmtl.MultiTaskTextClassifier, "fit", fail)
    assert main(train_argv(reviews[0], tmp_path / "m.joblib", "--quiet")) == 1
    assert capsys.readouterr().err == (
        "skmtl: error: cannot train: Training diverged at epoch 3: lower eta0.\n"
    )


@pytest.mark.parametrize(
    "option, value", [("--alpha", "-1"), ("--max-iter", "0"), ("--min-df", "1.5")]
)
def test_bad_option_value_is_a_usage_error(option, value, reviews, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc_info:
        main(train_argv(reviews[0], tmp_path / "m.joblib", option, value))
    assert exc_info.value.code == 2
    assert f"argument {option}: " in capsys.readouterr().err


def _subcommand_parsers():
    parser = _cli._build_parser()
    action = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    return action.choices


@pytest.mark.parametrize("command", ["train", "predict", "evaluate"])
def test_command_help(command, capsys):
    with pytest.raises(SystemExit) as exc_info:
        main([command, "--help"])
    assert exc_info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: skmtl {command}")


DOC_PAGE = Path(__file__).resolve().parents[1] / "doc" / "cli.rst"


@pytest.mark.skipif(not DOC_PAGE.exists(), reason="no doc/cli.rst (not a checkout)")
def test_doc_page_documents_every_option():
    text = DOC_PAGE.read_text(encoding="utf-8")
    for name, parser in _subcommand_parsers().items():
        assert f"skmtl {name}" in text
        for action in parser._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert option in text, f"{name} {option}"


def test_epoch_callback_reaches_an_estimator_inside_a_pipeline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    from skmtl._progress import epoch_callback

    rows = make_reviews(n_rows=60)
    texts = [row["text"] for row in rows]
    Y = pd.DataFrame({"sentiment": [row["sentiment"] or None for row in rows]})
    pipe = make_pipeline(
        TfidfVectorizer(), skmtl.MultiTaskTextClassifier(max_iter=3, random_state=0)
    )
    seen = []
    with epoch_callback(seen.append):
        pipe.fit(texts, Y)
    pipe.fit(texts, Y)  # outside the block: nothing more is reported
    assert [(info.epoch, info.max_iter) for info in seen] == [(1, 3), (2, 3), (3, 3)]
    assert all(info.validation_score is None and info.seconds >= 0 for info in seen)
    np.testing.assert_array_equal(
        np.array([info.task_loss for info in seen]), pipe[-1].loss_curve_
    )
