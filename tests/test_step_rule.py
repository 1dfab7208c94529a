"""The step rule's invariances: no weight, row, scale or number of tasks freezes SGD.

Each test trains on the bundled demo corpus (4 review domains, one label per
review) split once into train and test, and compares two fits that the step
rule must make alike.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from skmtl import MultiTaskTextClassifier, _training
from skmtl.datasets import load_demo_corpus


@pytest.fixture(scope="module")
def demo_split():
    texts, Y = load_demo_corpus(return_X_y=True, missing_label="")
    order = np.random.default_rng(0).permutation(len(texts))
    texts, Y = [texts[i] for i in order], Y[order]
    n_train = 4000
    return texts[:n_train], Y[:n_train], texts[n_train:], Y[n_train:]


@pytest.fixture(scope="module")
def demo_tfidf(demo_split):
    train, Y_train, test, Y_test = demo_split
    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
    return (vectorizer.fit_transform(train), Y_train, vectorizer.transform(test),
            Y_test)


def _model(**params):
    return MultiTaskTextClassifier(random_state=0, missing_label="", **params)


@pytest.mark.parametrize("factor", [1e-6, 1e12])
def test_scaling_every_sample_weight_leaves_the_fit_unchanged(demo_tfidf, factor):
    X, Y, X_test, _ = demo_tfidf
    weights = np.random.default_rng(0).uniform(0.5, 2.0, X.shape[0])
    reference = _model().fit(X, Y, sample_weight=weights)
    scaled = _model().fit(X, Y, sample_weight=weights * factor)
    for ours, theirs in zip(scaled.decision_function(X_test),
                            reference.decision_function(X_test)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("factor", [2.0**-20, 1e-3, 1e3, 2.0**20])
def test_scaling_x_leaves_the_fit_unchanged(demo_tfidf, factor):
    # Rows are measured in units of the training rows' median norm, so X * c
    # trains the model of X with W and U divided by c: the same logits.
    X, Y, X_test, _ = demo_tfidf
    reference = _model().fit(X, Y)
    scaled = _model().fit(X * factor, Y)
    for ours, theirs in zip(scaled.decision_function(X_test * factor),
                            reference.decision_function(X_test)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(scaled.predict(X_test * factor),
                                  reference.predict(X_test))


def test_tfidf_rows_of_unit_l1_norm_train_as_well_as_unit_l2_norm(demo_split):
    # Their squared norms are about 0.01: measured against a unit of 1, every
    # step was a hundredth of the L2 rows' and the model stayed at chance.
    train, Y_train, test, Y_test = demo_split
    scores = {}
    for norm in ("l1", "l2"):
        vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2),
                                     min_df=2, norm=norm)
        model = _model().fit(vectorizer.fit_transform(train), Y_train)
        scores[norm] = model.score(vectorizer.transform(test), Y_test)
    assert scores["l1"] > scores["l2"] - 0.02


def test_one_outlier_row_does_not_change_how_the_others_train(demo_tfidf):
    X, Y, X_test, Y_test = demo_tfidf
    scale = np.ones(X.shape[0])
    scale[0] = 1e3
    with_outlier = sp.diags(scale) @ X
    clean = _model().fit(X, Y).score(X_test, Y_test)
    assert _model().fit(with_outlier, Y).score(X_test, Y_test) == pytest.approx(
        clean, abs=0.01
    )


@pytest.mark.parametrize("max_iter", ["auto", 30])
def test_raw_counts_train_within_a_few_points_of_tfidf(demo_split, demo_tfidf,
                                                       max_iter):
    # 'auto' runs 20 epochs here. Without the norm floor, raw counts trained
    # to 0.82 in 10 epochs but to 0.69 in 20 (the loss rose after epoch 8).
    train, Y_train, test, Y_test = demo_split
    counts = CountVectorizer(ngram_range=(1, 2), min_df=2)
    X_counts = counts.fit_transform(train)
    X, _, X_test, _ = demo_tfidf
    tfidf_score = _model(max_iter=max_iter).fit(X, Y_train).score(X_test, Y_test)
    counts_score = _model(max_iter=max_iter).fit(X_counts, Y_train).score(
        counts.transform(test), Y_test
    )
    assert counts_score > tfidf_score - 0.05


def test_the_norm_floor_is_the_median_row_and_kept_by_partial_fit(demo_split,
                                                                   demo_tfidf):
    train, Y_train, _, _ = demo_split
    X_counts = CountVectorizer().fit_transform(train)
    norms2 = np.asarray(X_counts.multiply(X_counts).sum(axis=1)).ravel()
    assert _model(max_iter=1).fit(X_counts, Y_train)._x_norm2_floor == (
        np.median(norms2[norms2 > 0]))
    # Unit-norm rows: a unit of 1.
    X, Y, _, _ = demo_tfidf
    assert _model(max_iter=1).fit(X, Y)._x_norm2_floor == pytest.approx(1.0)
    # A later batch of longer rows does not change the earlier rows' steps.
    classes = [np.unique(Y[:, t][Y[:, t] != ""]) for t in range(Y.shape[1])]
    stream = _model().partial_fit(X_counts[:2000], Y_train[:2000], classes=classes)
    first = stream._x_norm2_floor
    stream.partial_fit(10 * X_counts[2000:], Y_train[2000:])
    assert stream._x_norm2_floor == first > 1


def _rows_of(n_features_per_row, n_rows=40, n_features=400, seed=0):
    """Unit-norm rows of ``n_features_per_row`` random features."""
    rng = np.random.default_rng(seed)
    indices = np.concatenate([rng.choice(n_features, n_features_per_row, replace=False)
                              for _ in range(n_rows)])
    indptr = np.arange(n_rows + 1) * n_features_per_row
    data = np.full(len(indices), 1 / np.sqrt(n_features_per_row))
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_features))


@pytest.mark.parametrize("n_features_per_row, expected",
                         [(4, 1.0), (25, 1.0), (49, 1.4), (100, 2.0), (300, 2.0)])
def test_the_step_scale_grows_with_the_rows_length(n_features_per_row, expected):
    X = _rows_of(n_features_per_row)
    y = np.arange(X.shape[0]) % 2
    model = MultiTaskTextClassifier(max_iter=1, random_state=0).fit(X, y)
    assert model._step_scale == pytest.approx(expected)


def test_long_rows_scale_the_private_part_s_step_only(monkeypatch):
    X = _rows_of(100)
    y = np.arange(X.shape[0]) % 3
    seen = []
    epoch = _training._sgd_fast.sgd_epoch

    def spy(*args, **kwargs):
        seen.append((kwargs["eta0"], kwargs["private_step_scale"]))
        return epoch(*args, **kwargs)

    monkeypatch.setattr(_training._sgd_fast, "sgd_epoch", spy)
    scaled = MultiTaskTextClassifier(max_iter=2, threshold_holdout=0,
                                     random_state=0).fit(X, y)
    assert seen and set(seen) == {(0.5, 2.0)}
    monkeypatch.setattr(_training, "STEP_SCALE_RANGE", (1.0, 1.0))
    unscaled = MultiTaskTextClassifier(max_iter=2, threshold_holdout=0,
                                       random_state=0).fit(X, y)
    assert not np.allclose(scaled.private_coef_, unscaled.private_coef_)


def test_partial_fit_keeps_the_first_batch_s_step_scale():
    short, long = _rows_of(4), _rows_of(100)
    y = np.arange(short.shape[0]) % 2
    stream = MultiTaskTextClassifier(random_state=0).partial_fit(short, y,
                                                                  classes=[0, 1])
    stream.partial_fit(long, y)
    assert stream._step_scale == 1.0
    # A model saved before the scale existed keeps the step it had.
    stream = MultiTaskTextClassifier(random_state=0).fit(long, y)
    del stream._step_scale
    stream.partial_fit(long, y)
    assert stream._step_scale == 1.0
    # fit starts over with its own rows' scale.
    assert stream.fit(long, y)._step_scale == 2.0


def test_a_failed_fit_keeps_the_step_scale():
    short, long = _rows_of(4), _rows_of(100)
    y = np.arange(short.shape[0]) % 2
    model = MultiTaskTextClassifier(random_state=0, warm_start=True).fit(short, y)
    model.set_params(eta0=1e300, learning_rate="constant", penalty=None)
    with pytest.raises(ValueError, match="diverged"):
        model.fit(long * 1e150, y)
    assert model._step_scale == 1.0


def test_each_of_many_repeated_tasks_trains_as_well_as_the_original(demo_tfidf):
    # The same 4 tasks 10 times over: a head must not move 10 times slower.
    X, Y, X_test, Y_test = demo_tfidf
    original = _model().fit(X, Y)
    repeated = _model().fit(X, np.tile(Y, 10))
    expected = original.score(X_test, Y_test)
    predicted = repeated.predict(X_test)
    for copy in range(10):
        accuracies = []
        for t in range(4):
            rows = Y_test[:, t] != ""
            accuracies.append(
                np.mean(predicted[rows, 4 * copy + t] == Y_test[rows, t])
            )
        assert np.mean(accuracies) == pytest.approx(expected, abs=0.02), copy


def test_a_small_task_does_not_slow_down_a_large_one(demo_tfidf):
    # Task 0 keeps 30 labels, the others all theirs: the old global step rule
    # shrank every step by the small task's up-weighting (n / n_t).
    X, Y, X_test, Y_test = demo_tfidf
    Y_small = Y.copy()
    labelled = np.flatnonzero(Y[:, 0] != "")
    Y_small[labelled[30:], 0] = ""
    full, small = _model().fit(X, Y), _model().fit(X, Y_small)

    def large_tasks_accuracy(model):
        predicted = model.predict(X_test)
        return np.mean([
            np.mean(predicted[Y_test[:, t] != "", t] == Y_test[Y_test[:, t] != "", t])
            for t in range(1, 4)
        ])

    assert large_tasks_accuracy(small) > large_tasks_accuracy(full) - 0.02


def test_one_heavy_sample_does_not_throw_the_model_off(demo_tfidf):
    X, Y, X_test, Y_test = demo_tfidf
    weights = np.ones(X.shape[0])
    weights[0] = 1e6
    clean = _model().fit(X, Y).score(X_test, Y_test)
    heavy = _model().fit(X, Y, sample_weight=weights).score(X_test, Y_test)
    assert heavy == pytest.approx(clean, abs=0.01)


def test_a_model_saved_without_the_norm_floor_takes_its_batch_s(demo_split):
    # Models fitted before the floor existed have no _x_norm2_floor.
    train, Y_train, _, _ = demo_split
    X_counts = CountVectorizer().fit_transform(train)
    model = _model(max_iter=1).fit(X_counts[:2000], Y_train[:2000])
    del model._x_norm2_floor
    model.partial_fit(X_counts[2000:], Y_train[2000:])
    norms2 = np.asarray(X_counts[2000:].multiply(X_counts[2000:]).sum(axis=1)).ravel()
    assert model._x_norm2_floor == np.median(norms2[norms2 > 0])
