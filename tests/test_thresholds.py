"""Thresholds of two-class heads chosen on held-out rows (``threshold_holdout``)."""

import copy

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn.metrics import f1_score

from skmtl import MultiTaskTextClassifier, _model, _thresholds
from skmtl._model import PARAMETERS
from skmtl.metrics import best_f1_threshold

FAST = dict(n_components=8, max_iter=5, random_state=0)


def make_problem(n=2000, seed=3, rare_label=1):
    """A rare binary task (5 % of rows have ``rare_label``, weakly predictable),
    a 3-class task and a multi-label task of two labels, on the same rows."""
    rng = np.random.RandomState(seed)
    X = sp.random(n, 50, density=0.1, format="csr", random_state=rng)
    signal = np.asarray(X[:, :5].sum(axis=1)).ravel()
    rare = signal + rng.normal(0, 0.4, n) > np.quantile(signal, 0.95)
    tags = [tuple(t for t, on in zip("ab", row) if on)
            for row in np.asarray(X[:, 5:7].todense()) > 0.5]
    Y = pd.DataFrame({
        "rare": np.where(rare, rare_label, 1 - rare_label),
        "three": rng.choice(3, n, p=[0.7, 0.2, 0.1]),
        "tags": pd.Series(tags, dtype=object),
    })
    return X, Y


@pytest.mark.parametrize("average", ["binary", "macro"])
def test_best_f1_threshold_is_the_best_cut(average):
    """Against every cut between distinct scores, scored by f1_score."""
    rng = np.random.RandomState(0)
    for _ in range(50):
        n = rng.randint(2, 40)
        scores = np.round(rng.randn(n), 1)
        truth = (rng.rand(n) < rng.rand()).astype(int)
        truth[0] = 1
        cut = best_f1_threshold(scores, truth, average)
        best = max(f1_score(truth, scores >= value, average=average, zero_division=0)
                   for value in np.unique(scores))
        assert f1_score(truth, scores > cut, average=average,
                        zero_division=0) == pytest.approx(best, abs=1e-12)


@pytest.mark.parametrize("average", ["binary", "macro"])
def test_best_f1_threshold_weighs_samples_as_f1_score_does(average):
    """Weighted, against every cut scored by f1_score with the same weights;
    an integer weight counts as that many copies of the sample."""
    rng = np.random.RandomState(0)
    for _ in range(50):
        n = rng.randint(2, 40)
        scores = np.round(rng.randn(n), 1)
        truth = (rng.rand(n) < rng.rand()).astype(int)
        truth[:2] = 1, 0
        weight = rng.randint(0, 4, n).astype(float)
        weight[:2] = 1
        cut = best_f1_threshold(scores, truth, average, weight)
        # f1_score would still count a class seen only on rows of weight 0.
        kept = weight > 0
        best = max(f1_score(truth[kept], scores[kept] >= value, average=average,
                            sample_weight=weight[kept], zero_division=0)
                   for value in np.unique(scores[kept]))
        assert f1_score(truth[kept], scores[kept] > cut, average=average,
                        sample_weight=weight[kept],
                        zero_division=0) == pytest.approx(best, abs=1e-12)
        copies = np.repeat(np.arange(n), weight.astype(int))
        assert cut == best_f1_threshold(scores[copies], truth[copies], average)


@pytest.fixture(scope="module")
def problem():
    return make_problem()


@pytest.fixture(scope="module")
def fitted(problem):
    """Without the multi-label task, whose labels' loss depends on held-out
    rows (``test_labels_with_held_out_positives_take_the_margin_loss``)."""
    X, Y = problem
    Y = Y[["rare", "three"]]
    return (MultiTaskTextClassifier(**FAST).fit(X, Y),
            MultiTaskTextClassifier(**FAST, threshold_holdout=0).fit(X, Y))


def test_the_model_trains_as_without_held_out_rows(fitted):
    held_out, plain = fitted
    for name in PARAMETERS:
        assert_array_equal(getattr(held_out, name), getattr(plain, name))
    # Only the thresholds differ: the rare binary task's is lower.
    assert plain.thresholds_[0] == 0.0 and held_out.thresholds_[0] < 0
    assert held_out.thresholds_[1] is None and plain.thresholds_[1] is None


def test_labels_with_held_out_positives_take_the_margin_loss(problem, monkeypatch):
    """Where the held-out rows can be expected to hold a label's positives
    (``MARGIN_LABEL_HELD_OUT_POSITIVES``); without held-out rows, or with
    explicit losses, every label keeps the estimator's rule."""
    from skmtl import _sgd_fast

    X, Y = problem
    Y = Y[["tags"]]
    positives = np.array([sum(label in tags for tags in Y["tags"])
                          for label in "ab"])
    assert positives[0] != positives[1]
    share = 4.001 / positives.min()
    seen = []
    real = _sgd_fast.sgd_epoch
    monkeypatch.setattr(_sgd_fast, "sgd_epoch", lambda **k: seen.append(
        (k["loss"].copy(), k["private_head_step"])) or real(**k))
    for threshold_holdout in (share, 0.999 * share, 0.0):
        seen.clear()
        expected = positives * threshold_holdout >= 4
        model = MultiTaskTextClassifier(
            **FAST, threshold_holdout=threshold_holdout).fit(X, Y)
        assert_array_equal(model._margin_labels, expected)
        loss, step = seen[-1]
        assert_array_equal(loss == _sgd_fast.LOSSES["modified_huber"], expected)
        assert_array_equal(
            np.ones(2) if step is None else step,
            np.where(expected, _model.LABEL_PRIVATE_STEP, 1.0))
    # An explicit loss is every label's.
    model = MultiTaskTextClassifier(**FAST, loss="log_loss").fit(X, Y)
    assert not (seen[-1][0] == _sgd_fast.LOSSES["modified_huber"]).any()
    assert seen[-1][1] is None


def test_a_binary_tasks_threshold_moves_its_decision(problem, fitted):
    X, _ = problem
    held_out, plain = fitted
    threshold = held_out.thresholds_[0]
    assert_allclose(held_out.decision_function(X)[0],
                    plain.decision_function(X)[0] - threshold, rtol=1e-6)
    predicted = held_out.predict(X)[:, 0]
    assert_array_equal(predicted, (plain.decision_function(X)[0] > threshold))
    assert predicted.mean() > plain.predict(X)[:, 0].mean()
    proba = held_out.predict_proba(X)[0]
    assert_array_equal(predicted, proba[:, 1] > 0.5)


def test_threshold_is_the_held_out_cut_unless_that_is_stricter(problem, monkeypatch):
    X, Y = problem
    cuts = []

    def spy(margins, codes, served, average, weight):
        cuts.append((margins, codes, served, average,
                     real(margins, codes, served, average, weight)))
        return cuts[-1][-1]

    real = _thresholds.best_threshold
    monkeypatch.setattr(_thresholds, "best_threshold", spy)
    model = MultiTaskTextClassifier(**FAST).fit(X, Y)
    # One cut a head with a threshold (the binary task, then the two labels),
    # each on the 400 held-out rows ('auto': a fifth, as a task is
    # multi-label).
    assert [len(c[0]) for c in cuts] == [400] * 3
    margins, codes, served, average, cut = cuts[0]
    assert served == 1 and np.any(codes == 1)
    # The binary task's cut maximises its macro-F1, the labels' their F1.
    assert [c[3] for c in cuts] == ["macro", "binary", "binary"]
    assert cut == best_f1_threshold(margins, codes == 1, "macro")
    assert model.thresholds_[0] == min(0.0, cut)


def test_a_rare_first_class_gets_a_threshold_above_zero():
    X, Y = make_problem(rare_label=0)
    held_out = MultiTaskTextClassifier(**FAST).fit(X, Y)
    plain = MultiTaskTextClassifier(**FAST, threshold_holdout=0).fit(X, Y)
    assert held_out.thresholds_[0] > 0
    rare_share = [(m.predict(X)[:, 0] == 0).mean() for m in (held_out, plain)]
    assert rare_share[0] > rare_share[1]


def test_no_held_out_row_of_the_rare_class_fits_once(monkeypatch):
    from skmtl import _training

    X, Y = make_problem(n=300)
    Y["rare"] = 0
    Y.loc[7, "rare"] = 1
    calls = []
    real = _training.run_epochs
    monkeypatch.setattr(_training, "run_epochs",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    # One row held out, not the rare class's only row: nothing to choose on
    # (with the log loss, the three-class task has no temperature to choose).
    model = MultiTaskTextClassifier(**FAST, loss="log_loss",
                                    threshold_holdout=0.005).fit(
        X, Y[["rare", "three"]])
    assert len(calls) == 1
    # The task takes the full prior correction: half of it in the margin, the
    # other half as its threshold.
    log_prior = model.class_log_prior_[:2]  # the binary task's two classes
    assert model.thresholds_[0] == pytest.approx(0.5 * (log_prior[1] - log_prior[0]))


@pytest.mark.parametrize("rare_label", [1, 0])
def test_a_rare_class_without_held_out_rows_is_decided_as_balanced(rare_label):
    X, Y = make_problem(n=600, rare_label=rare_label)
    rare = np.flatnonzero(Y["rare"] == rare_label)
    Y.loc[rare[3:], "rare"] = 1 - rare_label
    params = dict(FAST, threshold_holdout=0.02)
    model = MultiTaskTextClassifier(**params).fit(X, Y[["rare"]])
    assert model.thresholds_[0] != 0.0
    balanced = MultiTaskTextClassifier(**params, prior_correction=1.0).fit(
        X, Y[["rare"]])
    assert balanced.thresholds_[0] == 0.0
    assert_array_equal(model.predict(X), balanced.predict(X))
    assert (model.predict(X) == rare_label).sum() > 3
    # A rule the user chose keeps its cut of 0.
    for chosen in (dict(prior_correction=0.5), dict(loss="hinge"),
                   dict(threshold_holdout=0)):
        model = MultiTaskTextClassifier(**{**params, **chosen}).fit(X, Y[["rare"]])
        assert model.thresholds_[0] == 0.0


def test_a_rare_label_without_held_out_rows_takes_the_lower_of_its_rules():
    X, Y = make_problem(n=600)
    Y["tags"] = [("a",) if i in (5, 50, 500) else () for i in range(len(Y))]
    Y["tags"] = [tags + ("b",) if i % 3 == 0 else tags
                 for i, tags in enumerate(Y["tags"])]
    params = dict(FAST, threshold_holdout=0.02)
    model = MultiTaskTextClassifier(**params).fit(X, Y[["tags"]])
    plain = MultiTaskTextClassifier(**dict(params, threshold_holdout=0)).fit(
        X, Y[["tags"]])
    # Label 'a', rare, trains with the log loss; 'b' with the margin loss.
    assert_array_equal(model._margin_labels, [False, True])
    log_prior = model.class_log_prior_[:2]  # label 'a': absent, present
    balanced = 0.5 * (log_prior[1] - log_prior[0])
    assert balanced < plain.thresholds_[0][0]
    assert model.thresholds_[0][0] == pytest.approx(balanced)
    predicted_a = [sum("a" in tags for tags in m.predict(X)[:, 0])
                   for m in (model, plain)]
    assert predicted_a[0] > predicted_a[1]


def test_a_task_of_both_losses_corrects_and_calibrates_its_labels_apart(problem):
    """A label on the log loss takes half its prior correction and no
    temperature; a margin label neither correction nor its own temperature,
    but its task's."""
    X, Y = problem
    Y = Y[["tags"]]
    positives = np.array([sum(label in tags for tags in Y["tags"])
                          for label in "ab"])
    model = MultiTaskTextClassifier(
        **FAST, threshold_holdout=3.999 / positives.min()).fit(X, Y)
    margin = model._margin_labels
    assert margin.sum() == 1
    assert model.prior_strength_[0] == 0.5 and model.temperature_[0] != 1.0
    auto = model.decision_function(X)[0]
    none = model.set_params(prior_correction=0).decision_function(X)[0]
    log_prior = model.class_log_prior_.reshape(2, 2)
    shift = np.where(margin, 0.0, -0.5 * (log_prior[:, 1] - log_prior[:, 0]))
    assert_allclose(auto - none, np.broadcast_to(shift, auto.shape), rtol=1e-5,
                    atol=1e-6)
    proba = model.set_params(prior_correction="auto").predict_proba(X)[0]
    assert_allclose(proba, expit(auto / np.where(margin, model.temperature_[0], 1)),
                    rtol=1e-6)


def test_a_model_saved_before_margin_labels_trains_its_labels_on_the_log_loss(
        problem):
    X, Y = problem
    model = MultiTaskTextClassifier(**FAST, threshold_holdout=0).fit(X, Y)
    assert not model._margin_labels.any()
    expected = model.predict_proba(X)
    del model._margin_labels
    for got, want in zip(model.predict_proba(X), expected):
        assert_array_equal(got, want)
    model.partial_fit(X, Y)
    assert not model._margin_labels.any()


@pytest.mark.parametrize("threshold_holdout, tasks, share", [
    ("auto", ["rare", "three"], 0.1),
    ("auto", ["rare", "tags"], 0.2),
    (0.3, ["rare", "tags"], 0.3),
    (0.0, ["rare"], 0.0),
])
def test_held_out_share(problem, monkeypatch, threshold_holdout, tasks, share):
    from skmtl import _sgd_fast

    X, Y = problem
    calls = []
    real = _sgd_fast.sgd_epoch
    monkeypatch.setattr(_sgd_fast, "sgd_epoch",
                        lambda **k: calls.append(len(k["sample_order"])) or real(**k))
    MultiTaskTextClassifier(**FAST, threshold_holdout=threshold_holdout).fit(
        X, Y[tasks])
    assert calls[0] == X.shape[0] - int(share * X.shape[0])


def test_partial_fit_holds_nothing_out(problem):
    X, Y = problem
    classes = [np.array([0, 1]), np.array([0, 1, 2]), np.array(["a", "b"])]
    model = MultiTaskTextClassifier(**FAST).partial_fit(X, Y, classes=classes)
    assert model.thresholds_[0] is None
    assert_array_equal(model.thresholds_[2], [0.0, 0.0])


def test_tune_thresholds_sets_a_binary_tasks_threshold_on_dev(problem):
    X, Y = problem
    model = MultiTaskTextClassifier(**FAST).fit(X[:1500], Y[:1500])
    margins = model.decision_function(X[1500:])[0] + model.thresholds_[0]
    model.tune_thresholds(X[1500:], Y[1500:].reset_index(drop=True))
    assert model.thresholds_[0] == best_f1_threshold(
        margins, Y["rare"].to_numpy()[1500:] == 1, "macro")


def test_tune_thresholds_weighs_dev_samples(problem):
    X, Y = problem
    dev_X, dev_Y = X[1500:], Y[1500:].reset_index(drop=True)
    model = MultiTaskTextClassifier(**FAST).fit(X[:1500], Y[:1500])
    margins = model.decision_function(dev_X)[0] + model.thresholds_[0]
    weight = np.random.RandomState(0).randint(0, 3, len(dev_Y))
    weighted = copy.deepcopy(model).tune_thresholds(dev_X, dev_Y,
                                                    sample_weight=weight)
    assert weighted.thresholds_[0] == best_f1_threshold(
        margins, dev_Y["rare"].to_numpy() == 1, "macro", weight)
    assert weighted.thresholds_[0] != copy.deepcopy(model).tune_thresholds(
        dev_X, dev_Y).thresholds_[0]
    # Rows of weight 0 are not read: flipping their labels changes nothing.
    flipped = dev_Y.copy()
    flipped.loc[weight == 0, "rare"] = 1 - flipped.loc[weight == 0, "rare"]
    again = copy.deepcopy(model).tune_thresholds(dev_X, flipped,
                                                 sample_weight=weight)
    assert again.thresholds_[0] == weighted.thresholds_[0]
    for bad, message in [(-np.ones(len(dev_Y)), "Negative"),
                         (np.ones(3), "inconsistent|shape")]:
        with pytest.raises(ValueError, match=message):
            model.tune_thresholds(dev_X, dev_Y, sample_weight=bad)


def test_held_out_choices_do_not_read_rows_of_weight_0(problem):
    """Shuffling the labels among the rows of weight 0 (so that every class
    keeps its count) changes neither training nor the thresholds,
    temperatures and prior strengths chosen on held-out rows."""
    X, Y = problem
    rng = np.random.RandomState(1)
    weight = rng.randint(0, 2, len(Y)).astype(float)
    shuffled = Y.copy()
    zero = np.flatnonzero(weight == 0)
    for task in Y:
        shuffled.iloc[zero, Y.columns.get_loc(task)] = Y[task].to_numpy()[
            rng.permutation(zero)]
    models = [MultiTaskTextClassifier(**FAST).fit(X, y, sample_weight=weight)
              for y in (Y, shuffled)]
    assert models[0].thresholds_[0] == models[1].thresholds_[0]
    assert_array_equal(models[0].thresholds_[2], models[1].thresholds_[2])
    assert_array_equal(models[0].temperature_, models[1].temperature_)
    assert_array_equal(models[0].prior_strength_, models[1].prior_strength_)
    # Weighted 1, the same rows do change the choices.
    unweighted = [MultiTaskTextClassifier(**FAST).fit(X, y) for y in (Y, shuffled)]
    assert unweighted[0].thresholds_[0] != unweighted[1].thresholds_[0]
@pytest.mark.parametrize("value", [np.nan, "0.1", True, np.zeros(2)])
def test_a_bad_binary_threshold_is_refused(problem, value):
    X, Y = problem
    model = MultiTaskTextClassifier(**{**FAST, "max_iter": 1}).fit(X[:300], Y[:300])
    model.thresholds_[0] = value
    with pytest.raises(ValueError, match="thresholds_ of task 'rare'"):
        model.predict(X[:5])


def test_verbose_reports_the_held_out_fit(problem, capsys):
    X, Y = problem
    MultiTaskTextClassifier(**FAST, verbose=1).fit(X, Y)
    out = capsys.readouterr().out
    assert "-- Thresholds: training on 1600 rows, choosing on 400 held-out rows" in out
    # The epochs printed are the model's own.
    assert out.count("-- Epoch 1:") == 1


# ------------------------------------------------------------------ temperatures


def test_best_temperature_recovers_the_scale_of_calibrated_logits():
    # Classes drawn from softmax(L): L is calibrated, so 3 L needs T = 3.
    rng = np.random.RandomState(0)
    logits = 2 * rng.randn(20000, 4)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    codes = (proba.cumsum(axis=1) < rng.rand(len(proba), 1)).sum(axis=1)
    assert_allclose(_thresholds.best_temperature(3 * logits, codes), 3, rtol=0.05)
    assert_allclose(_thresholds.best_temperature(logits / 2, codes), 0.5, rtol=0.05)
    # Perfectly separated rows: near the smallest temperature, not 0.
    separated = np.eye(4)[codes] * 5
    low = _thresholds.MIN_TEMPERATURE
    assert low <= _thresholds.best_temperature(separated, codes) < 2 * low


def test_best_temperature_weighs_rows():
    rng = np.random.RandomState(0)
    logits = 2 * rng.randn(3000, 4)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    codes = (proba.cumsum(axis=1) < rng.rand(len(proba), 1)).sum(axis=1)
    # Rows of weight 0 are not there: here, rows of labels drawn at random,
    # which alone would call for a far higher temperature.
    noise = rng.randint(0, 4, 3000)
    both = (np.r_[logits, logits], np.r_[codes, noise])
    weight = np.r_[np.ones(3000), np.zeros(3000)]
    assert_allclose(_thresholds.best_temperature(*both, weight),
                    _thresholds.best_temperature(logits, codes), rtol=1e-4)
    assert _thresholds.best_temperature(*both) > 1.5


def test_auto_loss_calibrates_multiclass_tasks_on_held_out_rows(problem):
    X, Y = problem
    model = MultiTaskTextClassifier(**FAST, loss="auto").fit(X, Y)
    # The margins of the 3-class task and of the labels get a temperature;
    # the log loss's binary task keeps 1.
    assert model.temperature_[0] == 1.0
    assert np.all(model.temperature_[1:] != 1.0)
    logits = model.decision_function(X)[1]
    proba = model.predict_proba(X)[1]
    scaled = logits / model.temperature_[1]
    expected = np.exp(scaled) / np.exp(scaled).sum(axis=1, keepdims=True)
    assert_allclose(proba, expected, rtol=1e-6)
    assert_array_equal(model.classes_[1][proba.argmax(axis=1)], model.predict(X)[:, 1])
    assert_allclose(model.predict_log_proba(X)[1], np.log(proba), rtol=1e-6)
    # A label's probability is its score over the task's temperature; one
    # half where its decision turns.
    scores = model.decision_function(X)[2]
    assert_allclose(model.predict_proba(X)[2],
                    expit(scores / model.temperature_[2]), rtol=1e-6)


def test_best_prior_strength_takes_out_the_prior_where_macro_f1_gains():
    # Logits of Bayes' rule (evidence plus log prior) favour the frequent
    # class; macro-F1 gains from taking (some of) the prior out again.
    rng = np.random.RandomState(0)
    prior = np.array([0.8, 0.15, 0.05])
    codes = rng.choice(3, 20000, p=prior)
    evidence = rng.randn(len(codes), 3) + 1.5 * np.eye(3)[codes]
    log_prior = np.log(prior)
    assert _thresholds.best_prior_strength(evidence + log_prior, codes,
                                           log_prior) >= 0.25
    assert _thresholds.best_prior_strength(evidence, codes, log_prior) == 0
    # Rows count by their weight: with the frequent class's rows alone, any
    # correction only adds errors.
    frequent_only = (codes == 0).astype(float)
    assert _thresholds.best_prior_strength(evidence + log_prior, codes,
                                           log_prior, frequent_only) == 0
    # Every strength decides alike under a uniform prior: the smallest, 0.
    uniform = np.full(3, np.log(1 / 3))
    assert _thresholds.best_prior_strength(evidence + log_prior, codes,
                                           uniform) == 0


def test_bootstrap_macro_f1_scores_the_rows_as_f1_score_does():
    rng = np.random.RandomState(0)
    codes = rng.randint(0, 4, 300)
    decisions = np.stack([rng.randint(0, 3, 300), codes,
                          np.where(rng.rand(300) < 0.6, codes, 0)])
    weight = rng.uniform(0, 3, 300)
    for w in (None, weight):
        scores = _thresholds.bootstrap_macro_f1(codes.astype(np.int16),
                                                decisions, 4, w, n_resamples=30)
        assert scores.shape == (3, 31)
        assert_allclose(scores[:, 0], [f1_score(codes, d, average="macro",
                                                sample_weight=w)
                                       for d in decisions])
        # Resamples spread the imperfect rules, not the perfect one.
        assert_array_equal(scores[1], 1.0)
        assert scores[0, 1:].std() > 0


def test_temperature_is_chosen_for_the_correction_in_use(problem, monkeypatch):
    X, Y = problem
    seen = []
    real = _thresholds.best_temperature
    monkeypatch.setattr(_thresholds, "best_temperature",
                        lambda z, codes, weight: seen.append(z) or real(z, codes))
    X, Y = X, Y[["rare", "three"]]
    MultiTaskTextClassifier(**FAST, prior_correction=0).fit(X, Y)
    MultiTaskTextClassifier(**FAST, prior_correction=0.7).fit(X, Y)
    model = MultiTaskTextClassifier(**FAST).fit(X, Y)
    lo, hi = model.class_offsets_[1:3]
    log_prior = model.class_log_prior_[lo:hi]
    # The same held-out logits each time, shifted by the strength in use.
    assert_allclose(seen[1] - seen[0], np.broadcast_to(-0.7 * log_prior,
                                                       seen[0].shape))
    assert_allclose(seen[2] - seen[0], np.broadcast_to(
        -model.prior_strength_[1] * log_prior, seen[0].shape))


def with_learnable_three(X, Y):
    """Y with 'three' made to depend on X, with a rare class (5 % of the
    rows) that the margins under-predict."""
    signal = np.asarray(X[:, 7:10].sum(axis=1)).ravel()
    noisy = signal + np.random.RandomState(0).normal(0, 0.6 * signal.std(),
                                                     len(signal))
    return Y.assign(three=np.digitize(noisy, np.quantile(noisy, [0.7, 0.95])))


def test_auto_loss_chooses_the_prior_correction_of_multiclass_tasks(problem):
    X, Y = problem
    Y = with_learnable_three(X, Y)
    model = MultiTaskTextClassifier(**FAST, loss="auto").fit(X, Y)
    strength = model.prior_strength_
    # The log loss's binary task keeps 'auto''s 0.5, the labels the margin
    # loss's 0; the multiclass task's is chosen.
    assert_array_equal(strength[[0, 2]], [0.5, 0.0])
    assert strength[1] in _thresholds.PRIOR_STRENGTHS and strength[1] > 0
    lo, hi = model.class_offsets_[1:3]
    auto = model.decision_function(X)[1]
    none = model.set_params(prior_correction=0).decision_function(X)[1]
    assert_allclose(auto - none, np.broadcast_to(
        -strength[1] * model.class_log_prior_[lo:hi], none.shape), rtol=1e-5)


@pytest.mark.parametrize("tasks, held_out_epochs", [
    (["three"], 2),          # temperatures alone: half the epochs (5 // 2)
    (["rare", "three"], 5),  # a threshold to choose as well: every epoch
])
def test_a_held_out_fit_for_temperatures_alone_takes_half_the_epochs(
        problem, monkeypatch, tasks, held_out_epochs):
    from skmtl import _sgd_fast

    X, Y = problem
    calls = []
    real = _sgd_fast.sgd_epoch
    monkeypatch.setattr(_sgd_fast, "sgd_epoch",
                        lambda **k: calls.append(len(k["sample_order"])) or real(**k))
    MultiTaskTextClassifier(**FAST, loss="auto").fit(X, Y[tasks])
    n_held = int(0.1 * X.shape[0])
    assert calls == [X.shape[0] - n_held] * held_out_epochs + [X.shape[0]] * 5


@pytest.mark.parametrize("how", ["threshold_holdout=0", "partial_fit", "log_loss"])
def test_temperatures_and_prior_strengths_stay_put_without_held_out(problem, how):
    X, Y = problem
    if how == "partial_fit":
        classes = [np.array([0, 1]), np.array([0, 1, 2]), np.array(["a", "b"])]
        model = MultiTaskTextClassifier(**FAST, loss="auto").partial_fit(
            X, Y, classes=classes)
    else:
        params = ({"loss": "auto", "threshold_holdout": 0}
                  if how == "threshold_holdout=0" else {"loss": "log_loss"})
        model = MultiTaskTextClassifier(**FAST, **params).fit(X, Y)
    assert_array_equal(model.temperature_, np.ones(3))
    margin = 0.0 if how != "log_loss" else 0.5
    assert_array_equal(model.prior_strength_, [0.5, margin, 0.5])


def test_partial_fit_after_fit_keeps_the_held_out_choices(problem):
    X, Y = problem
    Y = with_learnable_three(X, Y)
    model = MultiTaskTextClassifier(**FAST).fit(X, Y)
    chosen = (copy.deepcopy(model.thresholds_), model.temperature_.copy(),
              model.prior_strength_.copy())
    assert chosen[2][1] > 0 and chosen[1][1] != 1
    model.partial_fit(X[:500], Y[:500])
    assert model.thresholds_[0] == chosen[0][0]
    assert_array_equal(model.thresholds_[2], chosen[0][2])
    assert_array_equal(model.temperature_, chosen[1])
    assert_array_equal(model.prior_strength_, chosen[2])
