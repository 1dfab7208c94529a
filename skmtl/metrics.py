"""Masked per-task metrics for multi-task classification, and a matching scorer.

Each task is scored only on the samples where its *true* label is present, so
partially labelled targets (``None``, ``NaN``, ``pd.NA`` or a ``missing_label``
sentinel) can be evaluated directly. :func:`make_multitask_scorer` turns these
metrics into a scorer for :class:`~sklearn.model_selection.GridSearchCV`,
:func:`~sklearn.model_selection.cross_val_score` and friends;
:func:`make_per_task_scorer` reports each task's score as well, from one
prediction per split. Both take part in scikit-learn's metadata routing.
"""

import functools
import warnings

import numpy as np
from sklearn import get_config
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.utils.metadata_routing import UNCHANGED, MetadataRequest

from ._tasks import (
    as_task_columns,
    is_label_set_column,
    labelled_values,
    missing_mask,
)

__all__ = [
    "make_multitask_scorer",
    "make_per_task_scorer",
    "mean_task_score",
    "per_task_score",
]

_SCORE_FUNCS = {
    "accuracy": accuracy_score,
    "balanced_accuracy": balanced_accuracy_score,
    "f1_macro": functools.partial(f1_score, average="macro"),
    "f1_micro": functools.partial(f1_score, average="micro"),
    "f1_weighted": functools.partial(f1_score, average="weighted"),
    "f1_samples": functools.partial(f1_score, average="samples"),
}


def _get_score_func(score_func):
    """Resolve ``score_func`` (a name of ``_SCORE_FUNCS`` or a callable)."""
    if isinstance(score_func, str):
        try:
            return _SCORE_FUNCS[score_func]
        except KeyError:
            raise ValueError(
                f"Unknown score_func {score_func!r}; valid names are "
                f"{sorted(_SCORE_FUNCS)}, or pass a callable "
                "f(y_true, y_pred, **kwargs)."
            ) from None
    if callable(score_func):
        return score_func
    raise ValueError(
        f"score_func must be one of {sorted(_SCORE_FUNCS)} or a callable; got "
        f"{score_func!r}."
    )


def _task_columns(Y):
    """``as_task_columns``, which keeps the label types of a nested list.

    ``np.asarray([[0, "a"], [1, "b"]])`` would turn the int task into strings.
    """
    return as_task_columns(Y)


def per_task_score(
    Y_true,
    Y_pred,
    score_func="accuracy",
    *,
    missing_label=None,
    sample_weight=None,
    **kwargs,
):
    """Score each task on the samples where its true label is present.

    Parameters
    ----------
    Y_true : array-like of shape (n_samples,) or (n_samples, n_tasks), or DataFrame
        True labels. Missing labels are ``None``, ``NaN``, ``pd.NA`` or
        ``missing_label``; tasks may have different label types.
    Y_pred : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Predicted labels, as returned by ``predict``.
    score_func : str or callable, default="accuracy"
        One of ``"accuracy"``, ``"balanced_accuracy"``, ``"f1_macro"``,
        ``"f1_micro"``, ``"f1_weighted"``, ``"f1_samples"``, or a metric
        callable ``f(y_true, y_pred, **kwargs)`` such as those of
        :mod:`sklearn.metrics`. A multi-label task (cells that are label
        collections) is scored on indicator matrices over the labels of its
        true and predicted cells, as scikit-learn scores multi-label targets:
        ``"accuracy"`` is then the subset accuracy (the share of samples whose
        label set is exactly right), ``"f1_macro"`` the mean of the labels'
        F1, ``"f1_micro"`` the F1 over all (sample, label) pairs and
        ``"f1_samples"`` the mean of the samples' F1 (multi-label tasks only).
    missing_label : int, float, str or None, default=None
        Extra value of ``Y_true`` that marks a missing label.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights, masked like the labels of each task and passed to
        ``score_func`` as ``sample_weight``.
    **kwargs : dict
        Extra keyword arguments passed to ``score_func``.

    Returns
    -------
    scores : ndarray of shape (n_tasks,)
        Score of each task; ``NaN`` for a task with no true label (an
        :class:`~sklearn.exceptions.UndefinedMetricWarning` is then emitted).

    Raises
    ------
    ValueError
        If ``Y_true``, ``Y_pred`` and ``sample_weight`` disagree on the number of
        samples, if ``Y_true`` and ``Y_pred`` disagree on the number of tasks, or
        if ``score_func`` is unknown.

    Examples
    --------
    >>> from skmtl.metrics import per_task_score
    >>> Y_true = [[0, "a"], [1, None], [None, "b"], [1, "b"]]
    >>> Y_pred = [[0, "a"], [0, "b"], [1, "b"], [1, "b"]]
    >>> per_task_score(Y_true, Y_pred)
    array([0.66666667, 1.        ])
    >>> per_task_score([0, -1, 1, 1], [0, 0, 1, 0], missing_label=-1)
    array([0.66666667])
    """
    _, scores = _score_tasks(
        Y_true, Y_pred, score_func, missing_label, sample_weight, kwargs
    )
    return scores


def _check_consistent_shapes(true_columns, pred_columns, sample_weight):
    """Raise if the true and predicted columns or the weights disagree in shape."""
    n_samples = true_columns[0].shape[0] if true_columns else 0
    n_pred = pred_columns[0].shape[0] if pred_columns else 0
    if n_samples != n_pred:
        raise ValueError(
            f"Y_true and Y_pred have different numbers of samples: {n_samples} "
            f"and {n_pred}."
        )
    if len(true_columns) != len(pred_columns):
        raise ValueError(
            "Y_true and Y_pred have different numbers of tasks: "
            f"{len(true_columns)} and {len(pred_columns)}."
        )
    if not true_columns:
        raise ValueError("Y_true has no task (zero columns).")
    if sample_weight is not None and sample_weight.shape != (n_samples,):
        raise ValueError(
            f"sample_weight has shape {sample_weight.shape}; expected "
            f"({n_samples},), one weight per sample of Y_true."
        )


def _score_tasks(Y_true, Y_pred, score_func, missing_label, sample_weight, kwargs):
    """Masked score of each task, with the tasks' names from ``Y_true``.

    Returns ``(task_names, scores)``: ``task_names`` is ``None`` unless
    ``Y_true`` is a DataFrame; ``scores`` is as in :func:`per_task_score`.
    """
    func = _get_score_func(score_func)
    true_columns, task_names, _ = _task_columns(Y_true)
    pred_columns, _, _ = _task_columns(Y_pred)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight)
    _check_consistent_shapes(true_columns, pred_columns, sample_weight)
    names = task_names or [f"task_{t}" for t in range(len(true_columns))]
    kwargs = dict(kwargs)
    scores = np.full(len(true_columns), np.nan)
    for t, (name, y_true, y_pred) in enumerate(zip(names, true_columns, pred_columns)):
        labelled = ~missing_mask(y_true, missing_label)
        if not labelled.any():
            warnings.warn(
                f"Task {name!r} has no true label in these samples; its score is "
                "undefined and set to NaN.",
                UndefinedMetricWarning,
                stacklevel=3,
            )
            continue
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight[labelled]
        scores[t] = func(*_comparable(y_true[labelled], y_pred[labelled], name),
                         **kwargs)
    return task_names, scores


def _comparable(y_true, y_pred, task_name):
    """One task's labelled true and predicted values, as a metric takes them.

    Label collections (a multi-label task) become indicator matrices over the
    labels of both, on which scikit-learn's metrics compute subset accuracy
    and per-label F1; single labels get a clean dtype.
    """
    if not is_label_set_column(y_true, task_name):
        return labelled_values(y_true, task_name), labelled_values(y_pred, task_name)
    if not is_label_set_column(y_pred, task_name):
        raise ValueError(
            f"Task {task_name!r} is multi-label in Y_true but Y_pred's cells are "
            "not label collections."
        )
    labels = np.unique(labelled_values(np.array(
        [label for cells in (y_true, y_pred) for cell in cells for label in cell]
        + [None], dtype=object)[:-1], task_name))
    binarizer = MultiLabelBinarizer(classes=labels.tolist())
    return binarizer.fit_transform(y_true), binarizer.transform(y_pred)


def mean_task_score(
    Y_true,
    Y_pred,
    score_func="accuracy",
    *,
    missing_label=None,
    sample_weight=None,
    **kwargs,
):
    """Mean over tasks of the masked per-task scores.

    Tasks with an undefined score (no true label) are left out of the mean.

    Parameters
    ----------
    Y_true : array-like of shape (n_samples,) or (n_samples, n_tasks), or DataFrame
        True labels. Missing labels are ``None``, ``NaN``, ``pd.NA`` or
        ``missing_label``.
    Y_pred : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Predicted labels, as returned by ``predict``.
    score_func : str or callable, default="accuracy"
        Metric name or callable, as in :func:`per_task_score`.
    missing_label : int, float, str or None, default=None
        Extra value of ``Y_true`` that marks a missing label.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights, masked like the labels of each task.
    **kwargs : dict
        Extra keyword arguments passed to ``score_func``.

    Returns
    -------
    score : float
        Mean of the defined task scores; ``NaN`` if no task has a true label.

    See Also
    --------
    per_task_score : The score of each task.

    Examples
    --------
    >>> from skmtl.metrics import mean_task_score
    >>> Y_true = [[0, "a"], [1, None], [None, "b"], [1, "b"]]
    >>> Y_pred = [[0, "a"], [0, "b"], [1, "b"], [1, "b"]]
    >>> round(mean_task_score(Y_true, Y_pred), 4)
    0.8333
    """
    scores = per_task_score(
        Y_true,
        Y_pred,
        score_func,
        missing_label=missing_label,
        sample_weight=sample_weight,
        **kwargs,
    )
    return _mean_of_defined(scores)


def _mean_of_defined(scores):
    """Mean of the scores that are not ``NaN``, or ``NaN`` if there are none."""
    scores = scores[~np.isnan(scores)]
    return float(scores.mean()) if scores.size else float("nan")


def _fitted_task_names(estimator):
    """``task_names_`` of ``estimator`` or of a pipeline's last step, else None."""
    while hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return getattr(estimator, "task_names_", None)


class _MultiTaskScorer:
    """Scorer ``scorer(estimator, X, Y, sample_weight=None)`` over the tasks of Y.

    It predicts once, then returns the mean masked score over tasks, or with
    ``per_task=True`` a dict of each task's score and their ``"mean"``. Like
    scikit-learn's scorers it takes part in metadata routing: under
    ``sklearn.set_config(enable_metadata_routing=True)``, ``set_score_request``
    says whether ``sample_weight`` is routed to it. A module-level class (not a
    closure) so that it can be pickled.
    """

    def __init__(self, score_func, missing_label, kwargs, per_task=False):
        self.score_func = score_func
        self.missing_label = missing_label
        self.kwargs = kwargs
        self.per_task = per_task
        # None, as for scikit-learn's scorers: under routing, passing
        # sample_weight without requesting it is an error rather than ignored.
        self._sample_weight_request = None

    def __call__(self, estimator, X, Y, sample_weight=None):
        task_names, scores = _score_tasks(
            Y,
            estimator.predict(X),
            self.score_func,
            self.missing_label,
            sample_weight,
            self.kwargs,
        )
        mean = _mean_of_defined(scores)
        if not self.per_task:
            return mean
        fitted_names = _fitted_task_names(estimator)
        if fitted_names is not None and len(fitted_names) == len(scores):
            task_names = fitted_names
        if task_names is None:
            task_names = [f"task_{t}" for t in range(len(scores))]
        if "mean" in task_names:
            raise ValueError(
                "A task is named 'mean', the key of the mean over tasks in the "
                "scores of make_per_task_scorer; rename that task."
            )
        return {**dict(zip(map(str, task_names), scores.tolist())), "mean": mean}

    def set_score_request(self, *, sample_weight=UNCHANGED):
        """Request ``sample_weight`` to be passed to the scorer, or not.

        Only available under ``sklearn.set_config(enable_metadata_routing=True)``;
        see scikit-learn's metadata routing user guide.

        Parameters
        ----------
        sample_weight : bool, None, str or UNCHANGED, default=UNCHANGED
            ``True``: route ``sample_weight`` to the scorer; ``False``: do not;
            ``None``: raise if it is passed; a string: route the metadata of
            that name as ``sample_weight``; ``UNCHANGED``: keep the request.

        Returns
        -------
        self : object
            The scorer, with the updated request.
        """
        if not get_config().get("enable_metadata_routing", False):
            raise RuntimeError(
                "set_score_request is only available when metadata routing is "
                "enabled: sklearn.set_config(enable_metadata_routing=True)."
            )
        if sample_weight is not UNCHANGED:
            self._metadata_request(sample_weight)  # validates the alias
            self._sample_weight_request = sample_weight
        return self

    def get_metadata_routing(self):
        """Metadata the scorer requests, for scikit-learn's routing.

        Returns
        -------
        routing : MetadataRequest
            The request of ``sample_weight`` for the ``score`` method.
        """
        return self._metadata_request(self._sample_weight_request)

    def _metadata_request(self, alias):
        request = MetadataRequest(owner=repr(self))
        request.score.add_request(param="sample_weight", alias=alias)
        return request

    def __repr__(self):
        func = self.score_func
        args = [repr(func) if isinstance(func, str) else func.__name__]
        if self.missing_label is not None:
            args.append(f"missing_label={self.missing_label!r}")
        args += [f"{key}={value!r}" for key, value in self.kwargs.items()]
        factory = "make_per_task_scorer" if self.per_task else "make_multitask_scorer"
        return f"{factory}({', '.join(args)})"


def make_multitask_scorer(score_func="accuracy", *, missing_label=None, **kwargs):
    """Make a scorer computing the mean masked score over tasks.

    The scorer can be passed as ``scoring`` to
    :class:`~sklearn.model_selection.GridSearchCV` or
    :func:`~sklearn.model_selection.cross_val_score`; greater is better.

    Parameters
    ----------
    score_func : str or callable, default="accuracy"
        One of ``"accuracy"``, ``"balanced_accuracy"``, ``"f1_macro"``,
        ``"f1_micro"``, ``"f1_weighted"``, ``"f1_samples"`` (multi-label
        tasks: see :func:`per_task_score`), or a metric callable
        ``f(y_true, y_pred, **kwargs)``. Pass a module-level function (not a
        lambda) if the scorer must be pickled, e.g. with ``n_jobs > 1``.
    missing_label : int, float, str or None, default=None
        Extra value of the true labels that marks a missing label. ``None``,
        ``NaN`` and ``pd.NA`` always do.
    **kwargs : dict
        Extra keyword arguments passed to ``score_func``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, Y, sample_weight=None)`` returning
        ``mean_task_score(Y, estimator.predict(X), score_func, ...)`` as a float.
        Under ``sklearn.set_config(enable_metadata_routing=True)``, call
        ``scorer.set_score_request(sample_weight=True)`` to have
        :func:`~sklearn.model_selection.cross_validate` or
        :class:`~sklearn.model_selection.GridSearchCV` pass the test fold's
        ``sample_weight`` from ``params``; without routing the scorer gets no
        weights from them.

    Raises
    ------
    ValueError
        If ``score_func`` is an unknown name or not callable.

    See Also
    --------
    mean_task_score : The score the scorer computes.
    make_per_task_scorer : Each task's score as well as the mean.

    Examples
    --------
    >>> from skmtl.metrics import make_multitask_scorer
    >>> scorer = make_multitask_scorer("f1_macro", missing_label=-1)
    >>> scorer
    make_multitask_scorer('f1_macro', missing_label=-1)
    >>> class Constant:
    ...     def predict(self, X):
    ...         return [[0, 1]] * len(X)
    >>> scorer(Constant(), [[0.0], [1.0]], [[0, 1], [1, -1]])
    0.6666666666666666
    """
    _get_score_func(score_func)
    return _MultiTaskScorer(score_func, missing_label, kwargs)


def make_per_task_scorer(score_func="accuracy", *, missing_label=None, **kwargs):
    """Make a scorer returning each task's masked score and their mean.

    Pass it as ``scoring`` to :func:`~sklearn.model_selection.cross_validate`
    (results ``test_<task>`` and ``test_mean``) or to
    :class:`~sklearn.model_selection.GridSearchCV` with ``refit="mean"``. It
    predicts once per call, whatever the number of tasks.

    Parameters
    ----------
    score_func : str or callable, default="accuracy"
        Metric name or callable, as in :func:`make_multitask_scorer`.
    missing_label : int, float, str or None, default=None
        Extra value of the true labels that marks a missing label. ``None``,
        ``NaN`` and ``pd.NA`` always do.
    **kwargs : dict
        Extra keyword arguments passed to ``score_func``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, Y, sample_weight=None)`` returning a dict
        ``{task_name: score, ..., "mean": mean_score}``. Task names are the
        fitted ``task_names_`` of the estimator (or of a pipeline's last step),
        else the columns of a DataFrame ``Y``, else ``task_0, task_1, ...``. A
        task with no true label in the fold scores ``NaN`` and is left out of
        the mean. Metadata routing works as for :func:`make_multitask_scorer`.

    Raises
    ------
    ValueError
        If ``score_func`` is an unknown name or not callable; when called, if a
        task is named ``"mean"``.

    See Also
    --------
    per_task_score : The scores the scorer computes.

    Examples
    --------
    >>> from skmtl.metrics import make_per_task_scorer
    >>> scorer = make_per_task_scorer("accuracy", missing_label=-1)
    >>> class Constant:
    ...     task_names_ = ["topic", "urgent"]
    ...     def predict(self, X):
    ...         return [[0, 1]] * len(X)
    >>> scorer(Constant(), [[0.0], [1.0]], [[0, 1], [1, -1]])
    {'topic': 0.5, 'urgent': 1.0, 'mean': 0.75}
    """
    _get_score_func(score_func)
    return _MultiTaskScorer(score_func, missing_label, kwargs, per_task=True)


def best_f1_threshold(scores, truth, average="binary", sample_weight=None):
    """The threshold on ``scores`` that maximises the F1 of ``scores > threshold``.

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
        A label's scores.
    truth : ndarray of shape (n_samples,)
        1 where the label is present, else 0; at least one 1 of positive
        weight.
    average : {'binary', 'macro'}, default='binary'
        The F1 maximised, as ``f1_score``'s ``average``: that of "present"
        ('binary'), or the mean of the F1 of "present" and of "absent"
        ('macro').
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative weights of the samples in the F1, as ``f1_score``'s
        ``sample_weight``; None for 1.

    Returns
    -------
    threshold : float
        Halfway between the lowest score predicted present and the next
        lower score (cuts fall between distinct scores only).
    """
    if sample_weight is None:
        weight = np.ones(len(scores))
    else:
        # Samples of weight 0 are dropped: they neither count nor place a cut.
        weight = np.asarray(sample_weight, dtype=np.float64)
        scores, truth, weight = (a[weight > 0] for a in (scores, truth, weight))
    order = np.argsort(-scores, kind="stable")
    ranked, weight = scores[order], weight[order]
    true_positives = np.cumsum(weight * truth[order])
    predicted = np.cumsum(weight)
    n_present, total = true_positives[-1], predicted[-1]
    f1 = 2 * true_positives / (predicted + n_present)
    if average == "macro":
        # "Absent" is predicted below the cut: its true positives are the
        # absent samples there.
        n_absent = total - n_present
        true_negatives = n_absent - (predicted - true_positives)
        denominator = (total - predicted) + n_absent
        absent_f1 = np.divide(2 * true_negatives, denominator,
                              out=np.zeros(len(ranked)), where=denominator > 0)
        f1 = (f1 + absent_f1) / 2
    cuts = np.flatnonzero(np.r_[ranked[:-1] > ranked[1:], True])
    best = cuts[np.argmax(f1[cuts])]
    if best + 1 < len(ranked):
        return float((ranked[best] + ranked[best + 1]) / 2)
    return float(ranked[best] - 1)


def expected_f1_threshold(scores):
    """The threshold on logits that maximises the F1 expected under their own
    probabilities.

    If ``expit(scores)`` are calibrated probabilities of a label, predicting
    the ``m`` highest has expected true positives ``sum(p[:m])``, false
    positives ``m - sum(p[:m])`` and false negatives ``sum(p[m:])``: the
    threshold keeps the ``m`` of the highest expected F1 (a plug-in estimate,
    which reads no labels).

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
        A label's logits.

    Returns
    -------
    threshold : float
        Just below the lowest score kept.
    """
    ranked = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    present = 1.0 / (1.0 + np.exp(-ranked))
    true_positives = np.cumsum(present)
    expected_f1 = 2 * true_positives / (np.arange(1, len(ranked) + 1)
                                        + present.sum())
    best = int(np.argmax(expected_f1))
    if best + 1 < len(ranked):
        return float((ranked[best] + ranked[best + 1]) / 2)
    return float(ranked[best] - 1)

