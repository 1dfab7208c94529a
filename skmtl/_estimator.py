"""The multi-task estimator's public API: parameters, fitting, prediction."""

import functools
import threading
import warnings
import weakref
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_expit
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.extmath import softmax
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from . import (
    __version__,
    _model,
    _refinement,
    _sgd_fast,
    _thresholds,
    _training,
    _validation,
)
from ._repr import DocLinkMixin
from ._tasks import MISSING, as_task_columns, encode_columns, head_tasks
from .exceptions import InconsistentVersionWarning
from .metrics import mean_task_score

# One lock per instance, so that its fits run one after the other.
_FIT_LOCKS = weakref.WeakKeyDictionary()
_FIT_LOCKS_GUARD = threading.Lock()


def _has_probabilities(estimator):
    return estimator.loss in ("auto", "log_loss")


class MultiTaskTextClassifier(
    DocLinkMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    ClassifierMixin,
    BaseEstimator,
):
    """Multi-task classifier with a shared layer over sparse text features.

    Several classification tasks over the same documents are learned at once: a
    shared layer maps each sparse row ``x`` (TF-IDF, counts, hashing) to a dense
    representation ``h = phi(W^T x + b)`` of width ``n_components``, and each task
    ``t`` has its own softmax head ``z_t = V_t h + c_t`` (plus, optionally, a
    task-private linear part ``U_t^T x``). The model minimises

        sum_t  lambda_t * sum over samples labelled for t of
               sample_weight * class_weight_t(y) * loss(z_t(x), y)  + penalties

    (every labelled cell counts once, so each task is fitted with the strength
    a model of its own would give it) by SGD, in a Cython kernel that evaluates
    only the heads of the tasks labelled on a row, so labels may be missing.
    Only relative weights matter: task weights are scaled to a mean of one over
    the tasks, class weights to a mean of one over each task's labelled cells
    and sample weights are divided by the median of the positive ones (with
    ``partial_fit``, of the first call's). Each step's size depends
    only on its own row: see ``eta0``.

    With a 1-D ``y`` the estimator is an ordinary (single-task) classifier; with a
    2-D ``Y`` (array-like or DataFrame, one column per task) it fits all tasks.
    A task whose cells are label collections (list, tuple, set or frozenset) is
    multi-label: it gets one logistic unit per label (a two-class head,
    absent or present), trained jointly with the other heads; an empty
    collection means that no label applies, while ``None``, ``NaN``, ``pd.NA``
    or ``missing_label`` mean that the cell is unlabelled.

    Parameters
    ----------
    n_components : int, default=32
        Width ``k`` of the shared layer. Values must be in the range ``[0, inf)``;
        0 (only with ``private=True``) gives independent linear models per task.
    activation : {'identity', 'relu', 'tanh'}, default='identity'
        Non-linearity ``phi`` of the shared layer. 'relu' needs a smaller
        ``eta0``: at the default 0.5, a step can push a unit below zero on
        every row, where no gradient reaches it again (FDU-MTL: all 32 units,
        49.8 % accuracy; with ``eta0=0.1``, 4 of 32 units and 88.1 %). ``fit``
        warns (``ConvergenceWarning``) when the shared layer then gives every
        training row the same logits (see ``penalty``).
    private : bool or 'auto', default='auto'
        Whether heads also have a private linear part ``U_t^T x`` on the input
        features (learned with L2 strength ``alpha_private``): every head
        (True), none (False), or ('auto') every head but those of balanced
        two-class tasks. 'auto' gives one to each task of three or more
        classes, and to each binary task and each label of a multi-label task
        whose smaller class has less than 45 % of its labelled rows in the
        first ``fit`` (or ``partial_fit`` call); training that continues
        keeps that choice. A rare class is what the shared layer, shaped by
        every task's gradients, fits worst (GoEmotions' 28 emotions as 28
        binary tasks: macro-F1 39.9 without, 45.0 with a private part; its
        nested tasks of the panel benchmark, with the log loss: 67.3 without
        one for the multiclass tasks, 70.8 with); a balanced binary task
        gains nothing measurable from it (FDU-MTL's 16 sentiment domains:
        +0.03 points of accuracy). The part costs ``n_features_in_`` values
        a class of the heads that have it, in memory and in each step's
        work: an epoch on FDU-MTL takes 1.7 times as long with it.
    alpha_private : float, default=1e-5
        L2 penalty on the task-private part. Values must be in ``[0, inf)``.
    loss : {'auto', 'log_loss', 'hinge', 'modified_huber'}, default='auto'
        Loss of each head: ('auto') the one-vs-rest modified Huber loss for
        tasks of three or more classes and for the labels of multi-label
        tasks of which ``fit``'s held-out rows (``threshold_holdout``) can be
        expected to hold four positives (those labels' private parts then
        step a quarter as far: four times ``alpha_private``), and the log
        loss for binary tasks and rarer labels; ('log_loss') softmax cross-entropy
        for every head; ('hinge') the one-vs-rest hinge loss for every head,
        as ``LinearSVC(loss='hinge')``; ('modified_huber') the one-vs-rest
        modified Huber loss for every head: scikit-learn's
        ``SGDClassifier(loss='modified_huber')`` divided by 4, ``(1 - m)^2 /
        4`` for a margin ``m`` in ``[-1, 1]``, ``-m`` below and 0 above, the
        hinge made smooth at the margin with the same slope of at most 1.
        The margin losses classify multiclass text more accurately; the log
        loss gives the probabilities that the decision thresholds of rare
        binary classes and the prior correction read. On the panel benchmark
        (``benchmarks/bench_panel.py``, three seeds), 'auto' against
        'log_loss': 20 Newsgroups 89.3 against 88.3 accuracy, TREC 86.0
        against 84.5 (macro-F1 79.5 against 75.7), the mixed corpus 71.8
        against 71.0; macro-F1 on the nested GoEmotions tasks 72.2 against
        72.1, on GoEmotions' single-emotion comments as tasks of 28, 7 and 4
        classes 52.9 against 52.8; FDU-MTL's and GoEmotions' binary tasks
        the same. For the labels of multi-label tasks, GoEmotions' three
        taxonomies as three such tasks (``benchmarks/bench_multilabel.py``,
        one seed), macro-F1 47.8 / 58.7 / 63.8 against 46.4 / 57.2 / 63.3
        with the log loss (the user guide's "Multi-label tasks"). With the
        hinge loss for its multiclass tasks, 'auto' gave
        89.2, 86.2 and 52.4 on 20 Newsgroups, TREC and the single-emotion
        comments (the user guide's "Choosing the loss"). For binary tasks,
        'hinge' against 'auto' (the log loss): 82.9 against 80.2 mean F1 on
        20 Newsgroups' newsgroups as 20 binary topic tasks, 56.4 against
        57.9 on GoEmotions' Ekman labels. With 'auto', ``predict_proba``
        divides a multiclass task's logits by a temperature chosen on
        held-out rows (``temperature_``), at the cost of a second fit of half
        the epochs; 'hinge' and 'modified_huber' give no probabilities.
    penalty : {'l2', 'l1', 'elasticnet'} or None, default='l2'
        Penalty on the shared layer ``W``. L1 uses the cumulative penalty of
        Tsuruoka et al. (2009), so a sparse row stays cheap. L1 needs a
        smaller ``alpha`` than L2: at the default 1e-4 it zeroes every weight
        of FDU-MTL's shared layer (accuracy 49.8 %, chance), at 1e-5 it
        gives 88.2 % (``random_state=0``). The heads' ``V`` always get an L2
        penalty of strength ``alpha_heads`` unless ``penalty=None``. ``fit``
        warns (``ConvergenceWarning``) when the shared layer gives every
        training row the same logits while a head has no private part.
    alpha : float, default=1e-4
        Strength of the penalty on the shared layer ``W``. Values must be in
        ``[0, inf)``.
    alpha_heads : float, default=1e-3
        L2 penalty on the heads' weights on the shared layer ``V``. Values
        must be in ``[0, inf)``. Stronger than ``alpha``: a task with a
        private part then leans on the shared layer only where it fits the
        task better, and falls back towards a linear model of its own where
        the tasks share little (the user guide's section "The heads' penalty"
        has the panel's figures). With ``private=False`` no head has a part of
        its own to fall back on: pass ``1e-4`` (on GoEmotions' 28 labels as a
        multi-label task, macro-F1 40.8 against 32.4 with ``1e-3``).
    l1_ratio : float, default=0.15
        Share of L1 in the elastic-net penalty (1 for 'l1', 0 for 'l2').
    task_weights : array-like of shape (n_tasks,), dict or None, default=None
        Weights ``lambda_t`` of the tasks' losses, by position or by task name (a
        dict may omit tasks: they get 1). None gives equal weights. Weights must be
        non-negative, finite and not all zero; they are scaled to a mean of one
        over the tasks (with the default, every labelled cell counts once).
    class_weight : dict, list, 'balanced' or None, default=None
        Class weights. For a single task (1-D ``y``): ``{label: weight}`` or
        'balanced', as in scikit-learn. For several tasks: 'balanced' (every task),
        a dict ``{task_name: {label: weight} or 'balanced'}`` (tasks left out are
        unweighted) or a list with one such entry (or None) per task. 'balanced'
        uses the labelled samples of each task (with ``partial_fit``, those of all
        batches so far). Weights must be finite and non-negative; each task's
        are scaled to a mean of one over its labelled rows, so they move weight
        between its classes without changing the task's total weight. For a
        multi-label task, a dict ``{label: weight}`` weighs the cells where
        the label is present, and 'balanced' balances each label's present
        and absent cells by its own counts. A row's class weight scales every
        one-vs-rest term of a margin-loss head (``LinearSVC``'s scales only
        the term of the row's own class): 'balanced' can hurt a task where
        one class dominates many (the user guide's "Rare classes").
    prior_correction : float or 'auto', default='auto'
        How far prediction moves each task's decisions from its frequent classes
        towards its rare ones: ``decision_function``, ``predict``,
        ``predict_proba`` and ``score`` subtract ``prior_correction *
        class_log_prior_`` from the logits, where a class's prior is its share
        of the task's training weight (labelled rows times class weight). 0
        predicts the class the model finds most probable, which maximises
        accuracy if its probabilities are calibrated; 1 is the logit adjustment
        of Menon et al. (2021), which aims at balanced accuracy. 'auto' is 0.5
        for the heads trained with the log loss; for a multiclass task that
        ``loss='auto'`` trains with the modified Huber loss, whose scores are
        margins, not log probabilities, it is the task's ``prior_strength_``,
        chosen on the rows ``fit`` holds out (``threshold_holdout``) for the
        task's macro-F1; 0 for the heads of ``loss='hinge'`` and
        ``'modified_huber'``. A penalised model trained
        by SGD on the log loss under-predicts rare classes, so 0.5 corrects
        halfway: on the panel benchmark (``benchmarks/bench_panel.py``, means of
        three seeds) it raised F1 on GoEmotions' rare binary labels from 57.4 to
        57.9 (by about 6 with ``threshold_holdout=0``), and with
        ``loss='log_loss'`` TREC's fine-grained accuracy from 80.5 to 81.3 and
        macro-F1 on GoEmotions' four negative emotions from 65.8 to 70.9; it
        moved accuracy on nearly balanced tasks by at most 0.15 point. A class
        weight counts at most one in a step, so 'balanced' class weights even
        the priors out only partly, and the correction takes out what they
        leave. Read at prediction time: ``set_params(prior_correction=...)`` on
        a fitted model changes its decisions without refitting, e.g. to tune it
        on dev data. Values must be 'auto' or in ``[0, inf)``.
    threshold_holdout : float or 'auto', default='auto'
        Share of the training rows that ``fit`` holds out to choose the
        decision thresholds (``thresholds_``) of the labels of multi-label
        tasks and of the imbalanced binary tasks (smaller class under 45 % of
        the labelled rows): it trains a model on the other rows, takes the
        threshold that maximises each head's F1 on the held-out rows (a
        label's F1 of "present", a binary task's macro-F1: the mean of its
        two classes' F1; rows count by their sample or cell weight, as in
        ``f1_score``), then trains the model on all rows.
        Each head keeps whichever of that threshold and the one it gets
        without held-out rows predicts its rare class more often (the first
        needs a held-out row of the rare class). A head with none (likely
        when its rare class has a few tens of training rows or fewer) takes,
        with the log loss and ``prior_correction='auto'``, the rest of the
        prior correction as its cut, the decision of balanced classes,
        instead of 0 (a label: if lower than its other rule).
        The first fit doubles the time of a ``fit`` with such heads on one
        thread (two threads train the two fits at once: ``n_jobs``; a first
        fit that chooses only temperatures, see ``loss``, trains half the
        epochs); it buys
        F1 where the training rows overstate how sure the model is on new
        rows: GoEmotions' 7 Ekman labels as binary tasks, mean F1 of three
        seeds, 32.0 -> 41.4 on 3,000 training rows, 45.8 -> 48.4 on 10,000,
        57.4 -> 57.4 on all 43,410 (measured when a binary task's threshold
        served its rare class's F1 alone). Accuracy of those tasks can go
        down. With
        ``loss='auto'`` the same held-out rows give each multiclass task's
        ``temperature_`` and ``prior_strength_``, and the labels that
        ``loss='auto'`` trains with the margin loss (see ``loss``) are those
        with four positives expected among them. 0 chooses the thresholds
        from the training rows alone, in one fit, trains every label with
        the log loss, and leaves every
        temperature at 1 and every multiclass task's prior strength at 0.
        'auto' holds out a fifth of the rows when a task is multi-label,
        else a tenth (``_thresholds.held_out_share``).
        ``partial_fit`` holds nothing out. Values must be 'auto' or in
        ``[0, 1)``.
    learning_rate : {'linear', 'optimal', 'constant'}, default='linear'
        Step size schedule: 'linear' decays from ``eta0`` to 0 over the
        ``max_iter`` epochs of ``fit`` (as fastText); 'optimal' is
        ``eta0 / (1 + eta0 * alpha * t)`` at the ``t``-th row visited since
        the model was new (Bottou, 2012: scikit-learn's 'optimal', with the
        first step ``eta0``; constant with ``penalty=None``); 'constant'
        keeps ``eta0``. ``partial_fit`` has no horizon: it uses 'constant'
        if asked and 'optimal' otherwise. A constant step keeps a stream's
        model moving as much on its last batch as on its first: FDU-MTL
        streamed ten times in batches of 1,000 rows scored 67 to 85 %
        accuracy from pass to pass, against 87 to 89 % from the fifth pass
        with 'optimal' (``random_state=0``).
    eta0 : float, default=0.5
        Initial step size. Values must be in the range ``(0, inf)``. Each step is
        bounded by its own row only, never by another row, task or weight: a
        labelled cell's weight ``w`` (task, class and sample weights, each of
        about one on average) enters a step with at most 1, so larger weights
        count as 1 in a step; the shared layer's step is divided by
        ``max(1, r * m)``, with ``r`` the larger of 1 and ``||x||^2`` in units
        of the median ``||x||^2`` of the labelled training rows (1 for TF-IDF
        rows) and ``m`` the row's number of labelled cells of positive weight,
        and a head's by ``max(1, eta * (1 + ||h||^2))``.
        These bounds leave the weights out, so a cell of weight ``w`` steps
        ``w`` times as far as one of weight 1 on rows of any norm. Rows of the
        median norm with one label and default weights therefore step by
        ``eta0`` itself, ``X * c`` trains to the same predictions as ``X``
        for any ``c > 0`` (raw counts and TF-IDF of unit L1 norm train
        without rescaling), and a task's head moves as fast whatever the
        number of tasks. On long documents the private part steps further:
        ``fit`` multiplies its steps by ``sqrt(d / 25)`` within ``[1, 2]``,
        with ``d`` the median number of features of the labelled rows
        (``partial_fit`` keeps its first call's), since a row of unit norm
        moves each of its ``d`` weights by about ``1 / sqrt(d)`` of its step
        (20 Newsgroups, 253 features a row: 89.31 -> 89.46 % accuracy, its
        topics as binary tasks 80.16 -> 80.85 mean F1; rows of 25 features
        or fewer, as tweets and questions, step as before).
        If training still diverges (after
        an epoch, the loss or a parameter is no longer finite, or a task's mean
        loss exceeds 1e6 per unit of the largest row weight), ``fit`` and
        ``partial_fit`` raise a ``ValueError`` naming ``eta0`` and leave the
        estimator as it was before the call (unfitted if it was), never with
        NaN or exploded parameters.
    max_iter : int or 'auto', default='auto'
        Number of epochs (passes over the data) of ``fit``. 'auto' passes
        until the median task's heads have stepped on about 30,000 labelled
        rows: ``ceil(30000 / m)`` epochs with ``m`` the median number of
        labelled training rows of the tasks (of positive weight), within
        ``[10, 20]``, so 20 for tasks of 1,500 rows and 10 for 3,000 or more.
        Small tasks need more passes and large ones overfit with them: from
        10 to 20 epochs, FDU-MTL (1,400 rows a task) rose from 88.45 to 88.70 %
        accuracy, TREC (5,452) fell from 86.20 to 85.50 %. ``n_iter_`` gives
        the epochs run. An int must be in ``[1, inf)``.
    tol : float or None, default=None
        Stopping tolerance: training stops when the training loss (or, with
        ``early_stopping``, the validation score) has not improved by ``tol`` for
        ``n_iter_no_change`` epochs. None runs all ``max_iter`` epochs.
    n_iter_no_change : int, default=5
        Number of epochs without improvement before stopping.
    early_stopping : bool, default=False
        Whether to hold out ``validation_fraction`` of the training rows and stop
        on the mean validation accuracy over tasks (needs ``tol``; None is taken
        as 0 here). At the end, the parameters of the epoch with the best
        validation score are restored; they are copied whenever the score
        improves, which holds one more set of parameters in memory.
    validation_fraction : float, default=0.1
        Share of rows held out for early stopping. Values must be in ``(0, 1)``.
    shuffle : bool, default=True
        Whether to visit the rows in a new random order each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial shared layer, the shuffling and the validation split.
        Fitting is deterministic for a fixed value when ``n_jobs`` is 1.
    n_jobs : int or None, default=None
        Number of threads of the SGD kernel; None means 1, -1 all CPUs (-2 all
        but one, and so on, as in joblib). A ``fit`` that trains a second model
        for its thresholds or temperatures (``threshold_holdout``: with
        multi-label, imbalanced binary or, with ``loss='auto'``, multiclass
        tasks) trains the two side by side, on half of the threads each, and
        the fit's own training takes every thread once the held-out one is
        done: with 2 threads, the thresholds and temperatures are those of
        one thread, bit for bit. Otherwise (and within each half) the threads
        take their own rows of the epoch and update the shared parameters
        without locks (Hogwild, as fastText does): training is faster where
        the cores are near each other, its accuracy the same up to SGD's
        noise, but the result depends on the threads' timing and is not
        reproducible even with a fixed ``random_state``. The initial shared
        layer is also drawn on these threads, with the same values for any
        ``n_jobs``. Prediction does not use these threads.
    warm_start : bool, default=False
        Whether ``fit`` continues from the current parameters (the tasks, classes
        and number of features must not change).
    verbose : int, default=0
        Print the per-task training loss after each epoch when positive.
    missing_label : int, float, str or None, default=None
        A label value that marks a missing label, in addition to ``None``, ``NaN``
        and ``pd.NA`` which always do. Use a sentinel (-1 for integer labels, ''
        for strings) with scikit-learn's model selection: ``GridSearchCV(cv=5)``
        calls ``type_of_target(Y)``, which rejects ``NaN``/``None`` in ``Y``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) or list of ndarray
        Classes of the task (1-D ``y``), or a list with the classes of each task
        (a multi-label task's labels).
    multilabel_ : ndarray of shape (`n_tasks_`,), dtype=bool
        Whether each task is multi-label (its cells are label collections).
    thresholds_ : list of (ndarray of shape (n_labels_t,), float or None), or one entry
        Per task (the entry itself for a 1-D ``y``): for a multi-label task,
        the threshold of each label, predicted where its margin (the logit
        of "present" minus that of "absent", after ``prior_correction``)
        exceeds it; for an imbalanced binary task (its
        smaller class under 45 % of the labelled rows), the threshold that
        the logit of ``classes_[1]`` minus that of ``classes_[0]`` (after
        ``prior_correction``) must exceed for ``classes_[1]``; None for other
        tasks. ``fit`` chooses them on held-out rows (``threshold_holdout``;
        a label's F1, a binary task's macro-F1; a head without a held-out
        row of its rare class gets the rest of its prior correction, but a
        label that ``loss='auto'`` trains with the margin loss keeps 0),
        no stricter for the rare class than 0 and, for a label, than the
        threshold that maximises the F1 expected under the model's own
        probabilities on the training rows (a frequent label's F1 needs a
        threshold below one half, which the prior correction alone does not
        give; log loss only). ``partial_fit`` leaves them (0, or None for a
        binary task, after its first call); ``tune_thresholds`` sets them to
        maximise each head's F1 on dev data, and they may be set by hand.
    temperature_ : ndarray of shape (`n_tasks_`,)
        What ``predict_proba`` divides each task's logits by before the
        softmax (a label's score, before the sigmoid). With ``loss='auto'``,
        for a multiclass or multi-label task (trained with the modified Huber
        loss, whose margins are not log probabilities), the temperature that
        minimises the log loss of its logits, after the prior correction, on
        the rows ``fit`` holds out (``threshold_holdout``; temperature
        scaling, Guo et al., 2017; one for all labels of a task); 1 for
        every other task, with ``threshold_holdout=0`` and after
        ``partial_fit``. Decisions do not depend on it but for the tasks
        that read another's probabilities (``refined_by_``).
    prior_strength_ : ndarray of shape (`n_tasks_`,)
        The ``prior_correction`` that 'auto' gives each task: 0.5 for a task
        trained with the log loss (a multi-label task's labels on the log
        loss; its labels on the margin loss take 0, and so does a task of
        them alone); for a multiclass task that ``loss='auto'``
        trains with the modified Huber loss, the weakest of 0, 0.05, ..., 1 whose
        macro-F1 on the rows ``fit`` holds out (``threshold_holdout``) is
        within half a bootstrap standard error of the best one's, so that
        a choice the noise of few rows would make stays near 0, which
        serves accuracy (the user guide's "Rare classes"); 0 for the multiclass
        tasks of ``loss='hinge'`` and ``'modified_huber'``, with
        ``threshold_holdout=0`` and in a
        model that ``partial_fit`` started. ``partial_fit`` keeps the
        strengths a ``fit`` chose, as it keeps ``thresholds_``. A number
        given as ``prior_correction`` replaces it for every task.
    refined_by_ : ndarray of shape (`n_tasks_`,), dtype=int
        For each task, the task whose classes refine its own and whose
        probabilities its decisions also read, or -1. With ``loss='auto'``,
        ``fit`` looks for multiclass tasks whose class, on every training row
        labelled for both, decides another multiclass task's class (20
        Newsgroups' newsgroups and their six top-level groups). Summed into
        the coarse task's classes, the finest such task's probabilities are a
        second estimate of the coarse task's; its decisions and probabilities
        then come from a weighted geometric mean of the two (its
        ``decision_function`` gives the mean's log probabilities, up to a
        constant a row), with the weight ``refinement_weight_`` that
        minimises their log loss on the rows ``fit`` holds out
        (``threshold_holdout``). A task whose weight is 0 reads no other
        (-1), as every task with ``threshold_holdout=0`` and in a model that
        ``partial_fit`` started; ``partial_fit`` keeps what a ``fit`` chose.
        The user guide's "Tasks that refine others" has the figures.
    refinement_weight_ : ndarray of shape (`n_tasks_`,)
        The finer task's share of that mean, in ``(0, 1]``; 0 where
        ``refined_by_`` is -1.
    n_tasks_ : int
        Number of tasks.
    task_names_ : list of str
        Name of each task: the DataFrame's columns, else ``task_0, task_1, ...``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, if ``X`` had string column names.
    shared_coef_ : ndarray of shape (`n_features_in_`, n_components)
        Shared layer ``W``, in the dtype of ``X`` (float32 or float64). Later
        ``partial_fit`` batches and prediction inputs are cast to this dtype.
    shared_intercept_ : ndarray of shape (n_components,)
        Shared layer bias ``b``.
    head_coef_ : ndarray of shape (n_classes_total, n_components)
        Heads stacked in task order: head ``h`` owns rows
        ``class_offsets_[h]:class_offsets_[h + 1]``. A multiclass task has one
        head (its classes), a multi-label task one per label (rows "absent",
        "present").
    head_intercept_ : ndarray of shape (n_classes_total,)
        Head biases ``c_t``, stacked like ``head_coef_``.
    class_log_prior_ : ndarray of shape (n_classes_total,)
        Log of each class's share of its task's training weight (labelled rows,
        plus one, times the weight its cells carry in a step: class weight
        times task weight, at most one; with ``partial_fit``, of all batches
        so far), stacked like ``head_intercept_``: what ``prior_correction``
        scales.
    private_coef_ : ndarray of shape (`n_features_in_`, n_private_classes) or None
        Task-private linear parts ``U_t`` of the heads that have one (their
        classes' columns in head order; see ``private_offsets_``), None when
        no head has one.
    private_offsets_ : ndarray of shape (n_heads,), dtype=int32
        First column of ``private_coef_`` of each head, -1 for a head without
        a private part.
    class_offsets_ : ndarray of shape (n_heads + 1,)
        Where each head's classes start in the stacked head arrays (one head
        per multiclass task, one per label of a multi-label task).
    n_iter_ : int
        Number of epochs run by the last ``fit`` (1 per ``partial_fit``).
    t_ : int
        Number of SGD steps taken since the parameters were initialised.
    loss_curve_ : ndarray of shape (n_epochs, `n_tasks_`)
        Mean training loss of each task over each epoch (weighted by sample and
        class weights, not by task weights), for all epochs since the
        parameters were initialised, ``partial_fit`` calls included.
    validation_scores_ : ndarray of shape (`n_iter_`,) or None
        Mean validation accuracy over tasks after each epoch, with
        ``early_stopping``; else None.
    best_validation_score_ : float or None
        Best of ``validation_scores_``: the score of the parameters kept, with
        ``early_stopping``; else None.
    best_loss_ : float
        Lowest training objective (the task-weighted sum of ``loss_curve_``'s
        row, without penalties) over the epochs since the parameters were
        initialised.

    See Also
    --------
    sklearn.linear_model.SGDClassifier : Single-task linear model trained by SGD.
    sklearn.multioutput.MultiOutputClassifier : Independent model per task; no
        missing labels.

    References
    ----------
    R. Caruana, "Multitask learning", Machine Learning 28, 1997.

    Y. Tsuruoka, J. Tsujii and S. Ananiadou, "Stochastic gradient descent training
    for L1-regularized log-linear models with cumulative penalty", ACL 2009.

    A. K. Menon, S. Jayasumana, A. S. Rawat, H. Jain, A. Veit and S. Kumar,
    "Long-tail learning via logit adjustment", ICLR 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmtl import MultiTaskTextClassifier
    >>> texts = ["great phone", "awful phone", "great film", "awful film"] * 10
    >>> Y = np.array([["pos", "tech"], ["neg", None], [None, "film"],
    ...               ["neg", "film"]] * 10, dtype=object)
    >>> model = make_pipeline(TfidfVectorizer(),
    ...                       MultiTaskTextClassifier(random_state=0))
    >>> model.fit(texts, Y).predict(["great film"])
    array([['pos', 'film']], dtype='<U4')
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 0, None, closed="left")],
        "activation": [StrOptions(set(_sgd_fast.ACTIVATIONS))],
        "private": ["boolean", StrOptions({"auto"})],
        "alpha_private": [Interval(Real, 0, None, closed="left")],
        "alpha_heads": [Interval(Real, 0, None, closed="left")],
        "loss": [StrOptions(set(_sgd_fast.LOSSES) | {"auto"})],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "task_weights": ["array-like", dict, None],
        "class_weight": [StrOptions({"balanced"}), dict, list, None],
        "prior_correction": [Interval(Real, 0, None, closed="left"),
                             StrOptions({"auto"})],
        "threshold_holdout": [Interval(Real, 0, 1, closed="left"),
                              StrOptions({"auto"})],
        "learning_rate": [StrOptions(set(_sgd_fast.LEARNING_RATES))],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left"),
                     StrOptions({"auto"})],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "missing_label": [Real, str, None],
    }

    def __init__(
        self,
        n_components=32,
        *,
        activation="identity",
        private="auto",
        alpha_private=1e-5,
        loss="auto",
        penalty="l2",
        alpha=1e-4,
        alpha_heads=1e-3,
        l1_ratio=0.15,
        task_weights=None,
        class_weight=None,
        prior_correction="auto",
        threshold_holdout="auto",
        learning_rate="linear",
        eta0=0.5,
        max_iter="auto",
        tol=None,
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        random_state=None,
        n_jobs=None,
        warm_start=False,
        verbose=0,
        missing_label=None,
    ):
        self.n_components = n_components
        self.activation = activation
        self.private = private
        self.alpha_private = alpha_private
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.alpha_heads = alpha_heads
        self.l1_ratio = l1_ratio
        self.task_weights = task_weights
        self.class_weight = class_weight
        self.prior_correction = prior_correction
        self.threshold_holdout = threshold_holdout
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.warm_start = warm_start
        self.verbose = verbose
        self.missing_label = missing_label

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        tags.classifier_tags.multi_label = False
        # transform() gives the shared representation, in the parameters' dtype.
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def __getstate__(self):
        # A copy: for a class outside sklearn, BaseEstimator.__getstate__ returns
        # the instance's own __dict__, so pickling used to add _skmtl_version to
        # the live model.
        state = dict(super().__getstate__())
        state["_skmtl_version"] = __version__
        return state

    def __setstate__(self, state):
        saved = state.pop("_skmtl_version", "unknown (before 0.1)")
        if saved != __version__:
            warnings.warn(
                f"Loading a {type(self).__name__} saved with skmtl {saved} into "
                f"skmtl {__version__}: its fitted state may not be valid here. "
                "Refit the model with this version, or use the version it was "
                "saved with.",
                InconsistentVersionWarning,
            )
        super().__setstate__(state)

    @property
    def _n_features_out(self):
        # Names of transform's outputs: multitasktextclassifier0, 1, ...
        return self.shared_coef_.shape[1]

    # ------------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit all tasks on X and their labels Y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, e.g. TF-IDF features. Sparse input is used as CSR and
            never densified; float32 input trains in float32. With
            ``warm_start``, X is cast to the dtype of the existing parameters.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks), or DataFrame
            Labels: one column per task (a 1-D ``y`` is a single task). Labels of
            a task are ints or strings; ``None``, ``NaN``, ``pd.NA`` and
            ``missing_label`` mark missing labels. A multi-label task's cells
            are label collections (list, tuple, set or frozenset; empty for
            "no label"). A list is read row by row: its items, lists or
            tuples, are rows with one cell per task; a single multi-label
            task is a pandas Series, a 1-D object array or a list of sets.
            A scipy sparse matrix is scikit-learn's multi-label indicator
            format for a single multi-label task whose labels are its column
            indices (a dense 2-D array is always one column per task: pass
            ``scipy.sparse.csr_matrix(Y)`` to mean an indicator).
            A multiclass task with one class, or a label present in every
            (or no) labelled cell, is learned as a constant, with a warning;
            a single task (1-D ``y``) needs two classes.
        sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), \
                default=None
            Non-negative weight of each sample, in every task's loss; or, of
            shape (n_samples, n_tasks), the weight of each (sample, task) cell
            in that task's loss (entries of unlabelled cells are ignored; a 2-D
            y only). Only relative weights matter: they are divided by the
            median of the positive weights (of the rows, or of the labelled
            cells).

        Returns
        -------
        self : object
            Fitted estimator. On any error (``KeyboardInterrupt`` included) it
            is left exactly as before the call, or unfitted if it was.
        """
        return self._fit(X, y, sample_weight, _training.FitPlan.for_fit)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch of SGD over a batch, with a step that decays over the stream.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Batch of training data. After the first call it is cast to the dtype
            of the parameters (that of the first batch: float32 or float64).
        y : array-like of shape (n_samples,) or (n_samples, n_tasks), or DataFrame
            Labels of the batch, as in ``fit``. A batch may lack labels for some
            tasks (they are not updated). Each task's loss is scaled by
            ``n / n_t``, and 'balanced' class weights computed, from the counts
            of all batches so far (``fit`` counts its data), so batches with
            the same label proportions give the same steps as
            ``fit(max_iter=1, learning_rate='optimal', shuffle=False)`` on the
            batches concatenated (``learning_rate='constant'`` likewise).
        classes : array-like, list of array-like or dict, default=None
            Classes of every task, required on the first call and ignored after:
            an array of labels for a single task, else a list with one array per
            task or a dict ``{task_name: labels}`` covering all tasks; a
            multi-label task's entry lists its labels. A task's kind is read
            from its cells in the first batch: one with no labelled cell
            there is taken as multiclass.
        sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), \
                default=None
            Non-negative weight of each sample, or of each (sample, task) cell,
            as in ``fit``. The unit of the weights (their median positive
            value) is the first call's.

        Returns
        -------
        self : object
            Fitted estimator. On any error (``KeyboardInterrupt`` included) it
            is left exactly as before the call, or unfitted if it was.
        """
        return self._fit(X, y, sample_weight, _training.FitPlan.for_partial_fit,
                         classes=classes)

    def _fit(self, X, Y, sample_weight, make_plan, classes=None):
        """Shared body of fit and partial_fit, which differ by their plan.

        Transactional: the fit trains copies and the estimator takes on the
        result at the end; on any exception (KeyboardInterrupt included) it is
        left exactly as it was. Fits of one instance from several threads run
        one after the other.
        """
        with self._fit_lock():
            plan = make_plan(self, classes)
            before = dict(vars(self))
            try:
                fit, plan, rng = _training.prepare_fit(
                    self, X, Y, sample_weight, plan, classes
                )
                state = _training.train(self, fit, plan, rng)
            except BaseException:
                vars(self).clear()
                vars(self).update(before)
                raise
            vars(self).update(state)
        return self

    def _fit_lock(self):
        # Kept outside the instance, so that pickles, copies and clones have
        # none and need no special code.
        with _FIT_LOCKS_GUARD:
            return _FIT_LOCKS.setdefault(self, threading.Lock())

    # --------------------------------------------------------------- prediction

    def _parameters(self):
        return {name: getattr(self, name) for name in _model.PARAMETERS}

    def _validate_X_predict(self, X):
        check_is_fitted(self)
        _validation.check_fitted_state(self)
        X = _validation.validate_X(self, X, reset=False)
        # Predict in the parameters' dtype, as transform documents: float64 X on
        # a float32 model would otherwise upcast W (a copy of the whole shared
        # layer on every call) and return float64.
        return _validation.as_model_dtype(X, self.shared_coef_.dtype)

    def _task_outputs(self, X, func, label_func, calibrated=False):
        """Per task: ``func`` of a multiclass task's logits, ``label_func`` of a
        multi-label task's label scores (n_samples, n_labels).

        Both come with ``prior_correction`` applied; a label's score is its
        logistic unit's logit minus its threshold (``thresholds_``), so that
        the label is predicted where the score is positive, and a binary
        task's threshold is subtracted from the logit of its second class.
        With ``calibrated``, the logits of a head trained with a margin loss
        by ``loss='auto'`` (a label's score) are divided by its task's
        ``temperature_``. A task
        that reads a finer one (``refined_by_``) gives its refined log
        probabilities (``_refinement.refined_log_proba``), calibrated already.
        """
        # Read here, not at fit, so that it can be tuned on a fitted model.
        validate_parameter_constraints(
            {"prior_correction": self._parameter_constraints["prior_correction"]},
            {"prior_correction": self.prior_correction},
            caller_name=type(self).__name__,
        )
        classes, thresholds = self._per_task("classes_"), self._per_task("thresholds_")
        offset = _thresholds.prediction_offset(
            self._prior_offset(), thresholds, classes, self.multilabel_,
            self.class_offsets_)
        head_task = head_tasks(classes, self.multilabel_)
        label_heads = self.multilabel_[head_task]
        funcs = [_label_logit if self.multilabel_[t] else func for t in head_task]
        refined_by = getattr(self, "refined_by_", None)
        scaled = calibrated & _model.calibrated_heads(
            self.loss, self.class_offsets_, _model.fitted_margin_labels(self))
        if calibrated:
            for head in np.flatnonzero(scaled & ~label_heads):
                if refined_by is None or refined_by[head_task[head]] < 0:
                    funcs[head] = functools.partial(
                        _scaled, func, self.temperature_[head_task[head]])
        refine = None if refined_by is None else _refinement.refiner(
            refined_by, self.refinement_weight_, self._refinement_map,
            self.temperature_, head_task)
        heads = _model.map_logits(
            X, self._parameters(), self.activation, self.class_offsets_, funcs,
            offset, self.private_offsets_, refine,
        )
        out = []
        for t in range(self.n_tasks_):
            own = [heads[h] for h in np.flatnonzero(head_task == t)]
            if self.multilabel_[t]:
                scores = np.column_stack(own) - thresholds[t].astype(own[0].dtype)
                scores[:, scaled[head_task == t]] /= scores.dtype.type(
                    self.temperature_[t])
                out.append(label_func(scores))
            else:
                out.append(own[0])
        return out

    def _prior_offset(self):
        """What prediction adds to the logits (``_model.prior_offset``), with
        the fitted ``prior_strength_`` where ``prior_correction='auto'``."""
        head_task = head_tasks(self._per_task("classes_"), self.multilabel_)
        return _model.prior_offset(self.prior_correction, self.loss,
                                   self.class_log_prior_, self.class_offsets_,
                                   _model.fitted_margin_labels(self),
                                   fitted=self.prior_strength_[head_task])

    def _per_task(self, name):
        """A fitted attribute as a list over tasks (even for a 1-D ``y``)."""
        value = getattr(self, name)
        return [value] if self._is_1d else value

    def _as_output(self, out):
        return out[0] if self._is_1d else out

    def transform(self, X):
        """Shared representation ``h = phi(W^T x + b)`` of each sample.

        Use it to transfer what the tasks learned to a new task with any
        scikit-learn estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        H : ndarray of shape (n_samples, n_components)
            Shared representation, in the dtype of the fitted parameters.
        """
        return _model.hidden(
            self._validate_X_predict(X), self._parameters(), self.activation
        )

    def decision_function(self, X):
        """Logits of each task.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray or list of ndarray
            Per task, with ``prior_correction`` applied, an array of shape
            (n_samples, n_classes_t), or of shape
            (n_samples,) for a binary task (the logit of the second class minus
            that of the first, as scikit-learn's binary classifiers). For a
            multi-label task, an array of shape (n_samples, n_labels_t): each
            label's margin minus its threshold (``thresholds_``), positive
            where ``predict`` gives the label. For a task that reads a finer
            one (``refined_by_``), its refined log probabilities, up to a
            constant a row. A list over tasks, or the single
            array when the model was fitted on a 1-D ``y``.
        """
        X = self._validate_X_predict(X)
        out = self._task_outputs(
            X, lambda Z: Z[:, 1] - Z[:, 0] if Z.shape[1] == 2 else Z,
            lambda scores: scores,
        )
        return self._as_output(out)

    def predict(self, X):
        """Predict the label of every task.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        Y : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            Predicted labels, in the dtype of each task's classes (object when
            the tasks' label types differ); 1-D when fitted on a 1-D ``y``.
            A multi-label task's cells are tuples of its labels, in the order
            of its ``classes_`` (empty where no label is predicted), and the
            array's dtype is then object. A model fitted on a sparse indicator
            matrix returns a sparse (CSR) indicator matrix of shape
            (n_samples, n_labels).
        """
        X = self._validate_X_predict(X)
        classes = self._per_task("classes_")
        out = self._task_outputs(X, lambda Z: Z.argmax(axis=1),
                                 lambda scores: scores > 0)
        columns = [
            _label_sets(task_classes, present) if is_multilabel
            else task_classes[present]
            for task_classes, present, is_multilabel
            in zip(classes, out, self.multilabel_)
        ]
        if self._indicator_y:
            return sp.csr_matrix(out[0], dtype=np.int64)
        if self._is_1d:
            return columns[0]
        dtype = object if self.multilabel_.any() else _common_dtype(classes)
        Y = np.empty((X.shape[0], self.n_tasks_), dtype=dtype)
        for t, column in enumerate(columns):
            Y[:, t] = column
        return Y

    @available_if(_has_probabilities)
    def predict_proba(self, X):
        """Class probabilities of every task (not with a margin ``loss``).

        Only with ``loss='auto'`` or ``'log_loss'``: the heads of
        ``loss='hinge'`` and ``'modified_huber'`` give margins, not
        probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or list of such arrays
            Per task, the probability of each class in the order of its
            ``classes_``; a list over tasks unless fitted on a 1-D ``y``. They
            are the softmax of ``decision_function``'s logits, so with a
            ``prior_correction`` above 0 rare classes get more than the model's
            own estimate (set it to 0 for those). With ``loss='auto'``, a
            multiclass task's logits (modified Huber margins) are first divided by
            its ``temperature_``, and a task that reads a finer one
            (``refined_by_``) mixes in that task's. For a multi-label task, an
            array of shape (n_samples, n_labels_t) of independent
            probabilities: the sigmoid of ``decision_function``'s scores
            (divided by its ``temperature_`` with ``loss='auto'``), above 0.5
            where ``predict`` gives the label.
        """
        X = self._validate_X_predict(X)
        out = self._task_outputs(X, lambda Z: softmax(Z, copy=False), expit,
                                 calibrated=True)
        return self._as_output(out)

    @available_if(_has_probabilities)
    def predict_log_proba(self, X):
        """Log of the class probabilities of every task (not with a margin ``loss``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes) or list of such arrays
            As ``predict_proba``, in log space (computed stably from the logits).
        """
        X = self._validate_X_predict(X)
        out = self._task_outputs(X, _model.log_softmax, log_expit, calibrated=True)
        return self._as_output(out)

    def tune_thresholds(self, X, y, sample_weight=None):
        """Set the thresholds of the two-class heads to maximise F1 on (X, y).

        Each label of a multi-label task gets the threshold on its score
        (``decision_function`` without the threshold) that maximises its F1
        (of "present"), and each binary task with a threshold (``thresholds_``
        not None: the imbalanced ones) the one that maximises its macro-F1
        (the mean of its two classes' F1), on the samples labelled for the
        task: rare classes need their own threshold for a competitive F1. Use
        data the model was not trained on (a dev split); a head with no
        sample of its rare class (a label's "present") of positive weight in
        ``y`` keeps its threshold. The thresholds are ``thresholds_``, which
        may also be set by hand.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Dev samples.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks), or DataFrame
            Their labels, as in ``fit``; only the tasks with thresholds are read.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the F1 (as ``f1_score``'s); they must be
            finite and non-negative. None weighs every sample 1.

        Returns
        -------
        self : object
            The estimator, with new ``thresholds_``.
        """
        check_is_fitted(self)
        tuned = [t for t, value in enumerate(self._per_task("thresholds_"))
                 if value is not None]
        if not tuned:
            raise ValueError(
                "tune_thresholds needs a multi-label or an imbalanced binary "
                "task; this model has none.")
        columns, names, _ = as_task_columns(y)
        _validation.check_task_names(names, len(columns), self.task_names_,
                                     type(self).__name__)
        X = self._validate_X_predict(X)
        if columns[0].shape[0] != X.shape[0]:
            raise ValueError(
                f"X and Y have inconsistent numbers of samples: {X.shape[0]} "
                f"and {columns[0].shape[0]}."
            )
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                             ensure_non_negative=True)
        classes = self._per_task("classes_")
        codes = np.full((X.shape[0], len(self.class_offsets_) - 1), MISSING)
        head_task = head_tasks(classes, self.multilabel_)
        for t in tuned:
            codes[:, head_task == t] = encode_columns(
                [columns[t]], [self.task_names_[t]], self.missing_label,
                classes=[classes[t]], multilabel=[bool(self.multilabel_[t])],
            )[0]
        margins = _thresholds.head_margins(
            X, {**self._parameters(), "class_offsets_": self.class_offsets_,
                "private_offsets_": self.private_offsets_},
            self.activation, self._prior_offset())
        self.thresholds_ = self._as_output(
            _thresholds.tuned_thresholds(self, margins, codes, sample_weight))
        return self

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of the accuracy on the labelled entries of Y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks), or DataFrame
            True labels, missing ones marked as in ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights; they must be finite.

        Returns
        -------
        score : float
            Mean over tasks of each task's (weighted) accuracy on its labelled
            samples; the plain accuracy for a single task. A multi-label
            task's accuracy is the subset accuracy: the share of samples whose
            predicted label set is exactly the true one (as scikit-learn's
            ``accuracy_score`` on multi-label targets).
        """
        check_is_fitted(self)
        columns, names, _ = as_task_columns(y)
        _validation.check_task_names(names, len(columns), self.task_names_,
                                     type(self).__name__)
        # A multi-label task's true label sets must hold its known labels only:
        # an unknown label would otherwise count as an ordinary miss.
        for t in np.flatnonzero(self.multilabel_):
            encode_columns([columns[t]], [self.task_names_[t]], self.missing_label,
                           classes=[self._per_task("classes_")[t]],
                           multilabel=[True])
        Y_pred = self.predict(X)
        # Checked here so that the message names X and Y as fit's does (the
        # metric's speaks of Y_true and Y_pred).
        if columns[0].shape[0] != Y_pred.shape[0]:
            raise ValueError(
                f"X and Y have inconsistent numbers of samples: {Y_pred.shape[0]} "
                f"and {columns[0].shape[0]}."
            )
        if sample_weight is not None:
            # The metric only reads the weights of labelled entries, so a NaN or
            # inf weight on an unlabelled row would pass unnoticed.
            sample_weight = _check_sample_weight(sample_weight, Y_pred)
        return float(
            mean_task_score(
                y, Y_pred, missing_label=self.missing_label,
                sample_weight=sample_weight,
            )
        )


def _scaled(func, temperature, Z):
    # In Z's own dtype: a float32 model's probabilities stay float32.
    return func(Z / Z.dtype.type(temperature))


def _label_logit(Z):
    # A label's two-class head (absent, present): the logit of "present".
    return Z[:, 1] - Z[:, 0]


def _label_sets(labels, present):
    """Rows of a boolean (n_samples, n_labels) matrix as tuples of labels."""
    labels = np.asarray(labels.tolist() + [None], dtype=object)[:-1]
    out = np.empty(len(present), dtype=object)
    # One by one: numpy would read a list of equal-length tuples as 2-D.
    for i, row in enumerate(present):
        out[i] = tuple(labels[row])
    return out


def _common_dtype(classes):
    """One dtype for all tasks' labels, object when their kinds differ."""
    kinds = {c.dtype.kind for c in classes}
    if len(kinds) == 1:
        return np.result_type(*[c.dtype for c in classes])
    return object
