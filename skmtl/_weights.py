"""The weights of the objective and how SGD visits the rows to honour them.

The objective weighs every labelled (row, task) cell's loss by its task weight
``lambda_t`` (mean one over tasks), its class weight (mean one over the task's
labelled cells) and its row's sample weight (mean one over the rows), so that
only relative weights matter. SGD keeps every step's weight at most one: a row
whose largest cell weight is q > 1 is visited q times an epoch instead, each
visit carrying 1/q of its weight. Everything here is computed once per fit,
from arguments that ``_validation`` has checked.
"""

import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from ._tasks import MISSING


def normalised_task_weights(weights):
    """Task weights ``lambda_t`` scaled to a mean of one over the tasks.

    Each labelled cell of task t counts ``lambda_t`` times: with the default
    equal weights every task is fitted with the strength a model of its own
    would give it, whatever the number and sizes of the other tasks.

    Parameters
    ----------
    weights : ndarray of shape (n_tasks,)
        Finite, non-negative, not all zero (``_validation.check_task_weights``).

    Returns
    -------
    lambdas : ndarray of shape (n_tasks,), dtype=float64, C-contiguous
    """
    # Scaled by the largest first, so that a sum of huge weights cannot overflow.
    weights = weights / weights.max()
    return np.ascontiguousarray(weights * (len(weights) / weights.sum()),
                                dtype=np.float64)


def mean_one_sample_weight(sample_weight, seen):
    """Sample weights divided by their mean over all the rows seen so far.

    Multiplying every sample weight by a constant then leaves the fit
    unchanged. ``seen`` (total weight, number of rows) accumulates over
    ``partial_fit`` batches, so that a later batch does not rescale the
    earlier ones' steps.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,)
    seen : ndarray of shape (2,)
    """
    seen = seen + [sample_weight.sum(), len(sample_weight)]
    if seen[0] <= 0:
        # scikit-learn's own message, which its older versions do not raise.
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return sample_weight * (seen[1] / seen[0]), seen


def mean_one_class_weight(class_weight, counts, class_offsets):
    """Class weights scaled to a mean of one over each task's labelled cells.

    Class weights then shift weight between a task's classes without changing
    the task's total weight ('balanced' weights have this mean already).
    """
    class_weight = class_weight.copy()
    for start, stop in zip(class_offsets[:-1], class_offsets[1:]):
        mean = np.dot(counts[start:stop], class_weight[start:stop])
        mean /= max(counts[start:stop].sum(), 1)
        if mean > 0:
            class_weight[start:stop] /= mean
    return class_weight


# A row is visited at most this many times an epoch; beyond, its cells' steps
# are capped at unit weight, which bounds what one row can do to the model.
MAX_VISITS = 16


def visits_per_epoch(Y, task_scale, class_weight, class_offsets, sample_weight,
                     rows):
    """Expected visits of each training row per epoch: its largest cell weight.

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_tasks)
        Label codes, ``MISSING`` where unlabelled.
    task_scale, class_weight, sample_weight : ndarray
        The weights of the tasks, of the classes (stacked like the heads) and
        of the rows.
    class_offsets : ndarray of shape (n_tasks + 1,)
    rows : ndarray of shape (n_train,)
        The training rows.

    Returns
    -------
    visits : ndarray of shape (n_train,)
        In ``[1, MAX_VISITS]``: a row of largest cell weight q > 1 is visited q
        times (on average) with 1/q of its weight each time, so that the
        expected step is the objective's gradient while no step has a weight
        above one; lighter rows are visited once.
    """
    largest = np.zeros(len(rows))
    for t in range(Y.shape[1]):
        codes = Y[rows, t].astype(np.intp)
        labelled = codes != MISSING
        cell = task_scale[t] * class_weight[codes[labelled] + class_offsets[t]]
        largest[labelled] = np.maximum(largest[labelled], cell)
    largest *= sample_weight[rows]
    return np.clip(largest, 1.0, MAX_VISITS)


def epoch_order(rows, visits, rng, shuffle):
    """One epoch's rows: row i ``floor(visits_i)`` or ``ceil(visits_i)`` times.

    Systematic rounding: the epoch has ``floor(sum(visits))`` or
    ``ceil(sum(visits))`` steps, so the learning-rate schedule's horizon is
    known in advance. With one visit per row this is a permutation of ``rows``.
    """
    if np.all(visits == 1):
        return rng.permutation(rows) if shuffle else rows
    edges = np.floor(np.concatenate([[0.0], np.cumsum(visits)]) + rng.random_sample())
    order = np.repeat(rows, np.diff(edges).astype(np.intp))
    return rng.permutation(order) if shuffle else order


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
