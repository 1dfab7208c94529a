import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.base import BaseEstimator
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    fbeta_score,
)
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from skmtl._tasks import as_task_columns, missing_mask
from skmtl.metrics import make_multitask_scorer, mean_task_score, per_task_score


class PerTaskLogisticRegression(BaseEstimator):
    """Stand-in multi-task estimator: one LogisticRegression per task.

    Each task is fit on its labelled rows; ``predict`` returns an object array of
    shape (n_samples, n_tasks). Defined at module level so that loky can pickle it.
    Not a ``ClassifierMixin``: for a classifier, ``cv=3`` makes scikit-learn call
    ``type_of_target`` on Y, which fails on partially labelled multi-task targets.
    """

    def __init__(self, C=1.0):
        self.C = C

    def fit(self, X, Y):
        columns, _, _ = as_task_columns(Y)
        self.estimators_ = []
        for column in columns:
            labelled = ~missing_mask(column)
            y = np.asarray(column[labelled].tolist())
            self.estimators_.append(LogisticRegression(C=self.C).fit(X[labelled], y))
        return self

    def predict(self, X):
        Y_pred = np.empty((X.shape[0], len(self.estimators_)), dtype=object)
        for t, estimator in enumerate(self.estimators_):
            Y_pred[:, t] = estimator.predict(X)
        return Y_pred


def _make_multitask_data(n_samples=90, seed=0):
    """X and an object Y with an int task and a string task, ~20% missing."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n_samples, 3)
    Y = np.empty((n_samples, 2), dtype=object)
    Y[:, 0] = (X[:, 0] + 0.5 * rng.randn(n_samples) > 0).astype(int).tolist()
    Y[:, 1] = np.where(X[:, 1] + 0.5 * rng.randn(n_samples) > 0, "pos", "neg")
    Y[rng.rand(n_samples) < 0.2, 0] = None
    Y[rng.rand(n_samples) < 0.2, 1] = np.nan
    return X, Y


def test_per_task_accuracy_none_nan_pd_na_mixed_types():
    Y_true = np.array(
        [
            [0, "a"],
            [1, None],
            [None, "b"],
            [np.nan, "b"],
            [pd.NA, pd.NA],
            [1, "a"],
        ],
        dtype=object,
    )
    Y_pred = np.array(
        [[0, "a"], [0, "b"], [1, "a"], [1, "b"], [0, "a"], [1, "b"]], dtype=object
    )
    # task 0: rows 0, 1, 5 -> 2/3; task 1: rows 0, 2, 3, 5 -> 2/4
    assert_allclose(per_task_score(Y_true, Y_pred), [2 / 3, 1 / 2])
    assert mean_task_score(Y_true, Y_pred) == pytest.approx(7 / 12)
    # plain nested lists keep the int task as ints
    assert_allclose(per_task_score(Y_true.tolist(), Y_pred.tolist()), [2 / 3, 1 / 2])


def test_per_task_accuracy_int_sentinel():
    Y_true = np.array([[0, -1], [1, 1], [-1, 0], [1, 1], [0, 0]])
    Y_pred = np.array([[0, 0], [1, 0], [0, 0], [0, 1], [0, 1]])
    assert_allclose(per_task_score(Y_true, Y_pred, missing_label=-1), [3 / 4, 1 / 2])
    # without the sentinel, -1 is an ordinary (wrongly predicted) class
    assert_allclose(per_task_score(Y_true, Y_pred), [3 / 5, 2 / 5])


def test_per_task_accuracy_string_sentinel_leaves_int_task_alone():
    Y_true = np.array([[1, ""], [0, "x"], [1, "y"], [0, "x"]], dtype=object)
    Y_pred = np.array([[1, "x"], [1, "x"], [1, "x"], [0, "y"]], dtype=object)
    assert_allclose(per_task_score(Y_true, Y_pred, missing_label=""), [3 / 4, 1 / 3])


def test_per_task_accuracy_dataframe_nullable_int():
    Y_true = pd.DataFrame(
        {
            "topic": pd.array([0, 1, pd.NA, 2], dtype="Int64"),
            "lang": ["en", None, "fr", "fr"],
        }
    )
    Y_pred = np.empty((4, 2), dtype=object)
    Y_pred[:, 0] = np.array([0, 2, 1, 2], dtype=np.int64)
    Y_pred[:, 1] = ["en", "fr", "fr", "fr"]
    # topic: rows 0, 1, 3 -> 2/3; lang: rows 0, 2, 3 -> 3/3
    assert_allclose(per_task_score(Y_true, Y_pred), [2 / 3, 1.0])


def test_object_int_true_labels_match_int64_predictions():
    y_true = np.array([1, None, 2, 2], dtype=object)
    y_pred = np.array([1, 1, 2, 1], dtype=np.int64)
    assert_allclose(per_task_score(y_true, y_pred), [2 / 3])
    expected = f1_score([1, 2, 2], [1, 2, 1], average="macro")
    assert_allclose(per_task_score(y_true, y_pred, "f1_macro"), [expected])


@pytest.mark.parametrize(
    "name, reference",
    [
        ("accuracy", accuracy_score),
        ("balanced_accuracy", balanced_accuracy_score),
        ("f1_macro", lambda y, p: f1_score(y, p, average="macro")),
        ("f1_micro", lambda y, p: f1_score(y, p, average="micro")),
        ("f1_weighted", lambda y, p: f1_score(y, p, average="weighted")),
    ],
)
def test_named_scores_match_sklearn_on_labelled_subset(name, reference):
    rng = np.random.RandomState(0)
    Y_true = rng.randint(3, size=(50, 2)).astype(float)
    Y_true[rng.rand(50) < 0.3, 0] = np.nan
    Y_true[rng.rand(50) < 0.3, 1] = np.nan
    Y_pred = rng.randint(3, size=(50, 2))
    expected = []
    for t in range(2):
        labelled = ~np.isnan(Y_true[:, t])
        expected.append(reference(Y_true[labelled, t], Y_pred[labelled, t]))
    assert_allclose(per_task_score(Y_true, Y_pred, name), expected)
    assert mean_task_score(Y_true, Y_pred, name) == pytest.approx(np.mean(expected))


def test_callable_score_func_and_kwargs():
    y_true = [0, 1, None, 1, 0]
    y_pred = [0, 1, 1, 0, 1]
    score = per_task_score(y_true, y_pred, fbeta_score, beta=2, average="macro")
    expected = fbeta_score([0, 1, 1, 0], [0, 1, 0, 1], beta=2, average="macro")
    assert_allclose(score, [expected])


def test_sample_weight_is_masked_per_task():
    Y_true = np.array([[0, 1], [1, None], [None, 0], [1, 1]], dtype=object)
    Y_pred = np.array([[0, 0], [0, 0], [1, 0], [1, 1]])
    sample_weight = [1.0, 2.0, 3.0, 4.0]
    # task 0: rows 0 (ok, w=1), 1 (wrong, w=2), 3 (ok, w=4) -> 5/7
    # task 1: rows 0 (wrong, w=1), 2 (ok, w=3), 3 (ok, w=4) -> 7/8
    scores = per_task_score(Y_true, Y_pred, sample_weight=sample_weight)
    assert_allclose(scores, [5 / 7, 7 / 8])
    assert_allclose(per_task_score(Y_true, Y_pred), [2 / 3, 2 / 3])
    mean = mean_task_score(Y_true, Y_pred, sample_weight=sample_weight)
    assert mean == pytest.approx((5 / 7 + 7 / 8) / 2)


@pytest.mark.parametrize(
    "y_true",
    [
        [0, 1, None, 1],
        np.array([0.0, 1.0, np.nan, 1.0]),
        pd.Series(pd.array([0, 1, pd.NA, 1], dtype="Int64")),
    ],
)
def test_1d_targets(y_true):
    y_pred = np.array([0, 0, 1, 1])
    assert_allclose(per_task_score(y_true, y_pred), [2 / 3])
    assert mean_task_score(y_true, y_pred) == pytest.approx(2 / 3)


def test_task_without_true_label_is_nan_with_warning():
    Y_true = pd.DataFrame({"topic": [0, 1, 1], "lang": [None, None, None]})
    Y_pred = np.array([[0, "en"], [1, "en"], [0, "fr"]], dtype=object)
    with pytest.warns(UndefinedMetricWarning, match="'lang'"):
        scores = per_task_score(Y_true, Y_pred)
    assert_allclose(scores, [2 / 3, np.nan])
    with pytest.warns(UndefinedMetricWarning):
        assert mean_task_score(Y_true, Y_pred) == pytest.approx(2 / 3)
    with pytest.warns(UndefinedMetricWarning, match="'task_0'"):
        assert np.isnan(mean_task_score([None, None], [0, 1]))


@pytest.mark.parametrize(
    "Y_true, Y_pred, sample_weight, match",
    [
        ([[0, 1], [1, 0], [1, 1]], [[0, 1], [1, 0]], None, "numbers of samples: 3 "),
        ([[0, 1], [1, 0]], [[0, 1, 0], [1, 0, 1]], None, "numbers of tasks: 2 and 3"),
        ([0, 1], [[0, 1], [1, 0]], None, "numbers of tasks: 1 and 2"),
        ([0, 1, 1], [0, 1, 0], [1.0, 2.0], r"sample_weight has shape \(2,\)"),
    ],
)
def test_shape_mismatch_raises(Y_true, Y_pred, sample_weight, match):
    with pytest.raises(ValueError, match=match):
        per_task_score(Y_true, Y_pred, sample_weight=sample_weight)


@pytest.mark.parametrize("score_func", ["roc_auc", None, 3])
def test_invalid_score_func_raises(score_func):
    with pytest.raises(ValueError, match="'accuracy', 'balanced_accuracy'"):
        per_task_score([0, 1], [0, 1], score_func)
    with pytest.raises(ValueError, match="'f1_macro', 'f1_micro', 'f1_weighted'"):
        make_multitask_scorer(score_func)


def test_scorer_repr_call_and_pickle():
    X, Y = _make_multitask_data()
    estimator = PerTaskLogisticRegression().fit(X, Y)
    scorer = make_multitask_scorer("f1_macro", missing_label=-1)
    assert repr(scorer) == "make_multitask_scorer('f1_macro', missing_label=-1)"
    expected = mean_task_score(Y, estimator.predict(X), "f1_macro")
    assert scorer(estimator, X, Y) == pytest.approx(expected)
    assert isinstance(scorer(estimator, X, Y), float)

    sample_weight = np.linspace(0.1, 1.0, X.shape[0])
    expected = mean_task_score(
        Y, estimator.predict(X), "f1_macro", sample_weight=sample_weight
    )
    assert scorer(estimator, X, Y, sample_weight=sample_weight) == pytest.approx(
        expected
    )

    unpickled = pickle.loads(pickle.dumps(scorer))
    assert repr(unpickled) == repr(scorer)
    assert unpickled(estimator, X, Y) == scorer(estimator, X, Y)

    scorer = make_multitask_scorer(fbeta_score, beta=2, average="macro")
    assert repr(scorer) == "make_multitask_scorer(fbeta_score, beta=2, average='macro')"
    assert pickle.loads(pickle.dumps(scorer))(estimator, X, Y) == scorer(
        estimator, X, Y
    )


def test_scorer_in_cross_val_score():
    X, Y = _make_multitask_data()
    scorer = make_multitask_scorer("balanced_accuracy")
    scores = cross_val_score(PerTaskLogisticRegression(), X, Y, scoring=scorer, cv=3)
    expected = []
    for train, test in KFold(3).split(X):
        estimator = PerTaskLogisticRegression().fit(X[train], Y[train])
        expected.append(
            mean_task_score(Y[test], estimator.predict(X[test]), "balanced_accuracy")
        )
    assert_allclose(scores, expected)
    assert 0.5 < scores.mean() <= 1.0


def test_scorer_in_grid_search_with_loky():
    X, Y = _make_multitask_data()
    search = GridSearchCV(
        PerTaskLogisticRegression(),
        {"C": [1e-3, 1.0]},
        scoring=make_multitask_scorer("f1_macro"),
        cv=3,
        n_jobs=2,
    ).fit(X, Y)
    mean_test_score = search.cv_results_["mean_test_score"]
    assert np.isfinite(mean_test_score).all()
    assert search.best_params_ == {"C": 1.0}
    assert search.best_score_ == pytest.approx(mean_test_score.max())
    assert search.score(X, Y) == pytest.approx(
        mean_task_score(Y, search.predict(X), "f1_macro")
    )
