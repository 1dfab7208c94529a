"""Multi-label tasks: label collections as targets, beside multiclass tasks."""

import doctest
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.metrics import accuracy_score, f1_score
from sklearn.preprocessing import MultiLabelBinarizer

from skmtl import LabelSet, MultiTaskTextClassifier
from skmtl.metrics import expected_f1_threshold, mean_task_score, per_task_score
from tests.conftest import make_sparse_problem

LABELS = ["billing", "bug", "feature", "login"]


def make_tickets(n_samples=300, seed=0, X_dtype=np.float64):
    """Sparse X and a DataFrame with a multiclass, a binary and a multi-label task.

    Each tag is present where its own random linear function of x is positive
    (so the tags are learnable and independent); about 20 % of each task's
    cells are missing.
    """
    rng = np.random.RandomState(seed)
    X, Y = make_sparse_problem(X_dtype, n_samples=n_samples, seed=seed)
    scores = np.asarray(X @ rng.randn(X.shape[1], len(LABELS))) - 0.3
    tags = pd.Series([tuple(np.array(LABELS)[row > 0]) for row in scores],
                     dtype=object)
    tags[rng.rand(n_samples) < 0.2] = None
    frame = pd.DataFrame({
        "topic": pd.Series(Y[:, 1]).map({0: "a", 1: "b", 2: "c"}),
        "urgent": Y[:, 0],
        "tags": tags,
    })
    return X, frame


def _clf(**params):
    return MultiTaskTextClassifier(**{"random_state": 0, "max_iter": 20, **params})


def _indicator(cells, labels=LABELS):
    return MultiLabelBinarizer(classes=labels).fit_transform(cells)


@pytest.fixture(scope="module")
def tickets():
    return make_tickets()


@pytest.fixture(scope="module")
def fitted(tickets):
    X, Y = tickets
    return _clf().fit(X, Y)


def test_kinds_classes_and_heads(fitted):
    assert_array_equal(fitted.multilabel_, [False, False, True])
    assert_array_equal(fitted.classes_[2], LABELS)
    # topic (3 classes), urgent (2), then one (absent, present) head a tag.
    assert_array_equal(np.diff(fitted.class_offsets_), [3, 2, 2, 2, 2, 2])
    # A multiclass task has no threshold; the imbalanced binary one has.
    assert fitted.thresholds_[0] is None and isinstance(fitted.thresholds_[1], float)
    assert fitted.thresholds_[2].shape == (4,) and np.all(fitted.thresholds_[2] <= 0)
    assert fitted.loss_curve_.shape == (20, 3)


def test_predictions_agree_and_learn(tickets, fitted):
    X, Y = tickets
    predicted = fitted.predict(X)
    assert predicted.shape == (X.shape[0], 3) and predicted.dtype == object
    tags = predicted[:, 2]
    assert all(isinstance(cell, tuple) and list(cell) == sorted(cell) for cell in tags)
    proba = fitted.predict_proba(X)[2]
    decision = fitted.decision_function(X)[2]
    log_proba = fitted.predict_log_proba(X)[2]
    assert proba.shape == decision.shape == (X.shape[0], len(LABELS))
    assert_array_equal(_indicator(tags), decision > 0)
    assert_array_equal(proba > 0.5, decision > 0)
    assert_allclose(np.exp(log_proba), proba, rtol=1e-6)
    labelled = Y["tags"].notna().to_numpy()
    f1 = f1_score(_indicator(Y["tags"][labelled]), _indicator(tags[labelled]),
                  average="micro")
    assert f1 > 0.8
    # The other tasks still predict their own labels.
    assert set(predicted[:, 0]) <= {"a", "b", "c"}


def test_empty_set_is_a_label_and_none_is_missing():
    X, Y = make_tickets()
    empty = Y["tags"].map(lambda c: c is not None and len(c) == 0)
    assert empty.sum() > 10  # the fixture has rows without any tag
    as_missing = Y.assign(tags=Y["tags"].where(~empty, None))
    a = _clf().fit(X, Y)
    b = _clf().fit(X, as_missing)
    # Rows with no tag train every tag towards "absent" in a, not in b.
    assert not np.allclose(a.head_coef_, b.head_coef_)
    assert a._class_counts_seen.sum() > b._class_counts_seen.sum()


@pytest.mark.parametrize(
    "as_target",
    [
        lambda cells: pd.Series(cells, dtype=object),
        lambda cells: [set(c) for c in cells],
        lambda cells: [frozenset(c) for c in cells],
    ],
    ids=["series-of-tuples", "list-of-sets", "list-of-frozensets"],
)
def test_one_multilabel_task_as_1d_y(as_target):
    X, Y = make_tickets()
    labelled = Y["tags"].notna().to_numpy()
    cells = list(Y["tags"][labelled])
    model = _clf().fit(X[labelled], as_target(cells))
    assert_array_equal(model.classes_, LABELS)
    assert model.multilabel_.tolist() == [True]
    predicted = model.predict(X[:5])
    assert predicted.shape == (5,) and isinstance(predicted[0], tuple)
    assert model.predict_proba(X[:5]).shape == (5, 4)
    assert model.decision_function(X[:5]).shape == (5, 4)
    assert model.thresholds_.shape == (4,)
    assert 0 <= model.score(X[labelled], cells) <= 1


def test_lists_of_rows_with_tuple_cells_are_2d():
    X, _ = make_tickets(n_samples=40)
    rows = [["x" if i % 2 else "y", ("p", "q") if i % 3 else ("q", "r")]
            for i in range(40)]
    model = _clf(max_iter=2).fit(X, rows)
    assert model.multilabel_.tolist() == [False, True]
    assert_array_equal(model.classes_[1], ["p", "q", "r"])


def test_score_is_mean_of_accuracy_and_subset_accuracy(tickets, fitted):
    X, Y = tickets
    predicted = fitted.predict(X)
    labelled = Y["tags"].notna().to_numpy()
    subset = accuracy_score(_indicator(Y["tags"][labelled]),
                            _indicator(predicted[labelled, 2]))
    scores = per_task_score(Y, predicted)
    assert scores[2] == pytest.approx(subset)
    assert fitted.score(X, Y) == pytest.approx(scores.mean())


@pytest.mark.parametrize("average", ["macro", "micro", "samples", "weighted"])
def test_masked_f1_of_a_multilabel_task(tickets, fitted, average):
    X, Y = tickets
    predicted = fitted.predict(X)
    labelled = Y["tags"].notna().to_numpy()
    expected = f1_score(_indicator(Y["tags"][labelled]),
                        _indicator(predicted[labelled, 2]), average=average,
                        zero_division=0)
    got = per_task_score(Y[["tags"]], predicted[:, 2:], f"f1_{average}",
                         zero_division=0)[0]
    assert got == pytest.approx(expected)


def test_metrics_take_labels_of_either_side():
    Y_true = pd.DataFrame({"tags": [("a",), ("b",), None, ()]})
    Y_pred = np.empty((4, 1), dtype=object)
    for i, cell in enumerate([("a",), ("c",), ("a",), ()]):
        Y_pred[i, 0] = cell
    # a: F1 1; b: missed; c: a false positive; rows 0 and 3 exact.
    assert mean_task_score(Y_true, Y_pred) == pytest.approx(2 / 3)
    assert mean_task_score(Y_true, Y_pred, "f1_macro",
                           zero_division=0) == pytest.approx(1 / 3)


def test_class_weight_balanced_weighs_each_label_by_its_own_counts(tickets):
    X, Y = tickets
    model = _clf(class_weight="balanced", max_iter=1).fit(X, Y)
    plain = _clf(max_iter=1).fit(X, Y)
    # Balanced classes move each label's prior towards even; a weight counts
    # at most one in a step, so not all the way.
    for lo in model.class_offsets_[2:-1]:
        present = np.exp(model.class_log_prior_[lo + 1]) - 0.5
        plain_present = np.exp(plain.class_log_prior_[lo + 1]) - 0.5
        assert abs(present) < abs(plain_present) and present * plain_present > 0
    weighted = _clf(class_weight={"tags": {"bug": 5.0}}, max_iter=1).fit(X, Y)
    bug = weighted.class_offsets_[2 + LABELS.index("bug")]
    assert (weighted.class_log_prior_[bug + 1]
            > plain.class_log_prior_[bug + 1])


def test_tune_thresholds_raises_f1_on_the_tuning_data(tickets, fitted):
    X, Y = tickets
    model = joblib.load(_dump(fitted))
    fitted_thresholds = fitted.thresholds_[2].copy()
    before = per_task_score(Y, model.predict(X), "f1_macro", zero_division=0)[2]
    assert model.tune_thresholds(X, Y) is model
    assert model.thresholds_[2].shape == (4,)
    assert not np.array_equal(model.thresholds_[2], fitted_thresholds)
    after = per_task_score(Y, model.predict(X), "f1_macro", zero_division=0)[2]
    assert after >= before
    # The fitted model was not touched.
    assert_array_equal(fitted.thresholds_[2], fitted_thresholds)


def _with_cells(Y, task, cells):
    """A copy of Y with some cells of one task replaced (by row position).

    Through a list: older pandas reads a tuple given to ``iloc`` as several
    values.
    """
    column = list(Y[task])
    for row, value in cells.items():
        column[row] = value
    values = np.empty(len(column), dtype=object)
    for row, value in enumerate(column):
        values[row] = value
    return Y.assign(**{task: pd.Series(values, index=Y.index, dtype=object)})


def _dump(model):
    import io

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    return buffer


def test_joblib_round_trip_keeps_label_sets(tickets, fitted):
    X, _ = tickets
    loaded = joblib.load(_dump(fitted))
    assert_array_equal(loaded.multilabel_, fitted.multilabel_)
    assert list(loaded.predict(X)[:, 2]) == list(fitted.predict(X)[:, 2])


def test_partial_fit_with_label_lists_in_classes(tickets):
    X, Y = tickets
    classes = {"topic": ["a", "b", "c"], "urgent": [0.0, 1.0],
               "tags": LABELS + ["spam"]}
    model = MultiTaskTextClassifier(random_state=0)
    with warnings.catch_warnings():
        # A batch need not hold every label: no warning about 'spam'.
        warnings.simplefilter("error")
        model.partial_fit(X[:150], Y[:150], classes=classes)
    assert_array_equal(model.classes_[2], LABELS + ["spam"])
    model.partial_fit(X[150:], Y[150:])
    assert model.t_ > 0
    bad = _with_cells(Y[150:], "tags", {0: ("nope",)})
    with pytest.raises(ValueError, match=r"Task 'tags' has labels \['nope'\]"):
        model.partial_fit(X[150:], bad)


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda Y: Y.assign(tags=Y["tags"].map(lambda c: "bug" if c else c)),
         TypeError, r"Task 'tags' is multi-label: its cells must be label "
                    r"collections"),
        (lambda Y: Y.assign(topic=Y["topic"].map(lambda c: (c,))),
         TypeError, r"Task 'topic' was fitted as a multiclass task"),
    ],
    ids=["string-in-multilabel-task", "collection-in-multiclass-task"],
)
def test_kind_changes_are_named_errors(tickets, fitted, change, error, match):
    X, Y = tickets
    model = joblib.load(_dump(fitted))
    before = model.head_coef_.copy()
    with pytest.raises(error, match=match):
        model.partial_fit(X, change(Y))
    assert_array_equal(model.head_coef_, before)


def test_unknown_label_at_score_names_the_task(tickets, fitted):
    X, Y = tickets
    bad = _with_cells(Y, "tags", {3: ("bug", "refund")})
    with pytest.raises(ValueError, match=r"Task 'tags' has labels \['refund'\]"):
        fitted.score(X, bad)


def test_mixed_cells_in_one_task_are_an_error(tickets):
    X, Y = tickets
    bad = _with_cells(Y, "tags", {0: "bug", 1: ("bug",)})
    with pytest.raises(TypeError, match=r"Task 'tags' mixes label collections"):
        _clf().fit(X, bad)


def test_a_label_in_every_sample_is_learned_as_a_constant(tickets):
    X, Y = tickets
    always = Y.assign(tags=Y["tags"].map(
        lambda c: None if c is None else tuple(sorted(set(c) | {"all"}))))
    with pytest.warns(UserWarning, match="'all' of task 'tags' is in every"):
        model = _clf().fit(X, always)
    assert all("all" in cell for cell in model.predict(X)[:, 2])


def test_a_task_with_one_class_is_learned_as_a_constant(tickets):
    X, Y = tickets
    one = Y.assign(topic=Y["topic"].where(Y["topic"].isna(), "a"))
    with pytest.warns(UserWarning, match="Task 'topic' has only one class"):
        model = _clf().fit(X, one)
    assert set(model.predict(X)[:, 0]) == {"a"}
    assert model.predict_proba(X)[0].shape == (X.shape[0], 1)


def test_a_single_task_with_one_class_stays_an_error(tickets):
    X, _ = tickets
    with pytest.raises(ValueError, match="y has only one class"):
        _clf().fit(X, np.ones(X.shape[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="y has only one class"):
            _clf().fit(X, ["a"] * X.shape[0])


def test_sample_weight_per_cell_reaches_every_label(tickets):
    X, Y = tickets
    weights = np.ones((X.shape[0], 3))
    weights[:, 2] = 0.0
    model = _clf(max_iter=2).fit(X, Y, sample_weight=weights)
    lo = model.class_offsets_[2]
    # Weighted 0, the tags' heads never move from their zero start...
    assert not np.any(model.head_coef_[lo:]) and not np.any(model.head_intercept_[lo:])
    # ...while a weight on the tags' cells trains every tag's head.
    weights[:, 2] = 1.0
    model = _clf(max_iter=2).fit(X, Y, sample_weight=weights)
    assert np.all(np.abs(model.head_coef_[lo:]).sum(axis=1) > 0)


def test_a_sparse_indicator_matrix_is_one_multilabel_task():
    X, Y = make_tickets()
    labelled = Y["tags"].notna().to_numpy()
    dense = _indicator(Y["tags"][labelled])
    dense[:, 3] = 0  # a label never present is still one of the task's
    indicator = sp.csr_matrix(dense)
    with pytest.warns(UserWarning, match="Label 3 of task 'task_0' is in no"):
        model = _clf().fit(X[labelled], indicator)
    assert_array_equal(model.classes_, [0, 1, 2, 3])
    predicted = model.predict(X[labelled])
    assert sp.issparse(predicted) and predicted.shape == indicator.shape
    assert model.predict_proba(X[:3]).shape == (3, 4)
    assert model.score(X[labelled], indicator) == pytest.approx(
        accuracy_score(indicator.toarray(), predicted.toarray()))
    with pytest.raises(ValueError, match="entries must be 0 or 1"):
        _clf().fit(X[labelled], indicator * 2)


def _ticket_texts(n_samples=200, seed=0):
    """Texts and a DataFrame of a multiclass, a binary and a multi-label task
    (missing cells '' in each: the sentinel model selection needs)."""
    rng = np.random.RandomState(seed)
    words = {"billing": "invoice refund charge", "bug": "crash error broken",
             "feature": "please add wish", "login": "password account locked"}
    texts, rows = [], []
    for _ in range(n_samples):
        tags = tuple(sorted(label for label in LABELS if rng.rand() < 0.35))
        text = " ".join(words[t] for t in tags) + " " + rng.choice(
            ["today", "again", "hello", "team"])
        urgent = "yes" if "bug" in tags or "login" in tags else "no"
        topic = "money" if "billing" in tags else "product"
        cells = [topic, urgent, tags]
        if rng.rand() < 0.3:
            cells[rng.randint(3)] = ""
        texts.append(text)
        rows.append(cells)
    return texts, pd.DataFrame(rows, columns=["topic", "urgent", "tags"])


def test_mixed_targets_through_pipeline_search_and_persistence(tmp_path):
    import skops.io as sio
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    texts, Y = _ticket_texts()
    pipe = make_pipeline(TfidfVectorizer(),
                         MultiTaskTextClassifier(random_state=0, missing_label=""))
    # An int cv makes scikit-learn guess the target's type by sorting all of
    # Y's cells, which tuples and strings cannot be, but LabelSets can.
    grid = {"multitasktextclassifier__n_components": [8, 16]}
    with pytest.raises(TypeError, match="not supported between"):
        GridSearchCV(pipe, grid, cv=5).fit(texts, Y)
    Y["tags"] = Y["tags"].map(lambda cell: cell if cell == "" else LabelSet(cell))
    search = GridSearchCV(pipe, grid, cv=5).fit(texts, Y)
    assert search.best_score_ > 0.6
    best = search.best_estimator_
    predicted = best.predict(texts)
    assert isinstance(predicted[0, 2], tuple)
    joblib.dump(best, tmp_path / "model.joblib")
    from_joblib = joblib.load(tmp_path / "model.joblib")
    sio.dump(best, tmp_path / "model.skops")
    untrusted = sio.get_untrusted_types(file=tmp_path / "model.skops")
    assert untrusted == ["skmtl._estimator.MultiTaskTextClassifier"]
    from_skops = sio.load(tmp_path / "model.skops", trusted=untrusted)
    for loaded in (from_joblib, from_skops):
        assert list(loaded.predict(texts)[:, 2]) == list(predicted[:, 2])
        assert_allclose(loaded.predict_proba(texts)[2], best.predict_proba(texts)[2])


def test_expected_f1_threshold_keeps_the_best_top_m():
    rng = np.random.RandomState(0)
    scores = rng.randn(50) * 2 - 1
    p = np.sort(1 / (1 + np.exp(-scores)))[::-1]
    expected = [2 * p[:m].sum() / (m + p.sum()) for m in range(1, 51)]
    m = int(np.argmax(expected)) + 1
    threshold = expected_f1_threshold(scores)
    assert (scores > threshold).sum() == m
    # Below one half: F1 favours predicting a label more often than accuracy.
    assert 1 / (1 + np.exp(-threshold)) < 0.5


def test_fit_lowers_a_frequent_labels_threshold_and_partial_fit_does_not():
    X, Y = make_tickets()
    model = _clf().fit(X, Y)
    # Tags present in about half the tickets: F1 wants them below one half.
    assert np.all(model.thresholds_[2] <= 0) and np.any(model.thresholds_[2] < 0)
    # Hinge scores are not logits: no expected F1 to read from them.
    hinge = _clf(loss="hinge", threshold_holdout=0).fit(X, Y)
    assert_array_equal(hinge.thresholds_[2], np.zeros(4))
    classes = [model.classes_[0], model.classes_[1], model.classes_[2]]
    stream = MultiTaskTextClassifier(random_state=0).partial_fit(X, Y, classes=classes)
    stream.partial_fit(X, Y)
    assert_array_equal(stream.thresholds_[2], np.zeros(4))


def test_tune_thresholds_refuses_a_model_without_two_class_heads(tickets):
    X, Y = tickets
    model = _clf(max_iter=2).fit(X, Y[["topic"]])
    with pytest.raises(ValueError, match="needs a multi-label or an imbalanced"):
        model.tune_thresholds(X, Y[["topic"]])
    fitted = _clf(max_iter=2).fit(X, Y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        fitted.tune_thresholds(X[:10], Y)


def test_label_sets_sort_beside_single_labels_and_refuse_a_string():
    from sklearn.utils.multiclass import type_of_target

    cells = np.array([["b", LabelSet(["y"]), "yes"],
                      ["", LabelSet(), "no"],
                      ["a", LabelSet(["x", "y"]), ""]], dtype=object)
    assert type_of_target(cells) == "multiclass-multioutput"
    assert sorted([LabelSet(["y"]), "b", LabelSet(), "a"]) == [
        "a", "b", LabelSet(), LabelSet(["y"])]
    assert "b" < LabelSet() and LabelSet() > 2 and not LabelSet(["z"]) < "a"
    assert LabelSet() < LabelSet(["x"]) < LabelSet(["y"])
    assert LabelSet(["x"]) == {"x"} and hash(LabelSet(["x"])) == hash(frozenset("x"))
    assert pickle.loads(pickle.dumps(LabelSet(["x"]))) == LabelSet(["x"])
    assert repr(LabelSet(["b", "a"])) == "LabelSet({'a', 'b'})"
    with pytest.raises(TypeError, match="LabelSet\\(\\[label\\]\\)"):
        LabelSet("ab")
    runner = doctest.DocTestRunner()
    for example in doctest.DocTestFinder().find(LabelSet):
        runner.run(example)
    assert runner.summarize(verbose=False) == (0, 4)
