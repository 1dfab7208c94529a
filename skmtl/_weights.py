"""The weights of the objective, scaled so that only relative weights matter.

The objective weighs every labelled (row, task) cell's loss by its task weight
``lambda_t`` (mean one over tasks), its class weight (mean one over the task's
labelled cells) and its row's sample weight (in units of the median positive
sample weight, or its (sample, task) cell's weight in the 2-D form), so
that only relative weights matter. The kernel caps each cell's weight in a step at
one. Everything here is computed once per fit, from arguments that
``_validation`` has checked.
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


def sample_weight_scale(sample_weight):
    """The unit of sample weights: the median of the positive ones.

    Dividing by it makes multiplying every weight by a constant leave the fit
    unchanged. A median, not a mean, so that one huge weight does not make
    every other row's weight (and step) tiny; of the positive weights, so that
    a 0/1 mask keeps its ones. ``partial_fit`` keeps the unit of its first
    call, so that a later batch does not rescale the earlier ones' steps.

    Parameters
    ----------
    sample_weight : ndarray of shape (n_samples,) or (n_labelled_cells,)
        Finite and non-negative: the weights of the rows (1-D form) or of the
        labelled (sample, task) cells (2-D form), so that entries of
        unlabelled cells do not set the unit.

    Returns
    -------
    scale : float
    """
    positive = sample_weight[sample_weight > 0]
    if not len(positive):
        # scikit-learn's own message, which its older versions do not raise.
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return float(np.median(positive))


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


def step_class_weight(class_weight, task_scale, class_offsets):
    """The weight each class's cells carry in a step (sample weights aside).

    The kernel caps a cell's weight in a step at one, so a class weighted
    above one trains as if weighted one: 'balanced' slows a task's frequent
    classes down rather than speeding its rare ones up.

    Parameters
    ----------
    class_weight : ndarray of shape (n_classes_total,)
        Mean one over each head's labelled cells (``mean_one_class_weight``).
    task_scale : ndarray of shape (n_heads,)
        Each head's task weight.
    class_offsets : ndarray of shape (n_heads + 1,)

    Returns
    -------
    weight : ndarray of shape (n_classes_total,), dtype=float64
    """
    return np.minimum(1.0, class_weight * np.repeat(task_scale, np.diff(class_offsets)))


def class_log_prior(counts, class_weight, class_offsets):
    """Log of each class's share of its task's training weight.

    The share is that of the class's labelled rows weighted by the weight
    its cells carry in a step (``step_class_weight``), with one row added to
    every class (Laplace smoothing) so that a class declared but not yet seen
    (``partial_fit``'s ``classes``) gets a finite value. This is the prior
    the training rows impress on the logits, so the one the prior correction
    takes out: 'balanced' class weights, capped at one in a step, even the
    shares out only partly (GoEmotions' anger, disgust, fear and sadness, 56
    / 7 / 7 / 30 % of their rows, train with shares of 39 / 10 / 11 / 39 %).

    Parameters
    ----------
    counts : ndarray of shape (n_classes_total,)
        Labelled rows of each class, stacked over tasks like the heads.
    class_weight : ndarray of shape (n_classes_total,)
        ``step_class_weight``.
    class_offsets : ndarray of shape (n_tasks + 1,)

    Returns
    -------
    log_prior : ndarray of shape (n_classes_total,), dtype=float64
    """
    weighted = (counts + 1.0) * class_weight
    log_prior = np.zeros(len(weighted))
    for start, stop in zip(class_offsets[:-1], class_offsets[1:]):
        task = weighted[start:stop]
        # A class weighted 0 keeps 0, the largest log share, so that the
        # correction never favours a class the fit was told to ignore.
        kept = task > 0
        log_prior[start:stop][kept] = np.log(task[kept] / task.sum())
    return log_prior
