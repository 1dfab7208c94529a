"""``prior_correction``: prediction shifts each task's logits by its class priors."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from skmtl import MultiTaskTextClassifier
from skmtl._model import PARAMETERS, task_logits

# The prior correction alone: no thresholds chosen on held-out rows.
FAST = dict(n_components=8, max_iter=5, random_state=0, threshold_holdout=0)


@pytest.fixture(scope="module")
def imbalanced():
    """A rare binary task (about 5 % positive) and a 3-class task, on the
    same rows; the rare label is only weakly predictable from X."""
    rng = np.random.RandomState(0)
    n = 2000
    X = sp.random(n, 50, density=0.1, format="csr", random_state=rng)
    signal = np.asarray(X[:, :5].sum(axis=1)).ravel()
    rare = (signal + rng.normal(0, 0.4, n) > np.quantile(signal, 0.95)).astype(int)
    three = rng.choice(3, n, p=[0.7, 0.2, 0.1])
    return X, np.column_stack([rare, three])


def test_zero_correction_predicts_the_most_probable_class(imbalanced):
    X, Y = imbalanced
    clf = MultiTaskTextClassifier(**FAST, prior_correction=0).fit(X, Y)
    params = {name: getattr(clf, name) for name in PARAMETERS}
    raw = task_logits(X, params, clf.activation, clf.class_offsets_,
                      private_offsets=clf.private_offsets_)
    predicted = clf.predict(X)
    for t, Z in enumerate(raw):
        assert_array_equal(predicted[:, t], clf.classes_[t][Z.argmax(axis=1)])
    assert_allclose(clf.decision_function(X)[0], raw[0][:, 1] - raw[0][:, 0],
                    rtol=1e-6)


def test_correction_shifts_logits_by_the_scaled_log_prior(imbalanced):
    X, Y = imbalanced
    clf = MultiTaskTextClassifier(**FAST, prior_correction=0).fit(X, Y)
    raw = clf.decision_function(X)
    clf.set_params(prior_correction=0.7)
    shifted = clf.decision_function(X)
    log_prior = clf.class_log_prior_
    assert_allclose(shifted[0] - raw[0],
                    np.full(len(raw[0]), -0.7 * (log_prior[1] - log_prior[0])),
                    rtol=1e-6)
    assert_allclose(shifted[1] - raw[1],
                    np.broadcast_to(-0.7 * log_prior[2:5], raw[1].shape), rtol=1e-6)


@pytest.mark.parametrize("loss, strength, other", [("log_loss", 0.5, 0),
                                                     ("hinge", 0, 0.5),
                                                     ("modified_huber", 0, 0.5)])
def test_auto_correction_is_half_for_log_loss_and_none_for_margin_losses(
        imbalanced, loss, strength, other):
    # A margin loss's logits are margins: a log prior does not shift them
    # the way it shifts log probabilities.
    X, Y = imbalanced
    clf = MultiTaskTextClassifier(**FAST, loss=loss).fit(X, Y)
    assert clf.prior_correction == "auto"
    auto = clf.decision_function(X)
    same = clf.set_params(prior_correction=strength).decision_function(X)
    shifted = clf.set_params(prior_correction=other).decision_function(X)
    for t in range(len(auto)):
        assert_array_equal(auto[t], same[t])
        assert not np.allclose(auto[t], shifted[t])


def test_auto_loss_corrects_each_head_by_its_own_loss(imbalanced):
    # 'auto' trains the binary task with the log loss and the 3-class task
    # with the modified Huber loss: each gets the correction of its own loss.
    X, Y = imbalanced
    clf = MultiTaskTextClassifier(**FAST, loss="auto").fit(X, Y)
    auto = clf.decision_function(X)
    half = clf.set_params(prior_correction=0.5).decision_function(X)
    none = clf.set_params(prior_correction=0).decision_function(X)
    assert_array_equal(auto[0], half[0])
    assert not np.allclose(auto[0], none[0])
    assert_array_equal(auto[1], none[1])
    assert not np.allclose(auto[1], half[1])


def test_class_log_prior_is_the_smoothed_share_of_each_class(imbalanced):
    X, Y = imbalanced
    clf = MultiTaskTextClassifier(**FAST).fit(X, Y)
    for t, lo in enumerate(clf.class_offsets_[:-1]):
        counts = np.bincount(Y[:, t]) + 1.0
        assert_allclose(clf.class_log_prior_[lo:lo + len(counts)],
                        np.log(counts / counts.sum()))


def test_larger_correction_predicts_the_rare_class_more_often(imbalanced):
    X, Y = imbalanced
    clf = MultiTaskTextClassifier(**FAST).fit(X, Y)
    coef = clf.shared_coef_.copy()
    rates = [clf.set_params(prior_correction=tau).predict(X)[:, 0].mean()
             for tau in (0, 0.5, 1, 2)]
    assert rates == sorted(rates) and rates[0] < rates[-1], rates
    # A decision rule, not a refit: the parameters stay as they were.
    assert_array_equal(clf.shared_coef_, coef)


def test_default_correction_raises_f1_of_the_rare_label(imbalanced):
    from sklearn.metrics import f1_score

    X, Y = imbalanced
    train, test = slice(0, 1500), slice(1500, None)
    # Without the rare label's private part (private='auto' gives it one), whose
    # fit of these 50 features leaves the correction too little to measure
    # on 43 positive test rows.
    clf = MultiTaskTextClassifier(**FAST, prior_correction=0, private=False).fit(
        X[train], Y[train])
    plain = f1_score(Y[test, 0], clf.predict(X[test])[:, 0])
    corrected = f1_score(
        Y[test, 0], clf.set_params(prior_correction=0.5).predict(X[test])[:, 0])
    assert corrected > plain


def test_predictions_agree_with_probabilities_and_decisions(imbalanced):
    X, Y = imbalanced
    clf = MultiTaskTextClassifier(**FAST, prior_correction=1.0).fit(X, Y)
    predicted, proba = clf.predict(X), clf.predict_proba(X)
    decision = clf.decision_function(X)
    for t in range(2):
        assert_array_equal(predicted[:, t], clf.classes_[t][proba[t].argmax(axis=1)])
    assert_array_equal(predicted[:, 0], (decision[0] > 0).astype(int))
    assert_allclose(np.exp(clf.predict_log_proba(X)[1]), proba[1], rtol=1e-5)


def test_balanced_class_weights_leave_the_prior_their_steps_carry(imbalanced):
    """A cell's weight counts at most one in a step, so 'balanced' evens the
    prior out only partly: the prior is that of the rows times their weights
    capped at one, which the correction still takes out."""
    X, Y = imbalanced
    plain = MultiTaskTextClassifier(**FAST).fit(X, Y)
    clf = MultiTaskTextClassifier(**FAST, class_weight="balanced").fit(X, Y)
    for t, lo in enumerate(clf.class_offsets_[:-1]):
        counts = np.bincount(Y[:, t])
        carried = (counts + 1.0) * np.minimum(1.0, len(Y) / (len(counts) * counts))
        hi = lo + len(counts)
        assert_allclose(clf.class_log_prior_[lo:hi], np.log(carried / carried.sum()))
        rarest = lo + np.argmin(counts)
        assert plain.class_log_prior_[rarest] < clf.class_log_prior_[rarest] < np.log(
            1 / len(counts))


def test_a_class_weighted_zero_is_never_favoured(imbalanced):
    X, Y = imbalanced
    clf = MultiTaskTextClassifier(
        **FAST, class_weight=[None, {0: 1.0, 1: 1.0, 2: 0.0}]).fit(X, Y)
    assert clf.class_log_prior_[4] == 0
    assert np.all(clf.class_log_prior_[2:4] < 0)


def test_partial_fit_counts_all_batches_and_unseen_classes(imbalanced):
    X, Y = imbalanced
    stream = MultiTaskTextClassifier(**FAST)
    stream.partial_fit(X[:10], Y[:10], classes=[[0, 1], [0, 1, 2, 3]])
    # Class 3 is declared but never seen: finite, and the least likely.
    assert np.isfinite(stream.class_log_prior_).all()
    assert stream.class_log_prior_[5] == stream.class_log_prior_[2:6].min()
    stream.partial_fit(X[10:], Y[10:])
    counts = np.bincount(Y[:, 1], minlength=4) + 1.0
    assert_allclose(stream.class_log_prior_[2:], np.log(counts / counts.sum()))


@pytest.mark.parametrize("value", [-0.1, "half", np.inf])
def test_invalid_correction_is_refused_at_fit_and_at_prediction(imbalanced, value):
    X, Y = imbalanced
    with pytest.raises(ValueError, match="prior_correction"):
        MultiTaskTextClassifier(**FAST, prior_correction=value).fit(X, Y)
    clf = MultiTaskTextClassifier(**FAST).fit(X, Y)
    clf.set_params(prior_correction=value)
    with pytest.raises(ValueError, match="prior_correction"):
        clf.predict(X)

