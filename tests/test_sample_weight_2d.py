"""``sample_weight`` of shape (n_samples, n_tasks): a weight per (sample, task) cell."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.feature_extraction.text import TfidfVectorizer

from skmtl import MultiTaskTextClassifier
from skmtl._model import PARAMETERS
from skmtl.datasets import load_demo_corpus

FAST = dict(n_components=8, max_iter=3, random_state=0)
CLASSES = [np.array(["negative", "positive"])] * 4


@pytest.fixture(scope="module")
def demo():
    """600 demo training rows (one label each, 4 tasks) and 2-D weights."""
    texts, Y = load_demo_corpus(return_X_y=True)
    rows = np.random.RandomState(0).choice(len(texts), 600, replace=False)
    X = TfidfVectorizer(sublinear_tf=True).fit_transform([texts[i] for i in rows])
    weights = np.random.RandomState(1).uniform(0.1, 3.0, (600, 4))
    return X, Y[rows], weights


@pytest.fixture(scope="module")
def fully_labelled():
    """Two tasks labelled on every row: a row carries two cells."""
    rng = np.random.RandomState(0)
    X = sp.random(200, 30, density=0.2, format="csr", random_state=rng)
    Y = np.column_stack([rng.randint(0, 2, 200), rng.randint(0, 3, 200)])
    return X, Y


def _assert_same_fit(first, second):
    for name in PARAMETERS + ("loss_curve_", "best_loss_"):
        a, b = getattr(first, name), getattr(second, name)
        if a is None:
            assert b is None, name
        else:
            assert_array_equal(a, b, err_msg=name)


def _head(clf, task, name="head_intercept_"):
    offsets = clf.class_offsets_
    return getattr(clf, name)[offsets[task]:offsets[task + 1]]


@pytest.mark.parametrize("data", ["demo", "fully_labelled"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_repeated_row_weight_trains_as_the_1d_form(data, dtype, request):
    """2-D weights that repeat a 1-D weight across the tasks train bit for bit as
    the 1-D weight (rows carry equal numbers of labels here, so the median unit
    over labelled cells equals the one over rows)."""
    X, Y = request.getfixturevalue(data)[:2]
    X = X.astype(dtype)
    weight = np.random.RandomState(2).uniform(0.1, 3.0, X.shape[0])
    cells = np.repeat(weight[:, None], Y.shape[1], axis=1)
    clf = MultiTaskTextClassifier(**FAST, private=True)
    one_d = clf.fit(X, Y, sample_weight=weight)
    two_d = MultiTaskTextClassifier(**FAST, private=True).fit(
        X, Y, sample_weight=cells)
    _assert_same_fit(one_d, two_d)
    unweighted = MultiTaskTextClassifier(**FAST, private=True).fit(X, Y)
    assert not np.array_equal(unweighted.head_coef_, two_d.head_coef_)


def test_single_column_weight_for_a_single_task_2d_y(fully_labelled):
    X, Y = fully_labelled
    weight = np.random.RandomState(3).uniform(0.1, 3.0, X.shape[0])
    one_d = MultiTaskTextClassifier(**FAST).fit(X, Y[:, :1], sample_weight=weight)
    two_d = MultiTaskTextClassifier(**FAST).fit(X, Y[:, :1],
                                                sample_weight=weight[:, None])
    _assert_same_fit(one_d, two_d)


def test_zero_weight_on_a_task_leaves_its_head_where_it_started(demo):
    """A task whose cells all weigh 0 keeps its initial (zero) head, and its
    labels have no influence on the fit."""
    X, Y, weights = demo
    weights = weights.copy()
    weights[:, 2] = 0.0
    clf = MultiTaskTextClassifier(**FAST, private=True).fit(
        X, Y, sample_weight=weights)
    for name in ("head_intercept_", "head_coef_"):
        assert not np.any(_head(clf, 2, name)), name
        assert np.any(_head(clf, 1, name)), name
    assert not np.any(clf.private_coef_[:, clf.class_offsets_[2]:
                                        clf.class_offsets_[3]])
    # The model's own probabilities: the prior correction would shift them
    # by the task's label counts, which weights do not change.
    assert_allclose(clf.set_params(prior_correction=0).predict_proba(X)[2], 0.5)
    flipped = Y.copy()
    labelled = flipped[:, 2] != None  # noqa: E711 (an object array)
    flipped[labelled, 2] = np.where(flipped[labelled, 2] == "positive",
                                    "negative", "positive")
    other = MultiTaskTextClassifier(**FAST, private=True).fit(
        X, flipped, sample_weight=weights)
    _assert_same_fit(clf, other)


def test_weights_of_unlabelled_cells_are_ignored(demo):
    X, Y, weights = demo
    unlabelled = Y == None  # noqa: E711 (an object array)
    noisy = weights.copy()
    noisy[unlabelled] = np.random.RandomState(4).uniform(0, 1e9, unlabelled.sum())
    zeros = weights.copy()
    zeros[unlabelled] = 0.0
    _assert_same_fit(MultiTaskTextClassifier(**FAST).fit(X, Y, sample_weight=noisy),
                     MultiTaskTextClassifier(**FAST).fit(X, Y, sample_weight=zeros))


@pytest.mark.parametrize("factor", [1e-6, 1e12])
def test_scaling_every_cell_weight_leaves_predictions(demo, factor):
    X, Y, weights = demo
    clf = MultiTaskTextClassifier(**FAST).fit(X, Y, sample_weight=weights)
    scaled = MultiTaskTextClassifier(**FAST).fit(X, Y,
                                                 sample_weight=factor * weights)
    for p, q in zip(clf.predict_proba(X), scaled.predict_proba(X)):
        assert_allclose(p, q, rtol=1e-6, atol=1e-8)
    assert_array_equal(clf.predict(X), scaled.predict(X))


def test_cell_weights_change_the_fit(demo):
    """Per-cell weights differ from their rows' mean weight."""
    X, Y, weights = demo
    row_mean = np.repeat(weights.mean(axis=1)[:, None], 4, axis=1)
    cells = MultiTaskTextClassifier(**FAST).fit(X, Y, sample_weight=weights)
    rows = MultiTaskTextClassifier(**FAST).fit(X, Y, sample_weight=row_mean)
    assert not np.allclose(cells.head_coef_, rows.head_coef_)


def test_partial_fit_with_2d_weights(demo):
    """Batches with repeated row weights train as their 1-D form; the unit of
    the first call is kept (a later batch's scale shows in its steps)."""
    X, Y, weights = demo
    row = weights[:, 0]
    cells = np.repeat(row[:, None], 4, axis=1)
    models = []
    for w in (row, cells):
        clf = MultiTaskTextClassifier(**FAST)
        clf.partial_fit(X[:300], Y[:300], classes=CLASSES, sample_weight=w[:300])
        clf.partial_fit(X[300:], Y[300:], sample_weight=w[300:])
        models.append(clf)
    _assert_same_fit(*models)
    assert models[1]._sample_weight_scale == pytest.approx(np.median(row[:300]))
    light = MultiTaskTextClassifier(**FAST)
    light.partial_fit(X[:300], Y[:300], classes=CLASSES, sample_weight=cells[:300])
    light.partial_fit(X[300:], Y[300:], sample_weight=1e-3 * cells[300:])
    assert light._sample_weight_scale == models[1]._sample_weight_scale
    assert not np.allclose(light.head_coef_, models[1].head_coef_)


@pytest.mark.parametrize(
    "make_weight, message",
    [
        (lambda w: w[:, :3], r"shape \(600, 3\).*\(n_samples, n_tasks\) = \(600, 4\)"),
        (lambda w: w[:599], r"shape \(599, 4\).*\(600, 4\)"),
        (lambda w: np.where(np.arange(4) == 1, -1.0, w), "negative"),
        (lambda w: np.where(np.arange(4) == 1, np.nan, w), "sample_weight.*NaN"),
        (lambda w: np.where(np.arange(4) == 1, np.inf, w), "sample_weight.*infinity"),
        (lambda w: np.zeros_like(w), "at least one non-zero"),
    ],
    ids=["tasks", "samples", "negative", "nan", "inf", "zeros"],
)
def test_invalid_2d_weights_are_refused(demo, make_weight, message):
    X, Y, weights = demo
    clf = MultiTaskTextClassifier(**FAST)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, Y, sample_weight=make_weight(weights))
    with pytest.raises(ValueError, match=message):
        clf.partial_fit(X, Y, classes=CLASSES, sample_weight=make_weight(weights))
    assert not hasattr(clf, "shared_coef_")


def test_only_unlabelled_cells_weighted_is_refused(demo):
    X, Y, _ = demo
    weights = (Y == None).astype(float)  # noqa: E711 (an object array)
    with pytest.raises(ValueError, match="at least one non-zero"):
        MultiTaskTextClassifier(**FAST).fit(X, Y, sample_weight=weights)


def test_2d_weight_for_a_1d_y_is_refused(fully_labelled):
    X, Y = fully_labelled
    with pytest.raises(ValueError, match="y is 1-D.*sample_weight of shape"):
        MultiTaskTextClassifier(**FAST).fit(X, Y[:, 0],
                                            sample_weight=np.ones((200, 1)))
