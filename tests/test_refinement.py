"""Tasks that refine others: detection, the mixed probabilities and the fit."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.preprocessing import normalize

from skmtl import MultiTaskTextClassifier
from skmtl._model import log_softmax
from skmtl._refinement import (
    WEIGHTS,
    best_weight,
    finer_heads,
    no_refinements,
    refined_log_proba,
)
from skmtl._tasks import MISSING


def topics(n_samples=900, n_fine=6, n_coarse=3, coarse_share=0.15, seed=0):
    """Rows of two words of one of ``n_fine`` topics and eight noise words: a
    fine task (the topic, labelled on every row) and a coarse task (the topic
    modulo ``n_coarse``, labelled on ``coarse_share`` of the rows)."""
    rng = np.random.RandomState(seed)
    n_words, per_topic = 120, 10
    fine = rng.randint(n_fine, size=n_samples)
    rows, cols = [], []
    for i, topic in enumerate(fine):
        words = np.r_[topic * per_topic + rng.choice(per_topic, 2, replace=False),
                      rng.choice(n_words, 8, replace=False)]
        rows += [i] * len(words)
        cols += list(words)
    X = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_samples, n_words))
    X.sum_duplicates()
    X = normalize(X)
    coarse = np.where(rng.rand(n_samples) < coarse_share, fine % n_coarse, -1)
    return X, np.column_stack([fine, coarse])


def fitted(X, Y, **params):
    return MultiTaskTextClassifier(random_state=0, missing_label=-1, **params).fit(X, Y)


def split(X, Y, n_test=300):
    return X[:-n_test], Y[:-n_test], X[-n_test:], Y[-n_test:]


def without_refinements(model):
    copy = pickle.loads(pickle.dumps(model))
    vars(copy).update(no_refinements(copy.n_tasks_))
    return copy


# ------------------------------------------------------------ finding them

def test_finer_heads_finds_the_finest_function_of_classes():
    fine = np.array([0, 1, 2, 3, 4, 5, 0, 3])
    middle = fine // 2          # 3 classes
    coarse = np.array([0, 0, 0, 1, 1, 1, 0, 1])   # fine // 3
    Y = np.column_stack([coarse, middle, fine])
    finer, maps = finer_heads(Y, np.array([2, 3, 6]), np.ones(3, dtype=bool))
    assert_array_equal(finer, [2, 2, -1])
    assert_array_equal(maps[0], [0, 0, 0, 1, 1, 1])
    assert_array_equal(maps[1], [0, 0, 1, 1, 2, 2])


@pytest.mark.parametrize("case", ["two coarse classes for one finer class",
                                  "a finer class never labelled for both",
                                  "a nested task", "not a candidate"])
def test_finer_heads_leaves_tasks_that_are_not_refined(case):
    fine = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    coarse = fine // 2
    candidates = np.ones(2, dtype=bool)
    if case == "two coarse classes for one finer class":
        coarse[-1] = 0
    elif case == "a finer class never labelled for both":
        coarse[fine == 3] = MISSING
    elif case == "a nested task":
        # Labelled only where the coarse task is 1: its classes reach only 1.
        fine = np.where(coarse == 1, fine, MISSING)
    else:
        candidates[1] = False
    finer, maps = finer_heads(np.column_stack([coarse, fine]), np.array([2, 4]),
                              candidates)
    assert_array_equal(finer, [-1, -1])
    assert maps == [None, None]


# ------------------------------------------------------- the mixed probabilities

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_refined_log_proba_mixes_the_two_estimates(dtype):
    rng = np.random.RandomState(0)
    own, finer = rng.randn(5, 2).astype(dtype), rng.randn(5, 4).astype(dtype)
    class_map = np.array([0, 1, 1, 0])
    summed = np.exp(log_softmax(finer.astype(np.float64))) @ np.eye(2)[class_map]
    for weight in (0.0, 0.3, 1.0):
        out = refined_log_proba(own, finer, class_map, weight)
        assert out.dtype == dtype
        expected = ((1 - weight) * log_softmax(own.astype(np.float64))
                    + weight * np.log(summed))
        assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_best_weight_follows_the_better_estimate():
    rng = np.random.RandomState(0)
    codes = rng.randint(2, size=400)
    informative = 4.0 * np.eye(2)[codes]
    noise = rng.randn(400, 2)
    class_map = np.array([0, 1])
    assert best_weight(noise, informative, class_map, codes) == WEIGHTS[-1]
    assert best_weight(informative, noise, class_map, codes) == 0.0


# ------------------------------------------------------------------ the fit

def test_a_coarse_task_with_few_labels_reads_its_finer_task():
    X_train, Y_train, X_test, Y_test = split(*topics())
    model = fitted(X_train, Y_train)
    assert_array_equal(model.refined_by_, [-1, 0])
    assert model.refinement_weight_[0] == 0 and 0 < model.refinement_weight_[1] <= 1
    # The coarse task's few labels train its own head worse than the fine
    # task's head, which learns the same topics from every row.
    truth = Y_test[:, 0] % 3
    refined = model.predict(X_test)[:, 1]
    alone = without_refinements(model).predict(X_test)[:, 1]
    assert np.mean(refined == truth) > np.mean(alone == truth) + 0.05


def test_decisions_of_a_refined_task_agree_with_its_probabilities():
    X, Y = topics()
    model = fitted(X, Y)
    assert model.refined_by_[1] == 0
    proba, scores = model.predict_proba(X)[1], model.decision_function(X)[1]
    predicted = model.predict(X)[:, 1]
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_array_equal(model.classes_[1][proba.argmax(axis=1)], predicted)
    assert_array_equal(model.classes_[1][scores.argmax(axis=1)], predicted)
    assert_allclose(proba, np.exp(log_softmax(scores)), rtol=1e-6)


def test_a_float32_model_refines_in_float32():
    X, Y = topics()
    model = fitted(X.astype(np.float32), Y)
    assert model.refined_by_[1] == 0
    assert model.predict_proba(X.astype(np.float32))[1].dtype == np.float32


@pytest.mark.parametrize("params", [{"threshold_holdout": 0}, {"loss": "log_loss"},
                                    {"loss": "modified_huber"}])
def test_without_calibrated_held_out_probabilities_no_task_is_refined(params):
    X, Y = topics()
    model = fitted(X, Y, **params)
    assert_array_equal(model.refined_by_, [-1, -1])
    assert_array_equal(model.refinement_weight_, [0.0, 0.0])


def test_unrelated_and_nested_tasks_are_not_refined():
    X, Y = topics()
    rng = np.random.RandomState(1)
    unrelated = rng.randint(3, size=len(Y))
    nested = np.where(Y[:, 0] % 3 == 0, Y[:, 0], -1)   # labelled under one class
    model = MultiTaskTextClassifier(random_state=0, missing_label=-1).fit(
        X, np.column_stack([Y[:, 0], unrelated, nested]))
    assert_array_equal(model.refined_by_, [-1, -1, -1])


def test_partial_fit_keeps_the_refinements_of_a_fit():
    X, Y = topics()
    model = fitted(X, Y)
    refined_by, weight = model.refined_by_.copy(), model.refinement_weight_.copy()
    model.partial_fit(X, Y)
    assert_array_equal(model.refined_by_, refined_by)
    assert_array_equal(model.refinement_weight_, weight)
    started = MultiTaskTextClassifier(random_state=0, missing_label=-1).partial_fit(
        X, Y, classes=[np.arange(6), np.arange(3)])
    assert_array_equal(started.refined_by_, [-1, -1])


def test_a_model_saved_before_refinements_predicts_and_trains():
    X, Y = topics()
    model = fitted(X, Y)
    alone = without_refinements(model)
    old = pickle.loads(pickle.dumps(model))
    for name in no_refinements(1):
        delattr(old, name)
    assert_array_equal(old.predict(X), alone.predict(X))
    old.partial_fit(X, Y)
    assert_array_equal(old.refined_by_, [-1, -1])


def test_setting_a_task_apart_decides_it_alone():
    X, Y = topics()
    model = fitted(X, Y)
    alone = without_refinements(model)
    model.refined_by_[1], model.refinement_weight_[1] = -1, 0.0
    assert_array_equal(model.predict(X), alone.predict(X))
    assert_allclose(model.predict_proba(X)[1], alone.predict_proba(X)[1])
