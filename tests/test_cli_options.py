"""``skmtl train`` exposes the estimator's options and checks its inputs early
(issue 19): generated options, one-class-per-row warning, --format hints, an
unwritable model path before training, swapped MODEL DATA arguments."""

import inspect
import time

import joblib
import pytest

from skmtl import MultiTaskTextClassifier
from skmtl._cli import _options, main
from tests.test_cli import make_reviews, train_argv, write_csv


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_csv(tmp_path_factory.mktemp("data") / "reviews.csv", make_reviews())


def _train_help(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    return capsys.readouterr().out


def test_every_tunable_parameter_has_an_option(capsys):
    """A new estimator parameter gets an option, or a reasoned exclusion."""
    parameters = set(inspect.signature(MultiTaskTextClassifier).parameters)
    assert set(MultiTaskTextClassifier._parameter_constraints) == parameters
    assert set(_options.EXCLUDED) == {
        "random_state", "verbose", "warm_start", "missing_label"
    }  # fmt: skip
    assert set(_options.generated_parameters()) == parameters - set(_options.EXCLUDED)
    text = _train_help(capsys)
    for name in parameters - {"verbose", "warm_start", "missing_label"}:
        assert f"--{name.replace('_', '-')} " in text, name
    wanted = ["--class-weight", "--task-weights", "--private", "--n-jobs",
              "--early-stopping", "--validation-fraction", "--tol",
              "--n-iter-no-change", "--loss", "--penalty", "--l1-ratio"]  # fmt: skip
    assert all(name in text for name in wanted)


def test_help_comes_from_the_docstring(capsys):
    docs = _options.parameter_docs()
    assert set(docs) == set(inspect.signature(MultiTaskTextClassifier).parameters)
    assert docs["eta0"].startswith("Initial step size.")
    text = " ".join(_train_help(capsys).split())
    assert "--eta0 FLOAT Initial step size. (default: 0.5)" in text
    assert "--penalty {elasticnet,l1,l2,none}" in text
    assert "--private {true,false,auto}" in text


def test_options_reach_the_estimator(data, tmp_path, capsys):
    model = tmp_path / "m.joblib"
    options = ["--private", "true", "--alpha-private", "0.001", "--loss", "hinge",
               "--penalty", "elasticnet", "--l1-ratio", "0.3",
               "--task-weights", "sentiment=2", "--class-weight",
               '{"topic": "balanced", "sentiment": {"neg": 2}}',
               "--learning-rate", "constant", "--eta0", "0.2", "--tol", "0.001",
               "--n-iter-no-change", "4", "--early-stopping",
               "--validation-fraction", "0.2", "--no-shuffle", "--n-jobs", "1",
               "--max-iter", "4", "--quiet"]  # fmt: skip
    assert main(train_argv(data, model, *options)) == 0
    params = joblib.load(model)["pipeline"][-1].get_params()
    # n_iter_no_change = max_iter: the stopping rule cannot stop training.
    assert capsys.readouterr().err == (
        "skmtl: warning: Maximum number of epochs (4) reached before the stopping "
        "criterion; consider increasing max_iter.\n"
    )
    expected = {
        "private": True, "alpha_private": 0.001, "loss": "hinge",
        "penalty": "elasticnet", "l1_ratio": 0.3,
        "task_weights": {"sentiment": 2.0},
        "class_weight": {"topic": "balanced", "sentiment": {"neg": 2}},
        "learning_rate": "constant", "eta0": 0.2, "tol": 0.001,
        "n_iter_no_change": 4, "early_stopping": True,
        "validation_fraction": 0.2, "shuffle": False, "n_jobs": 1, "max_iter": 4,
        "random_state": 0, "verbose": 0, "missing_label": "",
    }  # fmt: skip
    assert {key: params[key] for key in expected} == expected


def test_none_values_and_json_arrays(data, tmp_path):
    model = tmp_path / "m.joblib"
    options = ["--penalty", "none", "--tol", "none", "--task-weights", "[1, 3]",
               "--class-weight", "balanced", "--max-iter", "2", "--quiet"]  # fmt: skip
    assert main(train_argv(data, model, *options)) == 0
    params = joblib.load(model)["pipeline"][-1].get_params()
    assert params["penalty"] is None and params["tol"] is None
    assert params["task_weights"] == [1, 3] and params["class_weight"] == "balanced"


@pytest.mark.parametrize(
    "option, value, message",
    [("--penalty", "l3", "must be a str among"),
     ("--l1-ratio", "2", "must be a float in the range [0"),
     ("--tol", "-1", "must be a float in the range [0"),
     ("--n-components", "-1", "must be an int in the range [0, inf)"),
     ("--n-jobs", "two", "must be an instance of 'int' or none"),
     ("--class-weight", "{bad", "must be a str among {'balanced'}"),
     ("--task-weights", "books=", "must be")],
)  # fmt: skip
def test_bad_values_are_usage_errors(option, value, message, data, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc_info:
        main(train_argv(data, tmp_path / "m.joblib", option, value))
    assert exc_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: {message}" in err, err


def test_bad_combination_is_a_one_line_error(data, tmp_path, capsys):
    argv = train_argv(data, tmp_path / "m.joblib", "--class-weight",
                      '{"sentiment": {"meh": 2}}', "--quiet")  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("skmtl: error: cannot train: ") and "meh" in err
    assert len(err.splitlines()) == 1


def test_warns_when_a_task_has_nearly_one_class_per_row(tmp_path, capsys):
    rows = [{"text": r["text"], "id": f"r{i}", "sentiment": r["sentiment"]}
            for i, r in enumerate(make_reviews())]  # fmt: skip
    data = write_csv(tmp_path / "d.csv", rows)
    argv = ["train", data, "--text", "text", "--tasks", "id,sentiment",
            "--model", str(tmp_path / "m.joblib"), "--quiet",
            "--max-iter", "1"]  # fmt: skip
    assert main(argv) == 0
    assert capsys.readouterr().err == (
        "skmtl: warning: task 'id' has 160 classes for 160 labelled rows: nearly "
        "one class per row (an identifier column?); such a task cannot generalise "
        "and makes training slow\n"
    )


def test_no_warning_for_ordinary_tasks(data, tmp_path, capsys):
    assert main(train_argv(data, tmp_path / "m.joblib", "--quiet")) == 0
    assert capsys.readouterr().err == ""


def test_suggests_format_tsv_for_a_one_column_file(tmp_path, capsys):
    data = write_csv(tmp_path / "tabs.csv", make_reviews(), sep="\t")
    assert main(train_argv(data, tmp_path / "m.joblib")) == 1
    assert capsys.readouterr().err == (
        f"skmtl: error: {data!r} parses as CSV into one column; its header line "
        "holds tabs: use --format tsv\n"
    )
    assert main(train_argv(data, tmp_path / "m.joblib", "--format", "tsv",
                           "--quiet")) == 0  # fmt: skip


def test_suggests_format_on_a_tokenizer_error(tmp_path, capsys):
    rows = make_reviews()
    rows[5]["text"] = "great, really great"  # one comma: CSV sees 2 fields
    data = write_csv(tmp_path / "tabs.csv", rows, sep="\t")
    assert main(train_argv(data, tmp_path / "m.joblib")) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"skmtl: error: cannot read {data!r} as CSV: ")
    assert err.endswith("; its header line holds tabs: use --format tsv\n")
    assert len(err.splitlines()) == 1


def test_suggests_format_csv_for_a_csv_read_as_tsv(data, tmp_path, capsys):
    argv = train_argv(data, tmp_path / "m.joblib", "--format", "tsv")
    assert main(argv) == 1
    assert capsys.readouterr().err.endswith("holds commas: use --format csv\n")


@pytest.mark.parametrize("model", ["/proc/x.joblib", "/proc/self/x.joblib"])
def test_unwritable_model_path_fails_before_training(model, data, capsys):
    tic = time.perf_counter()
    assert main(train_argv(data, model)) == 1
    out, err = capsys.readouterr()
    assert out == ""  # not even "read ... rows": nothing was read
    assert err.startswith(f"skmtl: error: cannot write the model {model!r}: ")
    assert len(err.splitlines()) == 1
    assert time.perf_counter() - tic < 5


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_swapped_model_and_data_arguments(command, data, tmp_path, capsys):
    model = tmp_path / "m.joblib"
    assert main(train_argv(data, model, "--quiet", "--max-iter", "1")) == 0
    argv = [command, data, str(model)]
    if command == "predict":
        argv += ["--out", str(tmp_path / "p.csv")]
    assert main(argv) == 1
    assert capsys.readouterr().err == (
        f"skmtl: error: {data!r} looks like a data file and {str(model)!r} like a "
        f"model file: the arguments are MODEL DATA, e.g. 'skmtl {command} "
        f"{model} {data} ...'\n"
    )
    # A model file with another extension is recognised by its first byte.
    renamed = tmp_path / "model.bin"
    model.rename(renamed)
    assert main([command, data, str(renamed), *argv[3:]]) == 1
    assert "the arguments are MODEL DATA" in capsys.readouterr().err
