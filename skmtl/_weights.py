"""The weights of the objective and the step size they imply.

The objective weighs task t's per-sample loss by ``lambda_t * n / n_t`` (the
task scale), each class by its class weight and each row by its sample weight;
``eta0`` is divided by the largest weighted squared row norm so that none of
these weights makes SGD diverge. Everything here is computed once per fit,
from arguments that ``_validation`` has checked.
"""

import numpy as np
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.extmath import row_norms

from ._tasks import MISSING


def normalised_task_weights(weights):
    """Task weights ``lambda_t`` scaled to sum to one.

    Parameters
    ----------
    weights : ndarray of shape (n_tasks,)
        Finite, non-negative, not all zero (``_validation.check_task_weights``).
    """
    total = weights.sum()
    if not np.isfinite(total):
        # Finite weights whose sum overflows (1e308 twice): scale by the
        # largest first. Only then, so that other weights keep their bits.
        weights = weights / weights.max()
        total = weights.sum()
    return weights / total


def task_scale(lambdas, n_rows, n_labelled):
    """Per-sample multiplier of each task's loss: lambda_t * n / n_t.

    SGD visits each row with probability 1/n, so scaling task t's loss by
    n / n_t makes each step an unbiased estimate of lambda_t times the mean
    loss over the n_t rows labelled for t, as the objective says.
    ``partial_fit`` passes the counts of all its batches so far.
    """
    scale = lambdas * n_rows / np.maximum(n_labelled, 1)
    return np.ascontiguousarray(scale, dtype=np.float64)


def class_counts(Y, class_offsets):
    """Number of labelled rows of each class, stacked over tasks like the heads."""
    counts = np.zeros(class_offsets[-1])
    for t in range(Y.shape[1]):
        labels = Y[:, t][Y[:, t] != MISSING]
        lo, hi = class_offsets[t], class_offsets[t + 1]
        counts[lo:hi] = np.bincount(labels, minlength=hi - lo)
    return counts


def class_weight_vector(specs, task_classes, class_offsets, counts):
    """Class weights of all tasks, stacked like the heads.

    Parameters
    ----------
    specs : list
        Per task: None, 'balanced' or a ``{label: weight}`` dict
        (``_validation.check_class_weight``).
    task_classes : list of ndarray
    class_offsets : ndarray of shape (n_tasks + 1,)
    counts : ndarray of shape (n_classes_total,)
        Labelled rows of each class (stacked like the heads), the frequencies
        behind 'balanced'.

    Returns
    -------
    weights : ndarray of shape (n_classes_total,), dtype=float64
    """
    weights = []
    for t, (classes, spec) in enumerate(zip(task_classes, specs)):
        if spec is None:
            weights.append(np.ones(len(classes)))
        elif isinstance(spec, str):  # 'balanced' over the labelled rows
            offset = class_offsets[t]
            task_counts = counts[offset:offset + len(classes)]
            present = task_counts > 0
            w = np.ones(len(classes))
            w[present] = task_counts.sum() / (present.sum() * task_counts[present])
            weights.append(w)
        else:
            weights.append(compute_class_weight(spec, classes=classes, y=classes))
    return np.ascontiguousarray(np.concatenate(weights), dtype=np.float64)


def largest_step_scale(X, Y, task_scale, class_weight, class_offsets,
                       sample_weight, rows):
    """Largest ``row weight * squared row norm`` over the training ``rows``.

    A step on row i scales with its loss multiplier (task, class and sample
    weights summed over its labelled tasks) times ``||x_i||^2``; dividing ``eta0``
    by the largest such product keeps every step as stable as a step of ``eta0``
    on a unit-norm, unit-weight row (a TF-IDF row with default weights).
    """
    if len(rows) == 0:
        return 0.0
    # Over all rows, then the training rows picked: one task's column at a
    # time, so that nothing of the size of Y is copied.
    row_weight = row_norms(X, squared=True)
    row_weight *= sample_weight
    task_weight = np.zeros(X.shape[0])
    for t in range(Y.shape[1]):
        labelled = Y[:, t] != MISSING
        codes = Y[labelled, t].astype(np.intp) + class_offsets[t]
        task_weight[labelled] += task_scale[t] * class_weight[codes]
    row_weight *= task_weight
    return float(np.max(row_weight[rows]))
