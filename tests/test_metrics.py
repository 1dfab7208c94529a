import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn
from numpy.testing import assert_allclose
from sklearn.base import BaseEstimator
from sklearn.exceptions import UndefinedMetricWarning, UnsetMetadataPassedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    fbeta_score,
)
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    cross_val_score,
    cross_validate,
)

from skmtl._tasks import as_task_columns, missing_mask
from skmtl.metrics import (
    make_multitask_scorer,
    make_per_task_scorer,
    mean_task_score,
    per_task_score,
)


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
    expected = "'f1_macro', 'f1_micro', 'f1_samples', 'f1_weighted'"
    with pytest.raises(ValueError, match=expected):
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


class CountingPredictor(PerTaskLogisticRegression):
    """PerTaskLogisticRegression that counts its calls to ``predict``."""

    n_predict = 0

    def predict(self, X):
        type(self).n_predict += 1
        return super().predict(X)


def _demo_pipeline_data(step=7):
    """Every ``step``-th review of the demo corpus (all 4 tasks) and its weights."""
    from skmtl.datasets import load_demo_corpus

    bunch = load_demo_corpus(as_frame=True)
    texts, Y = bunch.data.iloc[::step], bunch.target.iloc[::step]
    # Far from uniform, so that weighted and unweighted accuracies differ.
    sample_weight = np.random.RandomState(0).rand(len(texts)) ** 4
    return texts.reset_index(drop=True), Y.reset_index(drop=True), sample_weight


def _demo_pipeline(fit_request=None):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    from skmtl import MultiTaskTextClassifier

    clf = MultiTaskTextClassifier(n_components=8, max_iter=5, random_state=0)
    if fit_request is not None:
        clf.set_fit_request(sample_weight=fit_request)
    return make_pipeline(TfidfVectorizer(), clf)


def _expected_fold_scores(texts, Y, cv, score_sample_weight=None, fit_weight=None):
    """Per-task scores of each fold, fitted and scored by hand."""
    from sklearn.base import clone

    per_fold = []
    for train, test in cv.split(texts):
        pipe = clone(_demo_pipeline())
        fit_params = {}
        if fit_weight is not None:
            fit_params["multitasktextclassifier__sample_weight"] = fit_weight[train]
        pipe.fit(texts.iloc[train], Y.iloc[train], **fit_params)
        weights = None if score_sample_weight is None else score_sample_weight[test]
        per_fold.append(
            per_task_score(
                Y.iloc[test], pipe.predict(texts.iloc[test]), sample_weight=weights
            )
        )
    return np.array(per_fold)


def test_per_task_scorer_predicts_once_and_names_tasks():
    X, Y = _make_multitask_data()
    estimator = CountingPredictor().fit(X, Y)
    scorer = make_per_task_scorer("f1_macro")
    CountingPredictor.n_predict = 0
    scores = scorer(estimator, X, Y)
    assert CountingPredictor.n_predict == 1
    expected = per_task_score(Y, estimator.predict(X), "f1_macro")
    assert list(scores) == ["task_0", "task_1", "mean"]
    assert_allclose([scores["task_0"], scores["task_1"]], expected)
    assert scores["mean"] == pytest.approx(expected.mean())

    # names: the estimator's task_names_ first, then a DataFrame's columns
    frame = pd.DataFrame(Y, columns=["spam", "lang"])
    assert list(scorer(estimator, X, frame)) == ["spam", "lang", "mean"]
    estimator.task_names_ = ["a", "b"]
    assert list(scorer(estimator, X, frame)) == ["a", "b", "mean"]
    estimator.task_names_ = ["mean", "b"]
    with pytest.raises(ValueError, match="A task is named 'mean'"):
        scorer(estimator, X, Y)


def test_per_task_scorer_repr_and_pickle():
    X, Y = _make_multitask_data()
    estimator = PerTaskLogisticRegression().fit(X, Y)
    scorer = make_per_task_scorer("balanced_accuracy", missing_label=-1)
    assert repr(scorer) == "make_per_task_scorer('balanced_accuracy', missing_label=-1)"
    unpickled = pickle.loads(pickle.dumps(scorer))
    assert unpickled(estimator, X, Y) == scorer(estimator, X, Y)


def test_per_task_scorer_in_cross_validate_through_a_pipeline():
    texts, Y, _ = _demo_pipeline_data()
    cv = KFold(3, shuffle=True, random_state=0)
    results = cross_validate(
        _demo_pipeline(), texts, Y, scoring=make_per_task_scorer(), cv=cv
    )
    expected = _expected_fold_scores(texts, Y, cv)
    for t, name in enumerate(Y.columns):
        assert_allclose(results[f"test_{name}"], expected[:, t])
    assert_allclose(results["test_mean"], expected.mean(axis=1))
    # the tasks are learnt: well above the 0.5 of a coin flip on average
    assert results["test_mean"].mean() > 0.6


def test_per_task_scorer_in_grid_search_refit_on_mean():
    X, Y = _make_multitask_data()
    CountingPredictor.n_predict = 0
    search = GridSearchCV(
        CountingPredictor(),
        {"C": [1e-3, 1.0]},
        scoring=make_per_task_scorer("f1_macro"),
        refit="mean",
        cv=3,
    ).fit(X, Y)
    # one predict per (candidate, fold): not one per task
    assert CountingPredictor.n_predict == 2 * 3
    results = search.cv_results_
    assert {"mean_test_task_0", "mean_test_task_1", "mean_test_mean"} <= set(results)
    assert search.best_params_ == {"C": 1.0}
    assert search.best_score_ == pytest.approx(results["mean_test_mean"].max())
    assert search.score(X, Y) == pytest.approx(
        mean_task_score(Y, search.predict(X), "f1_macro")
    )


@pytest.mark.parametrize("factory", [make_multitask_scorer, make_per_task_scorer])
def test_routing_delivers_sample_weight_to_the_scorer(factory):
    texts, Y, sample_weight = _demo_pipeline_data()
    cv = KFold(3, shuffle=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = factory().set_score_request(sample_weight=True)
        results = cross_validate(
            _demo_pipeline(fit_request=True),
            texts,
            Y,
            scoring=scorer,
            cv=cv,
            params={"sample_weight": sample_weight},
        )
    weighted = _expected_fold_scores(texts, Y, cv, sample_weight, sample_weight)
    unweighted = _expected_fold_scores(texts, Y, cv, None, sample_weight)
    key = "test_mean" if factory is make_per_task_scorer else "test_score"
    assert_allclose(results[key], weighted.mean(axis=1))
    assert not np.allclose(results[key], unweighted.mean(axis=1))
    if factory is make_per_task_scorer:
        for t, name in enumerate(Y.columns):
            assert_allclose(results[f"test_{name}"], weighted[:, t])


def test_without_routing_scorer_gets_no_weights_from_params():
    texts, Y, sample_weight = _demo_pipeline_data()
    cv = KFold(3, shuffle=True, random_state=0)
    results = cross_validate(
        _demo_pipeline(),
        texts,
        Y,
        scoring=make_per_task_scorer(),
        cv=cv,
        params={"multitasktextclassifier__sample_weight": sample_weight},
    )
    # the weights reach fit only, as for scikit-learn's own scorers
    unweighted = _expected_fold_scores(texts, Y, cv, None, sample_weight)
    assert_allclose(results["test_mean"], unweighted.mean(axis=1))


def test_routing_requests_are_validated_and_required():
    texts, Y, sample_weight = _demo_pipeline_data(step=20)
    with pytest.raises(RuntimeError, match="enable_metadata_routing=True"):
        make_multitask_scorer().set_score_request(sample_weight=True)
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_per_task_scorer()
        with pytest.raises(ValueError, match="alias"):
            scorer.set_score_request(sample_weight=3)
        assert scorer.set_score_request() is scorer
        request = scorer.get_metadata_routing()
        assert request.score.requests == {"sample_weight": None}
        # Requested neither way: an error, not weights silently dropped.
        with pytest.raises(UnsetMetadataPassedError, match="sample_weight"):
            cross_validate(
                _demo_pipeline(fit_request=True),
                texts,
                Y,
                scoring=scorer,
                cv=KFold(2, shuffle=True, random_state=0),
                params={"sample_weight": sample_weight},
            )
        # An alias routes metadata of another name.
        scorer.set_score_request(sample_weight="test_weight")
        assert scorer.get_metadata_routing().score.requests == {
            "sample_weight": "test_weight"
        }
        assert pickle.loads(pickle.dumps(scorer)).get_metadata_routing().score.requests
