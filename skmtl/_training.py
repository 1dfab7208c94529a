"""A fit prepared once, then its epochs: the SGD kernel, stopping rules, divergence.

``fit`` and ``partial_fit`` differ only in their ``FitPlan``. ``prepare_fit``
validates and derives everything an epoch needs (CSR arrays, label codes,
training and validation rows, weights, step size, the kernel's arguments by
keyword) before any parameter is touched; ``run_epochs`` runs the epochs in
the style of scikit-learn's ``MLPClassifier._fit_stochastic`` and returns the
fitted state, which the estimator then takes on at once.
"""

import copy
import os
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.extmath import row_norms

from . import _model, _refinement, _sgd_fast, _thresholds, _validation, _weights
from ._progress import EpochInfo, report_epoch
from ._tasks import (
    MISSING,
    as_task_columns,
    classes_per_task,
    encode_columns,
    head_sizes,
    head_tasks,
)

# A mean training loss per unit of sample and class weight above this means
# the fit has diverged: it takes logits of this size on the wrong class, and a
# trained model's are a few units. The parameters can still be finite (in
# float64 they reached 1e20 on raw hashed counts, with every predicted
# probability 0 or 1), so finiteness alone does not catch it.
DIVERGED_LOSS = 1e6


class TrainingDiverged(ValueError):
    """The loss or the parameters exploded during an epoch."""


@dataclass(frozen=True)
class FitPlan:
    """How a call trains: the one place where ``fit`` and ``partial_fit`` differ.

    Attributes
    ----------
    reset : bool
        Start from new parameters (else continue from the fitted ones).
    max_iter : int or 'auto'
        Number of epochs (at most, with a stopping rule); ``prepare_fit``
        resolves 'auto' (``auto_epochs``).
    schedule : str
        Learning-rate schedule: ``partial_fit`` has no horizon, so 'optimal'
        (or 'constant' if the estimator's ``learning_rate`` says so).
    stream : bool
        A later ``partial_fit`` batch: Y is encoded against the fitted classes
        (a batch may lack a task or a class) and the counts behind the task
        scales and 'balanced' class weights add to those of earlier batches.
    early_stopping : bool
        Hold out validation rows and stop on their score.
    warn_max_iter : bool
        Warn when the stopping rule did not stop training before ``max_iter``.
    set_thresholds : bool
        Set the decision thresholds (``_thresholds``; ``fit``: a stream's
        batches keep them).
    """

    reset: bool
    max_iter: int | str
    schedule: str
    stream: bool
    early_stopping: bool
    warn_max_iter: bool
    set_thresholds: bool

    @classmethod
    def for_fit(cls, estimator, classes=None):
        return cls(
            reset=not (estimator.warm_start and hasattr(estimator, "shared_coef_")),
            max_iter=estimator.max_iter,
            schedule=estimator.learning_rate,
            stream=False,
            early_stopping=estimator.early_stopping,
            warn_max_iter=(estimator.tol is not None
                           and estimator.learning_rate != "linear"
                           and estimator.max_iter != 1),
            set_thresholds=True,
        )

    @classmethod
    def for_partial_fit(cls, estimator, classes):
        first_call = not hasattr(estimator, "shared_coef_")
        if first_call and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit."
            )
        schedule = ("constant" if estimator.learning_rate == "constant"
                    else "optimal")
        return cls(reset=first_call, max_iter=1, schedule=schedule,
                   stream=not first_call, early_stopping=False,
                   warn_max_iter=False, set_thresholds=False)


@dataclass
class PreparedFit:
    """Everything the epochs need, derived once before any of them."""

    state: dict            # fitted attributes under training (parameters included)
    kernel_args: dict      # sgd_epoch's arguments but the parameters and order
    train_rows: np.ndarray
    X: object              # all rows, CSR (the training rows are train_rows)
    Y: np.ndarray          # their label codes, one column a head
    X_val: object
    Y_val: np.ndarray
    lambdas: np.ndarray    # normalised task weights
    n_labelled: np.ndarray  # labelled training rows of each head
    head_task: np.ndarray  # the task of each head
    max_weight: float      # bounds every cell's loss weight (divergence check)


def prepare_fit(estimator, X, Y, sample_weight, plan, classes=None):
    """Validate the inputs and derive what the epochs need.

    Returns
    -------
    fit : PreparedFit
    plan : FitPlan
        ``plan`` with 'auto' epochs resolved.
    rng : RandomState
        The random state of the fit, after drawing the initial parameters and
        the validation rows.
    """
    _validation.check_params_together(estimator)
    if Y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target "
            "y is None."
        )
    if not plan.reset:
        _validation.check_fitted_state(estimator, finite=True)
    n_threads = _usable_threads(_validation.n_threads(estimator.n_jobs))
    X = _validation.validate_X(estimator, X, reset=plan.reset)
    X = sp.csr_matrix(X) if not sp.issparse(X) else X
    if not plan.reset:
        # Training continues in the dtype the parameters were created in.
        X = _validation.as_model_dtype(X, estimator.shared_coef_.dtype)
    X = _validation.without_duplicates(_validation.with_one_index_dtype(X))
    state, Y_encoded = _encode_targets(estimator, Y, plan, classes)
    if Y_encoded.shape[0] != X.shape[0]:
        raise ValueError(
            f"X and Y have inconsistent numbers of samples: {X.shape[0]} and "
            f"{Y_encoded.shape[0]}."
        )
    lambdas = _weights.normalised_task_weights(
        _validation.check_task_weights(estimator.task_weights, state["task_names_"])
    )
    class_weight_specs = _validation.check_class_weight(
        estimator.class_weight, state["task_names_"], _classes(state),
        state["_is_1d"],
    )
    rng = check_random_state(estimator.random_state)
    labelled = np.flatnonzero((Y_encoded != MISSING).any(axis=1)).astype(np.int32)
    state["_x_norm2_floor"] = _fit_x_norm2_floor(estimator, X, labelled, plan)
    state["_step_scale"] = _fit_step_scale(estimator, X, labelled, plan)
    state.update(_initial_parameters(estimator, state, X, Y_encoded, plan, rng,
                                      n_threads))
    train_rows, val_rows = _split_rows(estimator, labelled, rng, plan)
    weights = _fit_weights(state, Y_encoded, train_rows, lambdas,
                           class_weight_specs, plan)
    if plan.max_iter == "auto":
        plan = replace(plan, max_iter=auto_epochs(
            weights["n_labelled"], heads_of(state)[1], lambdas))
    sample_weight, cell_weight, max_sample_weight = _sample_weights(
        sample_weight, X, Y_encoded, state, plan
    )
    kernel_args = _kernel_args(estimator, plan, X, Y_encoded, sample_weight,
                               cell_weight, weights, train_rows, state, n_threads)
    return PreparedFit(
        state=state, kernel_args=kernel_args, train_rows=train_rows, X=X,
        Y=Y_encoded, X_val=X[val_rows], Y_val=Y_encoded[val_rows], lambdas=lambdas,
        n_labelled=weights["n_labelled"], head_task=heads_of(state)[1],
        max_weight=max_sample_weight * weights["class_weight"].max(initial=0),
    ), plan, rng


# ``max_iter='auto'``: enough epochs for the median task's heads to step on
# about AUTO_EPOCH_ROWS labelled rows, within AUTO_EPOCHS. Chosen on the
# panel (``benchmarks/bench_panel.py``): from 10 to 20 epochs, FDU-MTL (1,400
# rows a task) rose from 88.45 to 88.70 % (ten random states) and the mixed
# corpus (median 1,500) from 71.39 to 71.63, while TREC (5,452) fell from 86.20
# to 85.50 and nested GoEmotions (median 27,207) from 71.82 to 71.14: small
# tasks need more passes than large ones, which overfit.
AUTO_EPOCH_ROWS = 30_000
AUTO_EPOCHS = (10, 20)


def auto_epochs(n_labelled, head_task, lambdas):
    """Epochs of ``max_iter='auto'``.

    Parameters
    ----------
    n_labelled : ndarray of shape (n_heads,)
        Labelled training rows of each head.
    head_task : ndarray of shape (n_heads,)
        The task of each head.
    lambdas : ndarray of shape (n_tasks,)
        Normalised task weights: tasks of weight 0 do not count.

    Returns
    -------
    n_epochs : int
        ``ceil(AUTO_EPOCH_ROWS / m)`` within ``AUTO_EPOCHS``, with ``m`` the
        median labelled rows of the tasks of positive weight.
    """
    per_task = np.zeros(len(lambdas))
    np.maximum.at(per_task, head_task, n_labelled)
    median = np.median(per_task[lambdas > 0]) if np.any(lambdas > 0) else 0
    low, high = AUTO_EPOCHS
    return int(np.clip(np.ceil(AUTO_EPOCH_ROWS / max(median, 1)), low, high))


def _sample_weights(sample_weight, X, Y_encoded, state, plan):
    """Row and cell weights in units of the fit's sample weight scale.

    The unit is the median positive weight of the rows (1-D form) or of the
    labelled cells (2-D form), kept from ``partial_fit``'s first call.

    Returns
    -------
    row_weight : ndarray of shape (n_samples,)
    cell_weight : ndarray of shape (n_samples, n_heads), or (0, 0) for the 1-D form
        A task's cell weight, on each of its heads.
    max_weight : float
        The largest weight of a row (1-D form) or labelled cell (2-D form).
    """
    row_weight, cell_weight = _validation.check_sample_weight(
        sample_weight, X, state["n_tasks_"], state["_is_1d"]
    )
    head_task = heads_of(state)[1]
    if cell_weight is not None:
        cell_weight = np.ascontiguousarray(cell_weight[:, head_task])
    # A task's cell counts once, not once a head.
    first_heads = np.flatnonzero(np.r_[True, np.diff(head_task) != 0])
    counted = (row_weight if cell_weight is None else
               cell_weight[:, first_heads][Y_encoded[:, first_heads] != MISSING])
    if not (plan.stream and "_sample_weight_scale" in state):
        state["_sample_weight_scale"] = _weights.sample_weight_scale(counted)
    scale = state["_sample_weight_scale"]
    max_weight = float((counted / scale).max(initial=0))
    if cell_weight is None:
        return row_weight / scale, np.zeros((0, 0)), max_weight
    return row_weight, cell_weight / scale, max_weight


def _fit_x_norm2_floor(estimator, X, labelled, plan):
    """``x_norm2_floor`` of the ``labelled`` rows; a stream keeps its first
    call's (a model saved before the floor existed takes its batch's)."""
    if plan.stream and not plan.reset and hasattr(estimator, "_x_norm2_floor"):
        return estimator._x_norm2_floor
    return x_norm2_floor(X, labelled)


def x_norm2_floor(X, rows):
    """The least squared norm by which the kernel normalises a row's steps,
    and the unit of the rows' squared norm.

    A short row's step, normalised by its own squared norm alone, moves the
    activations of a long row sharing its words by up to the ratio of their
    norms: on raw counts (squared norms from 19 to 7,549 on the bundled
    corpus), training went wrong after 8 epochs of 20 (test accuracy 0.66 to
    0.69 against 0.82 in 10 epochs, three random states) and stays right with
    rows shorter than the median stepping as one of median norm (0.82 at 10,
    20 and 30 epochs). A median, so that one outlier row does not change it.
    As the unit of the rows' norm (the kernel's steps and the initial shared
    layer are those of the rows divided by its square root), it makes the fit
    of ``X * s`` that of ``X``, with W and U divided by ``s``: TF-IDF rows
    scaled to unit L1 norm instead of L2 (squared norms about 0.01) trained
    to chance on FDU-MTL when the unit was 1. ``partial_fit`` keeps its first
    call's, as the sample weight scale; ``fit`` takes it from the labelled
    rows.

    Parameters
    ----------
    X : sparse matrix of shape (n_samples, n_features), CSR
    rows : ndarray of shape (n_rows,)
        The rows to measure (``fit``: the labelled ones).

    Returns
    -------
    floor : float
        The median squared norm of the rows with a feature; 1 if none has one.
    """
    norms2 = row_norms(X, squared=True)[rows]
    norms2 = norms2[norms2 > 0]
    return float(np.median(norms2)) if len(norms2) else 1.0


def _classes(state):
    return [state["classes_"]] if state["_is_1d"] else state["classes_"]


def _encode_targets(estimator, Y, plan, classes):
    """The targets' fitted attributes and Y's label codes (one column a head).

    A new model takes its tasks from Y (and from ``classes`` on a first
    ``partial_fit``); a model that continues training must find its fitted
    tasks in Y: a later ``partial_fit`` batch encodes against the fitted
    classes, a warm-started ``fit`` encodes afresh and must find the same
    classes again.
    """
    columns, names, is_1d = as_task_columns(Y)
    if plan.reset:
        known = None
        if classes is not None:
            default = [f"task_{t}" for t in range(len(columns))]
            known = classes_per_task(classes, names or default, is_1d)
        elif sp.issparse(Y):
            # An indicator matrix names every label, seen in Y or not.
            known = [np.arange(Y.shape[1])]
        Y_encoded, task_classes, names, multilabel = encode_columns(
            columns, names, estimator.missing_label, classes=known,
            warn_constant=classes is None, single_task=is_1d,
        )
        thresholds = [np.zeros(len(c)) if m else None
                      for c, m in zip(task_classes, multilabel)]
        targets = {"task_names_": names, "n_tasks_": len(names), "_is_1d": is_1d,
                   "classes_": task_classes[0] if is_1d else task_classes,
                   "multilabel_": np.array(multilabel, dtype=bool),
                   "thresholds_": thresholds[0] if is_1d else thresholds,
                   "temperature_": np.ones(len(names)),
                   **_refinement.no_refinements(len(names)),
                   "_indicator_y": sp.issparse(Y)}
        return targets, Y_encoded
    _validation.check_task_names(names, len(columns), estimator.task_names_,
                                 type(estimator).__name__)
    fitted_classes = ([estimator.classes_] if estimator._is_1d
                      else estimator.classes_)
    Y_encoded, task_classes, _, _ = encode_columns(
        columns, estimator.task_names_, estimator.missing_label,
        classes=fitted_classes if plan.stream else None,
        multilabel=list(estimator.multilabel_), warn_constant=not plan.stream,
    )
    _validation.check_warm_state(estimator, task_classes)
    targets = {name: getattr(estimator, name) for name in
               ("task_names_", "n_tasks_", "_is_1d", "classes_", "multilabel_",
                "thresholds_", "temperature_", "prior_strength_",
                "_indicator_y")}
    # A model saved before refinements existed reads no other task.
    for name, none in _refinement.no_refinements(estimator.n_tasks_).items():
        targets[name] = getattr(estimator, name, none)
    return targets, Y_encoded


def heads_of(state):
    """Sizes and tasks of the kernel's heads (``_tasks.head_sizes``)."""
    classes = _classes(state)
    return (head_sizes(classes, state["multilabel_"]),
            head_tasks(classes, state["multilabel_"]))


# The private part's step scale: ``sqrt(d / STEP_SCALE_NNZ)`` within
# STEP_SCALE_RANGE, with ``d`` the median number of features of the labelled
# rows. A row of unit norm moves each of its d weights by about
# ``1 / sqrt(d)`` of its step, so on long documents a word's private weight
# takes more passes to reach its value. Chosen on the panel
# (``benchmarks/bench_panel.py``, three seeds), scale 1 -> 2 on 20
# Newsgroups (253 features a row): its topics as binary tasks 80.16 -> 80.85
# mean F1, its rare-topics copy 67.45 -> 68.08, its newsgroups 89.31 ->
# 89.46 % accuracy; a cap of 3 or 4 lost (80.75 and 67.66 at 3). Scaling
# eta0 instead, the shared layer's steps too, made SGD unstable on the
# bundled corpus (at eta0=1.0 a fit of 12 epochs ended at a training loss
# of 0.18 to 0.27, one of 10 at 0.015; X * 0.001 moved a fit of 20 epochs
# from 0.851 to 0.773 test accuracy); a scale from each row's own length
# lost on the mixed corpus (71.60 against 71.86), whose long and short tasks
# share the median.
STEP_SCALE_NNZ = 25
STEP_SCALE_RANGE = (1.0, 2.0)


def _fit_step_scale(estimator, X, labelled, plan):
    """``step_scale`` of the ``labelled`` rows; a stream keeps its first
    call's (a model saved before the scale existed takes 1, its old step)."""
    if plan.stream and not plan.reset:
        return getattr(estimator, "_step_scale", 1.0)
    return step_scale(X, labelled)


def step_scale(X, rows):
    """The factor of the private part's step for rows as long as ``X[rows]``.

    Parameters
    ----------
    X : sparse matrix of shape (n_samples, n_features), CSR
        Without duplicate entries.
    rows : ndarray of shape (n_rows,)
        The rows to measure (``fit``: the labelled ones).

    Returns
    -------
    scale : float
        ``sqrt(d / STEP_SCALE_NNZ)`` within ``STEP_SCALE_RANGE``, with ``d``
        the median number of stored values of the rows (1 if no rows).
    """
    nnz = np.diff(X.indptr)[rows]
    median = float(np.median(nnz)) if len(nnz) else 0.0
    return float(np.clip(np.sqrt(median / STEP_SCALE_NNZ), *STEP_SCALE_RANGE))


def _initial_parameters(estimator, state, X, Y_encoded, plan, rng, n_threads):
    """The parameters training starts from, with the fit's counters (and, for
    a new model, the prior strengths 'auto' gives its heads' losses)."""
    if plan.reset:
        n_classes, head_task = heads_of(state)
        class_offsets = np.concatenate([[0], np.cumsum(n_classes)]).astype(np.int32)
        class_counts = _weights.class_counts(Y_encoded, class_offsets)
        private_offsets = _model.head_private_offsets(n_classes, _model.private_heads(
            estimator.private, class_counts, class_offsets))
        margin_labels = _model.choose_margin_labels(
            estimator.loss, state["multilabel_"][head_task], class_counts,
            class_offsets, _thresholds.held_out_share(estimator, state["multilabel_"])
            if plan.set_thresholds else 0.0)
        params = _model.init_parameters(
            X.shape[1], estimator.n_components, class_offsets, private_offsets,
            X.dtype, rng.randint(np.iinfo(np.int32).max), n_threads,
            state["_x_norm2_floor"],
        )
        return {**params, "class_offsets_": class_offsets,
                "private_offsets_": private_offsets, "t_": 0,
                "_margin_labels": margin_labels,
                "prior_strength_": _model.auto_prior_strengths(
                    estimator.loss, class_offsets, head_task, state["n_tasks_"],
                    margin_labels),
                "loss_curve_": np.zeros((0, state["n_tasks_"]))}
    # Training updates copies: the estimator keeps its parameters until the
    # fit succeeds.
    params = {name: getattr(estimator, name) for name in _model.PARAMETERS}
    del params["shared_coef_"]
    params = {name: None if p is None else p.copy() for name, p in params.items()}
    params["shared_coef_"] = _validation.copy_shared_layer(estimator)
    names = ("class_offsets_", "private_offsets_", "t_", "loss_curve_",
             "best_loss_", "_n_rows_seen", "_class_counts_seen",
             "_sample_weight_scale")
    return {**params, **{n: getattr(estimator, n) for n in names if
                         hasattr(estimator, n)},
            "_margin_labels": _model.fitted_margin_labels(estimator)}


def _split_rows(estimator, labelled, rng, plan):
    """The ``labelled`` rows (at least one label) to train on, and those held
    out for validation."""
    if not plan.early_stopping:
        return labelled, labelled[:0]
    fraction = estimator.validation_fraction
    n_val = int(np.ceil(fraction * len(labelled)))
    if n_val < 1 or n_val >= len(labelled):
        raise ValueError(
            f"validation_fraction={fraction} leaves no training or no validation "
            f"row out of {len(labelled)} labelled rows."
        )
    rows = rng.permutation(labelled)
    return np.sort(rows[n_val:]), np.sort(rows[:n_val])


def _fit_weights(state, Y_encoded, train_rows, lambdas, class_weight_specs, plan):
    """Task scales, class weights, label counts and class priors of the training rows.

    A stream's batches can label a task or a class rarely (or not at all): the
    counts behind the task scales and 'balanced' class weights accumulate over
    the calls, so that one sparse batch does not up-weight its few labels (and,
    through the eta0 rule, shrink every task's step). They are stored in
    ``state``, with the class log priors behind ``prior_correction``.
    """
    offsets = state["class_offsets_"]
    _, head_task = heads_of(state)
    # Most often every row trains: then no copy of the labels is needed.
    Y_train = (Y_encoded if len(train_rows) == len(Y_encoded)
               else Y_encoded[train_rows])
    counts = _weights.class_counts(Y_train, offsets)
    if plan.stream:
        state["_n_rows_seen"] = state["_n_rows_seen"] + len(train_rows)
        state["_class_counts_seen"] = state["_class_counts_seen"] + counts
    else:
        state["_n_rows_seen"], state["_class_counts_seen"] = len(train_rows), counts
    starts = offsets[:-1]
    class_weight = _weights.class_weight_vector(
        _head_class_weight_specs(class_weight_specs, state), _head_classes(state),
        offsets, state["_class_counts_seen"],
    )
    class_weight = _weights.mean_one_class_weight(
        class_weight, state["_class_counts_seen"], offsets)
    task_scale = np.ascontiguousarray(lambdas[head_task])
    state["class_log_prior_"] = _weights.class_log_prior(
        state["_class_counts_seen"],
        _weights.step_class_weight(class_weight, task_scale, offsets), offsets,
    )
    return {
        "task_scale": task_scale,
        "class_weight": class_weight,
        "n_labelled": np.add.reduceat(counts, starts),
    }


def _head_classes(state):
    """The classes of each head: a multi-label task's are (absent, present)."""
    out = []
    for classes, is_multilabel in zip(_classes(state), state["multilabel_"]):
        out += [np.array([0, 1])] * len(classes) if is_multilabel else [classes]
    return out


def _head_class_weight_specs(specs, state):
    """Class weight specs of the heads: a multi-label task's dict
    ``{label: weight}`` weighs that label's "present" class."""
    out = []
    for spec, classes, is_multilabel in zip(specs, _classes(state),
                                            state["multilabel_"]):
        if not is_multilabel:
            out.append(spec)
        elif isinstance(spec, dict):
            out += [{1: spec.get(label, 1.0)} for label in classes.tolist()]
        else:
            out += [spec] * len(classes)
    return out


def _kernel_args(estimator, plan, X, Y_encoded, sample_weight, cell_weight,
                 weights, train_rows, state, n_threads):
    """Arguments of ``sgd_epoch`` that stay the same over the fit's epochs."""
    l1_share = {"l1": 1.0, "elasticnet": estimator.l1_ratio}.get(
        estimator.penalty, 0.0)
    alpha = 0.0 if estimator.penalty is None else estimator.alpha
    return dict(
        X_data=X.data, X_indices=X.indices, X_indptr=X.indptr, Y=Y_encoded,
        class_offsets=state["class_offsets_"], task_scale=weights["task_scale"],
        class_weight=weights["class_weight"], sample_weight=sample_weight,
        cell_weight=cell_weight,
        loss=np.array([_sgd_fast.LOSSES[name] for name in _model.head_losses(
            estimator.loss, state["class_offsets_"], state["_margin_labels"])],
            dtype=np.int32),
        activation=_sgd_fast.ACTIVATIONS[estimator.activation],
        schedule=_sgd_fast.LEARNING_RATES[plan.schedule],
        fit_private=state["private_coef_"] is not None,
        private_offsets=state["private_offsets_"], eta0=float(estimator.eta0),
        t_total=float(state["t_"] + plan.max_iter * len(train_rows)),
        t0=optimal_t0(float(estimator.eta0), alpha),
        alpha_shared_l2=alpha * (1.0 - l1_share),
        alpha_shared_l1=alpha * l1_share,
        alpha_heads=(0.0 if estimator.penalty is None
                     else float(estimator.alpha_heads)),
        alpha_private=float(estimator.alpha_private),
        x_norm2_floor=float(state["_x_norm2_floor"]),
        private_step_scale=float(state["_step_scale"]),
        private_head_step=_model.private_head_steps(estimator.loss,
                                                    state["_margin_labels"]),
        n_threads=n_threads,
    )


def optimal_t0(eta0, alpha):
    """Steps after which the 'optimal' schedule's step is half of ``eta0``.

    ``1 / (eta0 * alpha)``: the step ``eta0 / (1 + eta0 * alpha * t)`` of
    Bottou (2012), "Stochastic gradient descent tricks", for an objective
    penalised with strength ``alpha`` (the shared layer's; 0 without a
    penalty, where the step stays ``eta0``). scikit-learn's 'optimal' with
    its ``t0`` set so that the first step is ``eta0``.
    """
    return 1.0 / (eta0 * alpha) if alpha > 0 else np.inf


# ------------------------------------------------------------------ the epochs

# OpenMP (GNU libgomp) keeps its thread pool's state across fork(), but the
# child has none of its threads: a threaded epoch in a child forked after one
# in the parent waits forever. Such a child trains on one thread instead.
_openmp = {"used": False, "forked_after_use": False}


def _note_fork():
    _openmp["forked_after_use"] = _openmp["used"]


os.register_at_fork(after_in_child=_note_fork)


def _usable_threads(n_threads):
    if n_threads > 1 and _openmp["forked_after_use"]:
        warnings.warn(
            "This process was forked after a threaded fit, and OpenMP cannot "
            "run threads in it: training uses one thread. Use the 'spawn' or "
            "'forkserver' start method (or joblib's default loky backend) to "
            "train on threads in worker processes.",
            UserWarning,
        )
        return 1
    return n_threads



def train(estimator, fit, plan, rng):
    """Train ``fit.state`` (``run_epochs``) and set its decision thresholds.

    ``fit`` first chooses the thresholds of its two-class heads on held-out
    rows (``_thresholds``), from a copy of ``rng``: the model trains as it
    would without them. With two threads or more, the model those choices
    read trains beside the fit's own (``_train_beside_held_out``).
    """
    held = None
    if plan.set_thresholds:
        held_out_rng = copy.deepcopy(rng)
        held = _thresholds.held_out_rows(estimator, fit, held_out_rng)
    if held is None:
        state = run_epochs(estimator, fit, plan, rng)
        none = np.full(len(fit.head_task), np.nan)
        thresholds, calibration = none, (none, none, None)
    else:
        state, (thresholds, calibration) = _train_beside_held_out(
            estimator, fit, plan, rng, held, held_out_rng)
    if plan.set_thresholds:
        _thresholds.set_fitted_thresholds(estimator, fit, state, thresholds)
        _thresholds.set_fitted_calibration(estimator, fit, state, *calibration)
    _warn_if_shared_layer_collapsed(estimator, fit, state)
    return state


def _train_beside_held_out(estimator, fit, plan, rng, held, held_out_rng):
    """The trained state and the held-out choices (``_held_out_choices``).

    With ``n_threads`` of two or more, the two trainings, which share no
    parameter, run at once, on half of the threads each; once the held-out
    one is done, the fit's own takes every thread for its remaining epochs.
    The held-out choices are then those of one thread, bit for bit, and the
    fit's model is one thread's until the hand-over. Threads of one training
    share every parameter they write, and pass its cache lines between the
    cores at every step (slow where the cores are far apart: ``n_jobs``).
    """
    # Copied before either trains: the fit's own training changes its state.
    held_out_fit, held_out_plan = _held_out_training(estimator, fit, plan, held)
    n_threads = fit.kernel_args["n_threads"]
    if n_threads == 1:
        choices = _held_out_choices(estimator, fit, held_out_fit, held_out_plan,
                                    held, held_out_rng)
        return run_epochs(estimator, fit, plan, rng), choices
    abandoned, held_out_failed = threading.Event(), threading.Event()
    held_out_done = threading.Event()

    def held_out_choices():
        try:
            choices = _held_out_choices(
                estimator, fit, _on_threads(held_out_fit, n_threads // 2),
                held_out_plan, held, held_out_rng, abandoned)
        except BaseException:
            # The fit fails with this error: its own training need not run
            # to its end first.
            held_out_failed.set()
            raise
        held_out_done.set()
        return choices

    def threads_of_next_epoch():
        # A held-out model that chooses temperatures alone trains half the
        # epochs: without the hand-over, the second core would idle for the
        # second half of the fit.
        return n_threads if held_out_done.is_set() else n_threads - n_threads // 2

    with ThreadPoolExecutor(max_workers=1) as pool:
        choices = pool.submit(held_out_choices)
        try:
            state = run_epochs(estimator, fit, plan, rng,
                               abandoned=held_out_failed,
                               threads=threads_of_next_epoch)
            return state, choices.result()
        except BaseException:
            # Leaving the pool waits for the held-out training (also when
            # the wait for its result is interrupted): end it after its
            # current epoch, not after its last.
            abandoned.set()
            raise


def _on_threads(fit, n_threads):
    """``fit`` trained on ``n_threads`` threads."""
    return replace(fit, kernel_args=dict(fit.kernel_args, n_threads=n_threads))


# Training rows, evenly spaced, on which ``_warn_if_shared_layer_collapsed``
# compares the shared layer's logits: a few milliseconds' work.
COLLAPSE_CHECK_ROWS = 1000
# Largest spread of a head's shared logits over those rows that counts as
# "the same for every row": a healthy layer spreads them by about 1 or more
# (FDU-MTL: 8.7), a collapsed one by 0 or under 1e-7.
COLLAPSE_SPREAD = 1e-6


def _warn_if_shared_layer_collapsed(estimator, fit, state):
    """Warn when the shared layer gives every training row the same logits
    while some head has no private part to tell rows apart.

    Such a head predicts one class for every row. Two causes were seen on
    FDU-MTL (accuracy 49.8 %, chance): with 'relu', a step so large that every
    unit ends below zero on every row (``eta0=0.5``), after which no gradient
    reaches W; and a penalty that zeroes W (``penalty='l1'`` at the default
    ``alpha=1e-4``, or L2 at ``alpha=1e-2``).
    """
    offsets = state["class_offsets_"]
    # A head that never moved from its zero start (its cells all weigh 0)
    # predicts a constant by design, whatever the shared layer does.
    moved = np.logical_or.reduceat(
        np.c_[state["head_coef_"], state["head_intercept_"]].any(axis=1),
        offsets[:-1])
    alone = np.flatnonzero((state["private_offsets_"] < 0) & moved)
    if (state["shared_coef_"].shape[1] == 0 or len(alone) == 0
            or len(fit.train_rows) == 0):
        return
    picked = np.linspace(0, len(fit.train_rows) - 1,
                         min(len(fit.train_rows), COLLAPSE_CHECK_ROWS))
    rows = fit.train_rows[np.unique(picked.astype(np.intp))]
    hidden = _model.hidden(fit.X[rows], state, estimator.activation)
    columns = np.concatenate([np.arange(offsets[h], offsets[h + 1]) for h in alone])
    logits = hidden @ state["head_coef_"][columns].T
    if np.ptp(logits, axis=0).max() > COLLAPSE_SPREAD:
        return
    names = [str(state["task_names_"][t]) for t in np.unique(fit.head_task[alone])]
    shown = ", ".join(names[:5])
    if len(names) > 5:
        shown += f" and {len(names) - 5} more"
    warnings.warn(
        f"The shared layer gives all {len(rows)} training rows sampled the "
        "same logits, so the heads without a private part predict one class "
        f"for every row (tasks: {shown}): "
        f"{_collapse_cause(estimator, hidden)}, or pass private=True.",
        ConvergenceWarning,
    )


def _collapse_cause(estimator, hidden):
    """What made the shared layer collapse, and what to change, for the warning."""
    if estimator.activation == "relu" and not np.any(hidden > 0):
        return ("no 'relu' unit is active on any of them: the step was too "
                f"large (eta0={estimator.eta0}); lower eta0 (e.g. 0.1) or use "
                "activation='tanh' or 'identity'")
    return (f"the penalties (penalty={estimator.penalty!r}, "
            f"alpha={estimator.alpha}, alpha_heads={estimator.alpha_heads}) "
            "left the layer or its heads about zero; lower them (e.g. "
            "alpha=1e-5 with penalty='l1')")


def _held_out_training(estimator, fit, plan, held):
    """The fit and plan that train copies of ``fit``'s parameters on its
    rows not ``held`` out, for ``_held_out_choices``."""
    rest = np.setdiff1d(fit.train_rows, held)
    if not _thresholds.chooses_thresholds(fit, held):
        # Temperatures alone need only the margins' scale, which half the
        # epochs (their step decaying to 0 as well) already set: on the test
        # rows, the log loss of 20 Newsgroups' two tasks was 0.549 and 0.246
        # against 0.549 and 0.243 with every epoch, TREC's 0.339 and 0.894
        # against 0.339 and 0.874, for a quarter less fit time.
        plan = replace(plan, max_iter=max(1, plan.max_iter // 2))
    if estimator.verbose:
        print(f"-- Thresholds: training on {len(rest)} rows, choosing on "
              f"{len(held)} held-out rows", flush=True)
    held_out_fit = replace(
        fit, state=_with_copied_parameters(fit.state), train_rows=rest,
        kernel_args=dict(fit.kernel_args, t_total=float(
            fit.state["t_"] + plan.max_iter * len(rest))))
    return held_out_fit, replace(plan, warn_max_iter=False)


def _held_out_choices(estimator, fit, held_out_fit, plan, held, rng,
                      abandoned=None):
    """Each head's best threshold, and its temperature, prior strength and
    refinement (``_thresholds.held_out_calibration``), on the ``held`` rows
    of ``fit``, after training ``held_out_fit`` (``_held_out_training``,
    drawing from ``rng``); NaN for a head without them. None once
    ``abandoned`` (a ``threading.Event``) is set."""
    trained = run_epochs(estimator, held_out_fit, plan, rng, report=False,
                         abandoned=abandoned)
    if abandoned is not None and abandoned.is_set():
        return None
    return (_thresholds.held_out_thresholds(estimator, fit, trained, held),
            _thresholds.held_out_calibration(estimator, fit, trained, held))


def _with_copied_parameters(state):
    """``state`` with copies of its parameters (and loss curve) to train."""
    out = dict(state)
    for name in _model.PARAMETERS:
        if state[name] is not None:
            # A new cache-line-aligned array, as the fit's own (an epoch takes
            # a third longer on unaligned rows of W).
            out[name] = _sgd_fast.aligned_zeros(state[name].shape,
                                                state[name].dtype)
            out[name][...] = state[name]
    out["loss_curve_"] = state["loss_curve_"].copy()
    return out


def run_epochs(estimator, fit, plan, rng, report=True, abandoned=None,
               threads=None):
    """Train ``fit.state`` for up to ``plan.max_iter`` epochs; return the state.

    With early stopping, the parameters of the epoch of best validation score
    are restored at the end. ``report=False`` trains without reporting the
    epochs (to the progress callback, or printed with ``verbose``). Once
    ``abandoned`` (a ``threading.Event``) is set, training stops before the
    next epoch and returns the state as it is, for the caller to discard.
    ``threads``, a function of no argument, gives the number of kernel
    threads of each epoch when it starts; None keeps ``fit``'s.

    Raises
    ------
    TrainingDiverged
        If an epoch leaves non-finite or exploded parameters or losses.
    """
    state = fit.state
    state["n_iter_"] = 0
    curves = [state["loss_curve_"]] if len(state["loss_curve_"]) else []
    best_epoch = _BestEpoch(state, plan.early_stopping)
    best, n_bad_epochs = -np.inf, 0
    # The stopping rule's tolerance; None runs every epoch.
    tol = estimator.tol
    if plan.early_stopping and tol is None:
        tol = 0.0
    for epoch in range(plan.max_iter):
        if abandoned is not None and abandoned.is_set():
            return state
        tic = time.perf_counter()
        epoch_fit = fit if threads is None else _on_threads(fit, threads())
        epoch_loss, finite = _run_epoch(estimator, epoch_fit, state, rng)
        state["n_iter_"] += 1
        _check_diverged(estimator, epoch_loss, finite, fit.max_weight, epoch)
        curves.append(epoch_loss[None, :])
        # The training objective, negated so that higher is better.
        score = -float(np.dot(fit.lambdas, epoch_loss))
        validation_score = None
        if plan.early_stopping:
            validation_score = score = _validation_score(
                estimator, state, fit.X_val, fit.Y_val
            )
        best_epoch.update(epoch, np.dot(fit.lambdas, epoch_loss), validation_score,
                          state)
        n_bad_epochs, best = _update_no_improvement_count(
            score, best, n_bad_epochs, tol
        )
        if report:
            _report_epoch(EpochInfo(
                epoch + 1, plan.max_iter, list(state["task_names_"]), epoch_loss,
                validation_score, time.perf_counter() - tic,
            ), estimator.verbose)
        if tol is not None and n_bad_epochs >= estimator.n_iter_no_change:
            break
    else:
        if plan.warn_max_iter:
            warnings.warn(
                f"Maximum number of epochs ({plan.max_iter}) reached before the "
                "stopping criterion; consider increasing max_iter.",
                ConvergenceWarning,
            )
    best_epoch.restore(state, estimator.verbose if report else 0)
    state["loss_curve_"] = np.concatenate(curves, axis=0)
    return state


class _BestEpoch:
    """The lowest training objective and, with early stopping, the best epoch.

    With early stopping, the parameters are copied whenever the validation
    score improves (as ``MLPClassifier`` does): one more set of parameters in
    memory, and a copy of them per improving epoch.
    """

    def __init__(self, state, early_stopping):
        self.early_stopping = early_stopping
        # A model that continues training keeps its lowest loss so far.
        self.best_loss = state.get("best_loss_", np.inf)
        self.scores, self.best_params, self.best_index = [], None, None

    def update(self, epoch, objective, validation_score, state):
        """Note an epoch's results; copy the parameters of a new best epoch."""
        self.best_loss = min(self.best_loss, float(objective))
        if validation_score is None:
            return
        self.scores.append(validation_score)
        if self.best_index is None or validation_score > self.scores[self.best_index]:
            self.best_index = epoch
            self.best_params = {
                name: None if state[name] is None else state[name].copy()
                for name in _model.PARAMETERS
            }

    def restore(self, state, verbose):
        """Set the fitted attributes; with early stopping, the best parameters."""
        state["best_loss_"] = self.best_loss
        state["validation_scores_"] = None
        state["best_validation_score_"] = None
        if not self.early_stopping:
            return
        state["validation_scores_"] = np.asarray(self.scores)
        state["best_validation_score_"] = self.scores[self.best_index]
        if self.best_index != len(self.scores) - 1:
            state.update(self.best_params)
        if verbose:
            print(
                f"-- Kept the parameters of epoch {self.best_index + 1} "
                f"(validation score {self.scores[self.best_index]:.4f})",
                flush=True,
            )


def _run_epoch(estimator, fit, state, rng):
    """One call of the kernel.

    Returns each task's mean training loss and whether the parameters are
    all finite.
    """
    rows = fit.train_rows
    order = rng.permutation(rows) if estimator.shuffle else rows
    task_loss = np.zeros(len(fit.head_task))
    U = state["private_coef_"]
    if U is None:
        U = np.zeros((1, 1), dtype=state["shared_coef_"].dtype)
    _openmp["used"] |= fit.kernel_args["n_threads"] > 1
    t_end, finite = _sgd_fast.sgd_epoch(
        **fit.kernel_args,
        sample_order=order.astype(np.int32, copy=False),
        W=state["shared_coef_"], b=state["shared_intercept_"],
        V=state["head_coef_"], c=state["head_intercept_"], U=U,
        task_loss=task_loss, t_start=float(state["t_"]),
    )
    state["t_"] = int(t_end)
    # A multi-label task's loss is the sum of its labels' logistic losses.
    head_loss = task_loss / np.maximum(fit.n_labelled, 1)
    return np.bincount(fit.head_task, head_loss, state["n_tasks_"]), finite


def _update_no_improvement_count(score, best, n_bad_epochs, tol):
    """Epochs without an improvement of more than ``tol`` over ``best``.

    Returns the new count and best score. With ``tol`` None every epoch counts
    as an improvement (no stopping rule).
    """
    improved = tol is None or score > best + tol
    return (0 if improved else n_bad_epochs + 1), max(best, score)


def _validation_score(estimator, state, X_val, Y_val):
    """Mean over tasks of the accuracy of ``predict`` on the validation rows.

    A multi-label task's is the mean of its labels' accuracies.
    """
    best = _model.map_logits(
        X_val, state, estimator.activation, state["class_offsets_"],
        lambda Z: Z.argmax(axis=1),
        offset=_model.prior_offset(estimator.prior_correction, estimator.loss,
                                   state["class_log_prior_"], state["class_offsets_"],
                                   state["_margin_labels"]),
        private_offsets=state["private_offsets_"],
    )
    head_task = heads_of(state)[1]
    scores = [[] for _ in range(state["n_tasks_"])]
    for head, predicted in enumerate(best):
        labelled = Y_val[:, head] != MISSING
        if labelled.any():
            scores[head_task[head]].append(
                np.mean(predicted[labelled] == Y_val[labelled, head]))
    return float(np.mean([np.mean(s) for s in scores if s]))


def _check_diverged(estimator, epoch_loss, params_finite, max_weight, epoch):
    """Raise ``TrainingDiverged`` if training has diverged.

    It has when the loss or the parameters are no longer finite (the kernel
    reports the latter), or when a task's mean loss exceeds ``DIVERGED_LOSS``
    per unit of the largest cell weight ``max_weight`` (sample times class
    weight).
    """
    finite = params_finite and np.isfinite(epoch_loss).all()
    if finite and epoch_loss.max(initial=0) <= DIVERGED_LOSS * max_weight:
        return
    raise TrainingDiverged(
        f"Training diverged at epoch {epoch + 1}: the loss or the parameters "
        f"are no longer finite, or the loss exceeds {DIVERGED_LOSS:g} per "
        f"unit of weight (eta0={estimator.eta0}). Lower eta0, use a "
        "smaller class or sample weight, or scale the features (e.g. "
        "TfidfVectorizer's L2-normalised rows). The estimator is left as "
        "it was before this call."
    )


def _report_epoch(info, verbose):
    """Report one epoch: to the caller's callback (``_progress``), and printed.

    Parameters
    ----------
    info : EpochInfo
        The epoch (numbered from 1), its per-task mean training loss, the
        validation score (or None) and its wall time.
    verbose : int
        Print a line when positive.
    """
    report_epoch(info)
    if not verbose:
        return
    losses = ", ".join(
        f"{name}: {loss:.4f}" for name, loss in zip(info.task_names, info.task_loss)
    )
    line = f"-- Epoch {info.epoch}: loss {losses}"
    if info.validation_score is not None:
        line += f"; validation score {info.validation_score:.4f}"
    print(f"{line}; {info.seconds:.2f} s", flush=True)
