"""Decision thresholds of two-class heads: set by ``fit``, tuned by ``tune_thresholds``.

A head has a threshold when it is a label of a multi-label task or an
imbalanced binary task (``_model.imbalanced_two_class_heads``). The threshold
is on the head's *margin*, the logit of its class 1 minus that of its class 0
after the prior correction, and serves an F1 (``f1_averages``): a label's F1
of "present", a binary task's macro-F1, the mean of its two classes' F1. A
rare class needs a threshold of its own for a competitive F1, and the best
one depends on how sharp the model's probabilities are on new rows, which
the training rows overstate. The threshold favours one class, its *served*
class: a label's "present", a binary task's smaller class.

So ``fit`` holds out ``threshold_holdout`` of the training rows, trains a
model on the others and takes, per head, the cut that maximises the head's
F1 on the held-out rows. The model itself then trains on all rows, as
scikit-learn's ``TunedThresholdClassifierCV(refit=True)`` does, and each head
keeps whichever of that cut and the rule that reads the training rows alone
(the prior correction; for a label also the F1 expected under the model's own
probabilities) predicts its served class more often. Where the held-out cut
is the stricter one it lost: GoEmotions' Ekman labels as a multi-label task,
all 43,410 training rows, macro-F1 57.2 with the held-out cuts alone, 57.4
with this rule (three seeds).

A head whose served class has no held-out row gets no held-out cut; it
takes the full prior correction instead (``_balanced_where_unseen``), the
decision of balanced classes.

The same held-out rows give each head that ``loss='auto'`` trains with a
margin loss (``_model.calibrated_heads``) its *prior strength*: the prior
correction its macro-F1 supports (``best_prior_strength``), as a binary
task's threshold serves its macro-F1. They then give its *temperature*:
``predict_proba`` is the softmax of its corrected logits divided by the
temperature that minimises their log loss on the held-out rows (temperature
scaling, Guo et al., 2017). A margin loss's margins carry no probability
scale of their own, and on the training rows they overstate it most.

``_training.train`` runs the two fits; this module chooses the held-out rows,
the thresholds, the prior strengths and the temperatures.
"""

import copy

import numpy as np
from scipy.optimize import minimize_scalar

from . import _model, _refinement
from ._tasks import MISSING, head_tasks
from .metrics import best_f1_threshold, expected_f1_threshold


def heads_with_thresholds(class_counts, class_offsets, multilabel, head_task):
    """Which heads have a threshold, and the class each one's F1 serves.

    Parameters
    ----------
    class_counts : ndarray of shape (n_classes_total,)
        Training rows of each class, stacked like the heads.
    class_offsets : ndarray of shape (n_heads + 1,)
    multilabel : ndarray of shape (n_tasks,), dtype=bool
    head_task : ndarray of shape (n_heads,)
        The task of each head.

    Returns
    -------
    heads : ndarray of shape (n_heads,), dtype=bool
        Labels of multi-label tasks and imbalanced binary tasks, each with
        both classes seen in training.
    served : ndarray of shape (n_heads,), dtype=int
        1 for a label ("present"); a binary task's smaller class.
    """
    is_label = multilabel[head_task]
    heads = is_label | _model.imbalanced_two_class_heads(class_counts, class_offsets)
    served = np.ones(len(head_task), dtype=int)
    for head in np.flatnonzero(heads):
        counts = class_counts[class_offsets[head]:class_offsets[head] + 2]
        heads[head] = counts.min() > 0
        if not is_label[head]:
            served[head] = int(np.argmin(counts))
    return heads, served


def f1_averages(multilabel, head_task):
    """The F1 each head's threshold maximises: ``f1_score``'s ``average``.

    'binary' (the F1 of "present") for the labels of multi-label tasks, whose
    F1 is a label's measure; 'macro' (the mean of both classes' F1) for
    binary tasks. On a binary task the smaller class's F1 alone asks for
    more of it than its F1 and the larger class's together (GoEmotions'
    neutral against emotional comments, 30 % neutral: 50 % predicted
    neutral, macro-F1 67.7, against 71.4 with the macro-F1 cut), while for a
    rare class the two cuts nearly coincide.

    Parameters
    ----------
    multilabel : ndarray of shape (n_tasks,), dtype=bool
    head_task : ndarray of shape (n_heads,)

    Returns
    -------
    averages : ndarray of shape (n_heads,), dtype=object
    """
    return np.where(multilabel[head_task], "binary", "macro").astype(object)


def best_threshold(margins, codes, served, average, weight=None):
    """The threshold on a head's margins that maximises its F1.

    Parameters
    ----------
    margins : ndarray of shape (n_samples,)
    codes : ndarray of shape (n_samples,)
        The head's label codes, 0 or 1, with at least one ``served``.
    served : {0, 1}
        The class whose F1 'binary' maximises.
    average : {'binary', 'macro'}
        ``f1_averages``.
    weight : ndarray of shape (n_samples,), default=None
        Each row's weight in the F1; None for 1.

    Returns
    -------
    threshold : float
        Class 1 is predicted where the margin exceeds it.
    """
    sign = 1.0 if served == 1 else -1.0
    return sign * best_f1_threshold(sign * margins, codes == served, average,
                                    weight)


def head_margins(X, state, activation, prior_offset):
    """Each head's margin (after the prior correction): its logit of class 1
    minus that of class 0; an empty column for a head of another size.

    Parameters
    ----------
    X : sparse matrix of shape (n_samples, n_features)
    state : mapping
        The parameter arrays (``_model.PARAMETERS``), ``class_offsets_`` and
        ``private_offsets_``.
    activation : str
    prior_offset : ndarray of shape (n_classes_total,) or None
        ``_model.prior_offset``.

    Returns
    -------
    margins : list of ndarray of shape (n_samples,) or (n_samples, 0)
    """
    def margin(Z):
        return Z[:, 1] - Z[:, 0] if Z.shape[1] == 2 else Z[:, :0]
    return _model.map_logits(X, state, activation, state["class_offsets_"],
                             margin, prior_offset, state["private_offsets_"])


def _heads_to_choose(fit, held):
    """The heads with a threshold and a held-out row of their served class
    (whose F1 is undefined without one), and each head's served class."""
    heads, served = heads_with_thresholds(
        fit.state["_class_counts_seen"], fit.state["class_offsets_"],
        fit.state["multilabel_"], fit.head_task)
    # Even one held-out row of a rare class is worth its cut, as the cut can
    # only make the head predict that class more often: requiring 5 lost 1
    # to 2 points of mean F1 on GoEmotions' labels at 3,000 training rows.
    return heads & (fit.Y[held] == served).any(axis=0), served


def chooses_thresholds(fit, held):
    """Whether some head has a threshold to choose on the ``held`` rows (else
    they serve the temperatures alone)."""
    return bool(_heads_to_choose(fit, held)[0].any())


# ``threshold_holdout='auto'``: the share of the training rows held out, with
# and without a multi-label task. Its labels' thresholds on the margin loss
# come from their held-out positives alone, and a fifth gained on every
# multi-label corpus measured (macro-F1 or mean F1, three seeds, a tenth ->
# a fifth): GoEmotions' three taxonomies 46.9 / 58.4 / 63.7 -> 47.4 / 58.6 /
# 63.7 with all 43,410 training comments, 38.6 / 50.1 / 57.9 -> 40.2 / 50.9 /
# 57.9 with 10,000, 30.1 / 40.2 / 52.8 -> 31.1 / 41.9 / 53.4 with 3,000; 20
# Newsgroups' topics as one task 81.4 -> 81.9, with six topics cut 69.6 ->
# 70.0. The panel's binary and multiclass tasks did not gain: GoEmotions'
# Ekman labels as binary tasks 57.90 -> 57.61, 20 Newsgroups' topics as
# binary tasks 80.85 -> 80.64, the nested GoEmotions tasks 72.21 -> 72.55,
# the others within 0.15.
AUTO_HELD_OUT_SHARE = {True: 0.2, False: 0.1}


def held_out_share(estimator, multilabel):
    """The share of the training rows that ``fit`` holds out.

    Parameters
    ----------
    estimator : MultiTaskTextClassifier
    multilabel : ndarray of shape (n_tasks,), dtype=bool

    Returns
    -------
    share : float
        ``threshold_holdout``, or for 'auto' ``AUTO_HELD_OUT_SHARE`` of
        whether some task is multi-label.
    """
    if estimator.threshold_holdout == "auto":
        return AUTO_HELD_OUT_SHARE[bool(np.any(multilabel))]
    return float(estimator.threshold_holdout)


def held_out_rows(estimator, fit, rng):
    """The training rows to hold out for choosing thresholds, or None.

    Parameters
    ----------
    estimator : MultiTaskTextClassifier
    fit : PreparedFit
    rng : RandomState
        Draws the rows: pass a copy to leave the fit's own draws as they are.

    Returns
    -------
    held : ndarray or None
        Sorted; None when no head has a threshold to choose on them.
    """
    n_held = int(held_out_share(estimator, fit.state["multilabel_"])
                 * len(fit.train_rows))
    held = np.sort(rng.permutation(fit.train_rows)[:n_held])
    if n_held == 0 or not (chooses_thresholds(fit, held)
                           or _heads_to_calibrate(estimator, fit, held).any()):
        return None
    return held


def _margin_labels(fit):
    return fit.state["_margin_labels"]


def _heads_to_calibrate(estimator, fit, held):
    """The calibrated heads (``_model.calibrated_heads``) labelled on a
    held-out row."""
    return _model.calibrated_heads(
        estimator.loss, fit.state["class_offsets_"], _margin_labels(fit)
    ) & (fit.Y[held] != MISSING).any(axis=0)


# Bounds of a temperature. Held-out rows that a head separates perfectly drive
# it to 0; at 0.1 a margin of one (what a margin loss asks of a training row)
# is a logit gap of 10, odds of about 20,000 to one. The panel's corpora chose
# 0.16 to 0.48.
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.1, 10.0

# The prior corrections ``fit`` tries for a multiclass head trained with a
# margin loss, in units of its margins (about 1 between a row's class and the
# others): from none to the full log prior.
PRIOR_STRENGTHS = np.round(np.linspace(0.0, 1.0, 21), 2)
# How many bootstrap standard errors of held-out macro-F1 a stronger prior
# correction must gain over a weaker one to be chosen (``best_prior_strength``)
# and how many resamples measure them. With half of one error the panel
# benchmark's nested GoEmotions tasks gain 0.36 points of macro-F1 (one: 0.28)
# and the accuracy-scored tasks lose at most 0.02 (three seeds).
PRIOR_STRENGTH_TOLERANCE = 0.5
N_RESAMPLES = 200
# Held-out rows a class of a head needs, on average, for its prior strength to
# be chosen; with fewer it stays 0. On five rows of three classes a choice
# overrode class weights of 1000 to 1e-4 (scikit-learn's
# check_class_weight_classifiers).
PRIOR_STRENGTH_MIN_ROWS = 10


def best_temperature(logits, codes, weight=None):
    """The temperature that minimises the log loss of ``softmax(logits / T)``.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)
    codes : ndarray of shape (n_samples,)
        Each row's class, an index into the columns of ``logits``.
    weight : ndarray of shape (n_samples,), default=None
        Each row's weight in the log loss, of positive sum; None for 1.

    Returns
    -------
    temperature : float
        In ``[MIN_TEMPERATURE, MAX_TEMPERATURE]``.
    """
    logits = np.asarray(logits, dtype=np.float64)
    rows = np.arange(len(codes))
    weight = np.ones(len(codes)) if weight is None else weight

    def log_loss(log_t):
        log_p = _model.log_softmax(logits / np.exp(log_t))[rows, codes]
        return -np.average(log_p, weights=weight)

    found = minimize_scalar(log_loss, method="bounded", bounds=(
        np.log(MIN_TEMPERATURE), np.log(MAX_TEMPERATURE)))
    return float(np.exp(found.x))


def best_prior_strength(logits, codes, log_prior, weight=None):
    """The prior correction of a multiclass head that its macro-F1 supports.

    The held-out rows of a small or rare class score a correction noisily,
    and a correction the noise chose costs accuracy for nothing (the mixed
    corpus of the panel benchmark: TREC and the news topics lost 0.3 to 0.5
    points of accuracy, and macro-F1 too). So the choice is the weakest
    correction whose macro-F1 is within ``PRIOR_STRENGTH_TOLERANCE``
    standard errors of the best one's, the standard error from bootstrap
    resamples of the rows (a one-standard-error rule, Hastie et al., 2009).

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)
    codes : ndarray of shape (n_samples,)
        Each row's class, an index into the columns of ``logits``.
    log_prior : ndarray of shape (n_classes,)
        The head's ``class_log_prior_``.
    weight : ndarray of shape (n_samples,), default=None
        Each row's weight in the F1 (``held_out_weights``); None for 1.

    Returns
    -------
    strength : float
        One of ``PRIOR_STRENGTHS``, for the decisions
        ``argmax(logits - strength * log_prior)``.
    """
    decisions = np.stack([(logits - strength * log_prior).argmax(axis=1)
                          for strength in PRIOR_STRENGTHS])
    n_classes = logits.shape[1]
    scores = bootstrap_macro_f1(codes, decisions, n_classes, weight,
                                n_resamples=0)[:, 0]
    best = int(np.argmax(scores))
    # Resampled, only the best strength's decisions: its standard error.
    error = bootstrap_macro_f1(codes, decisions[best:best + 1], n_classes,
                               weight)[0, 1:].std()
    supported = scores >= scores[best] - PRIOR_STRENGTH_TOLERANCE * error
    return float(PRIOR_STRENGTHS[np.flatnonzero(supported)[0]])


def bootstrap_macro_f1(codes, decisions, n_classes, weight=None,
                       n_resamples=N_RESAMPLES):
    """Macro-F1 of several decision rules on the rows and on resamples of them.

    Parameters
    ----------
    codes : ndarray of shape (n_samples,)
        Each row's class, in ``range(n_classes)``.
    decisions : ndarray of shape (n_rules, n_samples)
        Each rule's predicted class of each row.
    n_classes : int
    weight : ndarray of shape (n_samples,), default=None
        Each row's weight (``f1_score``'s ``sample_weight``); None for 1.
    n_resamples : int, default=N_RESAMPLES
        Bootstrap resamples, drawn as Poisson(1) counts of each row from a
        fixed seed (the same rows give the same scores).

    Returns
    -------
    scores : ndarray of shape (n_rules, 1 + n_resamples)
        Column 0 on the rows themselves, as ``f1_score(average='macro')``
        (over the classes that occur or are predicted); then one column a
        resample.
    """
    n_rules = len(decisions)
    cells = (np.arange(n_rules)[:, None] * n_classes
             + codes.astype(np.intp)) * n_classes + decisions
    rng = np.random.RandomState(0)
    weight = np.ones(len(codes)) if weight is None else weight
    weights = [weight] + [weight * rng.poisson(1.0, len(codes))
                          for _ in range(n_resamples)]
    scores = np.empty((n_rules, len(weights)))
    for column, weight in enumerate(weights):
        confusion = np.bincount(
            cells.ravel(), weights=np.tile(weight, n_rules),
            minlength=n_rules * n_classes ** 2,
        ).reshape(n_rules, n_classes, n_classes)
        true, predicted = confusion.sum(axis=2), confusion.sum(axis=1)
        hits = np.diagonal(confusion, axis1=1, axis2=2)
        counted = true + predicted > 0
        f1 = 2 * hits / np.where(counted, true + predicted, 1)
        scores[:, column] = f1.sum(axis=1) / np.maximum(counted.sum(axis=1), 1)
    return scores


def held_out_weights(fit, rows, head):
    """The weight of labelled ``rows`` in a head's held-out score: the sample
    (or cell) weight of their cells.

    Not their class weight: 'balanced' weights already move training towards
    the rare classes, and counting them again in the score chose strengths
    that over-predicted those classes (GoEmotions' single-emotion comments,
    7-class task: macro-F1 56.59 -> 52.78).

    Returns
    -------
    weight : ndarray of shape (len(rows),)
    """
    args = fit.kernel_args
    return (args["cell_weight"][rows, head] if args["cell_weight"].size
            else args["sample_weight"][rows])


def held_out_calibration(estimator, fit, trained, held):
    """Per head, the best prior correction, temperature and refinement weight
    on the held-out rows of a trained state.

    The temperature is chosen for the logits that ``predict_proba`` divides
    by it: corrected by the chosen strength under ``prior_correction='auto'``,
    else by the estimator's own. The margin labels of a multi-label task
    (``_model.choose_margin_labels``) share one temperature, chosen on all of
    their held-out rows, and take no prior correction under 'auto': a
    label's threshold serves its F1. The refinement weight
    (``_refinement.best_weight``) is chosen for those calibrated logits.
    Parameters are those of ``held_out_thresholds``.

    Returns
    -------
    temperatures, strengths : ndarray of shape (n_heads,)
        NaN for a head without them (not calibrated, or no held-out label
        of positive weight; a margin label has no strength);
        a strength of 0 for a head with fewer than ``PRIOR_STRENGTH_MIN_ROWS``
        labelled held-out rows of positive weight a class.
    refinements : tuple
        ``_refinement.finer_heads``'s two values and the refinement weight of
        each head (NaN for none).
    """
    heads = _heads_to_calibrate(estimator, fit, held)
    temperatures, strengths = np.full((2, len(heads)), np.nan)
    calibrated_logits = {}
    if heads.any():
        logits = _model.map_logits(
            fit.X[held], trained, estimator.activation, trained["class_offsets_"],
            lambda Z: Z, None, trained["private_offsets_"])
    offsets = trained["class_offsets_"]
    labels = {}
    for head in np.flatnonzero(heads):
        codes = fit.Y[held, head]
        labelled = codes != MISSING
        weight = held_out_weights(fit, held[labelled], head)
        if not weight.any():
            continue
        log_prior = trained["class_log_prior_"][offsets[head]:offsets[head + 1]]
        if _margin_labels(fit)[head]:
            labels.setdefault(fit.head_task[head], []).append(
                (head, logits[head][labelled] - _label_strength(estimator) * log_prior,
                 codes[labelled], weight))
            continue
        strengths[head] = 0.0
        if np.count_nonzero(weight) >= PRIOR_STRENGTH_MIN_ROWS * len(log_prior):
            strengths[head] = best_prior_strength(
                logits[head][labelled], codes[labelled], log_prior, weight)
        in_use = strengths[head] if isinstance(
            estimator.prior_correction, str) else estimator.prior_correction
        corrected = logits[head] - in_use * log_prior
        temperatures[head] = best_temperature(corrected[labelled], codes[labelled],
                                              weight)
        calibrated_logits[head] = corrected / temperatures[head]
    for task_labels in labels.values():
        own, corrected, codes, weight = zip(*task_labels)
        temperatures[list(own)] = best_temperature(
            np.concatenate(corrected), np.concatenate(codes), np.concatenate(weight))
    return temperatures, strengths, _refinements(
        estimator, fit, held, calibrated_logits)


def _label_strength(estimator):
    """The prior correction of a label trained with a margin loss: none under
    'auto' (``_model.prior_correction_strength``), else the estimator's."""
    return _model.prior_correction_strength(estimator.prior_correction,
                                            "modified_huber")


def _refinements(estimator, fit, held, calibrated_logits):
    """``held_out_calibration``'s refinements, from the calibrated logits
    of the held-out rows (a dict over the heads that have them)."""
    n_heads = len(fit.head_task)
    finer, class_maps = _refinement.finer_heads(
        fit.Y[fit.train_rows], np.diff(fit.state["class_offsets_"]),
        _model.calibrated_heads(estimator.loss, fit.state["class_offsets_"],
                                _margin_labels(fit)) & ~_margin_labels(fit))
    weights = np.full(n_heads, np.nan)
    for coarse in np.flatnonzero(finer >= 0):
        fine = finer[coarse]
        if coarse not in calibrated_logits or fine not in calibrated_logits:
            continue
        codes = fit.Y[held, coarse]
        labelled = codes != MISSING
        weights[coarse] = _refinement.best_weight(
            calibrated_logits[coarse][labelled], calibrated_logits[fine][labelled],
            class_maps[coarse], codes[labelled],
            held_out_weights(fit, held[labelled], coarse))
    return finer, class_maps, weights


def held_out_thresholds(estimator, fit, trained, held):
    """Per head, the best threshold on the held-out rows of a trained state.

    Parameters
    ----------
    estimator : MultiTaskTextClassifier
    fit : PreparedFit
        The whole fit (its rows and label codes).
    trained : dict
        The state trained on the other rows (``_training._held_out_choices``).
    held : ndarray
        The held-out rows.

    Returns
    -------
    thresholds : ndarray of shape (n_heads,)
        NaN for a head without one (no threshold, or no held-out row of its
        served class of positive weight).
    """
    heads, served = _heads_to_choose(fit, held)
    margins = head_margins(fit.X[held], trained, estimator.activation,
                           _model.prior_offset(estimator.prior_correction,
                                               estimator.loss,
                                               trained["class_log_prior_"],
                                               trained["class_offsets_"],
                                               _margin_labels(fit)))
    averages = f1_averages(fit.state["multilabel_"], fit.head_task)
    out = np.full(len(heads), np.nan)
    for head in np.flatnonzero(heads):
        codes = fit.Y[held, head]
        labelled = codes != MISSING
        weight = held_out_weights(fit, held[labelled], head)
        if weight[codes[labelled] == served[head]].any():
            out[head] = best_threshold(margins[head][labelled], codes[labelled],
                                       served[head], averages[head], weight)
    return out


def set_fitted_calibration(estimator, fit, state, temperatures, strengths,
                           refinements):
    """The temperatures, prior strengths and refinements of a fitted state,
    in ``state["temperature_"]``, ``state["prior_strength_"]`` and the
    attributes of ``_refinement.no_refinements``.

    ``temperatures``, ``strengths`` and ``refinements`` are
    ``held_out_calibration``'s (NaN for none; None for no refinements): a
    task without them keeps a temperature of 1 and the strength of its loss
    (``_model.auto_prior_strengths``), and reads no other task.
    """
    n_tasks = state["n_tasks_"]
    temperature = np.ones(n_tasks)
    prior_strength = _model.auto_prior_strengths(
        estimator.loss, state["class_offsets_"], fit.head_task, n_tasks,
        _margin_labels(fit))
    chosen = ~np.isnan(temperatures)
    temperature[fit.head_task[chosen]] = temperatures[chosen]
    chosen = ~np.isnan(strengths)
    prior_strength[fit.head_task[chosen]] = strengths[chosen]
    state["temperature_"] = temperature
    state["prior_strength_"] = prior_strength
    state.update(_refinement.no_refinements(n_tasks) if refinements is None else
                 _refinement.fitted_refinements(*refinements, fit.head_task, n_tasks))


def set_fitted_thresholds(estimator, fit, state, held_out):
    """The thresholds of a fitted state, in ``state["thresholds_"]``.

    Each head with a threshold gets the more favourable to its served class
    of two: the rule of the training rows alone, and its held-out threshold
    (``held_out``, NaN for none; a head left without one takes
    ``_balanced_where_unseen``'s). The rule of the training rows is 0 (the
    prior correction) for a binary task; for a label it is also at most the
    threshold maximising the F1 expected under the model's own probabilities
    on the training rows (no labels read, so nothing memorised is tuned to):
    F1 is highest below a probability of one half, at half the best F1 for
    calibrated probabilities (Lipton et al., 2014), which the prior
    correction alone does not reach for a frequent label. That needs the
    log loss's logits: with a margin loss a label's rule is 0.

    A multi-label task's thresholds are an array (a label that training saw
    as a constant keeps its value); an imbalanced binary task's, a float; any
    other task's, None.
    """
    head_task = fit.head_task
    heads, served = heads_with_thresholds(
        state["_class_counts_seen"], state["class_offsets_"],
        state["multilabel_"], head_task)
    plug_in_heads = heads & state["multilabel_"][head_task] & (_model.head_losses(
        estimator.loss, state["class_offsets_"], _margin_labels(fit)) == "log_loss")
    plug_in = np.zeros(len(head_task))
    if plug_in_heads.any():
        margins = head_margins(fit.X[fit.train_rows], state, estimator.activation,
                               None)
        log_prior = state["class_log_prior_"]
        for head in np.flatnonzero(plug_in_heads):
            lo = state["class_offsets_"][head]
            labelled = fit.Y[fit.train_rows, head] != MISSING
            corrected = _model.prior_correction_strength(
                estimator.prior_correction, "log_loss"
            ) * (log_prior[lo + 1] - log_prior[lo])
            plug_in[head] = min(0.0, expected_f1_threshold(
                margins[head][labelled]) - corrected)
    held_out = _balanced_where_unseen(estimator, state, heads, held_out)
    favourable = np.where(served == 1, np.fmin(plug_in, held_out),
                          np.fmax(plug_in, held_out))
    thresholds = [copy.copy(t) for t in per_task(state["thresholds_"],
                                                 state["_is_1d"])]
    for t in range(state["n_tasks_"]):
        own = np.flatnonzero(head_task == t)
        if state["multilabel_"][t]:
            thresholds[t][heads[own]] = favourable[own][heads[own]]
        else:
            thresholds[t] = float(favourable[own[0]]) if heads[own[0]] else None
    state["thresholds_"] = thresholds[0] if state["_is_1d"] else thresholds


def _balanced_where_unseen(estimator, state, heads, held_out):
    """``held_out``, with the threshold of the full prior correction for each
    head (a binary task or a label) that held-out rows were drawn for but that
    got no cut (none of them of its served class).

    With the log loss and ``prior_correction='auto'`` the margin is corrected
    by half the log prior ratio; the other half as its threshold makes the
    decision that of balanced classes. Without held-out evidence this is
    nearer a rare task's best cut than 0 is: 20 Newsgroups' topics as binary
    tasks, six topics cut to 3 to 80 training messages, the test cuts of best
    F1 of the four rarest lay 2.7 to 4.0 below 0 and this threshold 3.0 to 3.8
    below (the user guide's "Thresholds from held-out rows" has the F1). A
    label takes the lower of this and its rule of the training rows, as it
    would a held-out cut. Margin losses (a margin label's too: it is one
    that held-out rows are expected to hold) and a numeric
    ``prior_correction`` keep their cut of 0, and ``threshold_holdout=0``
    the rule of the training rows.

    Returns
    -------
    held_out : ndarray of shape (n_heads,)
    """
    unseen = heads & np.isnan(held_out) & (_model.head_losses(
        estimator.loss, state["class_offsets_"], state["_margin_labels"]
    ) == "log_loss")
    if (estimator.prior_correction != "auto"
            or held_out_share(estimator, state["multilabel_"]) == 0
            or not unseen.any()):
        return held_out
    lo = state["class_offsets_"][:-1][unseen]
    log_prior = state["class_log_prior_"]
    strength = _model.prior_correction_strength("auto", "log_loss")
    out = held_out.copy()
    out[unseen] = (1 - strength) * (log_prior[lo + 1] - log_prior[lo])
    return out


def per_task(value, is_1d):
    """A per-task fitted attribute as a list over tasks (even for a 1-D ``y``)."""
    return [value] if is_1d else value


def prediction_offset(prior_offset, thresholds, classes, multilabel, class_offsets):
    """What prediction adds to the logits: the prior correction, and minus each
    binary task's threshold on its class 1.

    Parameters
    ----------
    prior_offset : ndarray of shape (n_classes_total,) or None
        ``_model.prior_offset``.
    thresholds, classes : list over tasks
        The fitted ``thresholds_`` and ``classes_``.
    multilabel : ndarray of shape (n_tasks,), dtype=bool
    class_offsets : ndarray of shape (n_heads + 1,)

    Returns
    -------
    offset : ndarray of shape (n_classes_total,) or None
    """
    head_task = head_tasks(classes, multilabel)
    binary = [t for t, value in enumerate(thresholds)
              if value is not None and not multilabel[t]]
    if not binary:
        return prior_offset
    offset = (np.zeros(class_offsets[-1]) if prior_offset is None
              else prior_offset.copy())
    for t in binary:
        head = np.flatnonzero(head_task == t)[0]
        offset[class_offsets[head] + 1] -= thresholds[t]
    return offset


def tuned_thresholds(estimator, margins, codes, sample_weight):
    """The thresholds of a fitted estimator that maximise each head's F1 on dev rows
    (``f1_averages``).

    Parameters
    ----------
    estimator : MultiTaskTextClassifier
        Fitted.
    margins : list of ndarray of shape (n_samples,)
        Each head's margin on the dev rows, before its threshold.
    codes : ndarray of shape (n_samples, n_heads)
        The dev rows' label codes (``MISSING`` where unlabelled).
    sample_weight : ndarray of shape (n_samples,)
        The dev rows' weights in the F1.

    Returns
    -------
    thresholds : list over tasks
        As ``thresholds_``; a head with no dev row of its served class (of
        positive weight) keeps its threshold.
    """
    classes = per_task(estimator.classes_, estimator._is_1d)
    head_task = head_tasks(classes, estimator.multilabel_)
    thresholds = [copy.copy(t) for t in per_task(estimator.thresholds_,
                                                 estimator._is_1d)]
    _, served = heads_with_thresholds(
        estimator._class_counts_seen, estimator.class_offsets_,
        estimator.multilabel_, head_task)
    averages = f1_averages(estimator.multilabel_, head_task)
    for t, value in enumerate(thresholds):
        if value is None:
            continue
        for position, head in enumerate(np.flatnonzero(head_task == t)):
            labelled = codes[:, head] != MISSING
            weight = sample_weight[labelled]
            if not weight[codes[labelled, head] == served[head]].any():
                continue
            best = best_threshold(margins[head][labelled], codes[labelled, head],
                                  served[head], averages[head], weight)
            if estimator.multilabel_[t]:
                thresholds[t][position] = best
            else:
                thresholds[t] = best
    return thresholds
