"""Masked per-task metrics for multi-task classification, and a matching scorer.

Each task is scored only on the samples where its *true* label is present, so
partially labelled targets (``None``, ``NaN``, ``pd.NA`` or a ``missing_label``
sentinel) can be evaluated directly. :func:`make_multitask_scorer` turns these
metrics into a scorer for :class:`~sklearn.model_selection.GridSearchCV`,
:func:`~sklearn.model_selection.cross_val_score` and friends.
"""

import functools
import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

from ._tasks import _labelled_values, as_task_columns, missing_mask

__all__ = ["make_multitask_scorer", "mean_task_score", "per_task_score"]

_SCORE_FUNCS = {
    "accuracy": accuracy_score,
    "balanced_accuracy": balanced_accuracy_score,
    "f1_macro": functools.partial(f1_score, average="macro"),
    "f1_micro": functools.partial(f1_score, average="micro"),
    "f1_weighted": functools.partial(f1_score, average="weighted"),
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
    """``as_task_columns`` that keeps the label types of a nested list.

    ``np.asarray([[0, "a"], [1, "b"]])`` would turn the int task into strings.
    """
    if isinstance(Y, (list, tuple)):
        Y = np.asarray(Y, dtype=object)
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
        ``"f1_micro"``, ``"f1_weighted"``, or a metric callable
        ``f(y_true, y_pred, **kwargs)`` such as those of :mod:`sklearn.metrics`.
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
    func = _get_score_func(score_func)
    true_columns, task_names, _ = _task_columns(Y_true)
    pred_columns, _, _ = _task_columns(Y_pred)
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
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight)
        if sample_weight.shape != (n_samples,):
            raise ValueError(
                f"sample_weight has shape {sample_weight.shape}; expected "
                f"({n_samples},), one weight per sample of Y_true."
            )
    if task_names is None:
        task_names = [f"task_{t}" for t in range(len(true_columns))]

    scores = np.full(len(true_columns), np.nan)
    for t, (name, y_true, y_pred) in enumerate(
        zip(task_names, true_columns, pred_columns)
    ):
        labelled = ~missing_mask(y_true, missing_label)
        if not labelled.any():
            warnings.warn(
                f"Task {name!r} has no true label in these samples; its score is "
                "undefined and set to NaN.",
                UndefinedMetricWarning,
                stacklevel=2,
            )
            continue
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight[labelled]
        scores[t] = func(
            _labelled_values(y_true[labelled], name),
            _labelled_values(y_pred[labelled], name),
            **kwargs,
        )
    return scores


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
    scores = scores[~np.isnan(scores)]
    return float(scores.mean()) if scores.size else float("nan")


class _MultiTaskScorer:
    """Scorer ``scorer(estimator, X, Y)`` computing :func:`mean_task_score`.

    A module-level class (not a closure) so that it can be pickled.
    """

    def __init__(self, score_func, missing_label, kwargs):
        self.score_func = score_func
        self.missing_label = missing_label
        self.kwargs = kwargs

    def __call__(self, estimator, X, Y, sample_weight=None):
        return mean_task_score(
            Y,
            estimator.predict(X),
            self.score_func,
            missing_label=self.missing_label,
            sample_weight=sample_weight,
            **self.kwargs,
        )

    def __repr__(self):
        func = self.score_func
        args = [repr(func) if isinstance(func, str) else func.__name__]
        if self.missing_label is not None:
            args.append(f"missing_label={self.missing_label!r}")
        args += [f"{key}={value!r}" for key, value in self.kwargs.items()]
        return f"make_multitask_scorer({', '.join(args)})"


def make_multitask_scorer(score_func="accuracy", *, missing_label=None, **kwargs):
    """Make a scorer computing the mean masked score over tasks.

    The scorer can be passed as ``scoring`` to
    :class:`~sklearn.model_selection.GridSearchCV` or
    :func:`~sklearn.model_selection.cross_val_score`; greater is better.

    Parameters
    ----------
    score_func : str or callable, default="accuracy"
        One of ``"accuracy"``, ``"balanced_accuracy"``, ``"f1_macro"``,
        ``"f1_micro"``, ``"f1_weighted"``, or a metric callable
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

    Raises
    ------
    ValueError
        If ``score_func`` is an unknown name or not callable.

    See Also
    --------
    mean_task_score : The score the scorer computes.

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
