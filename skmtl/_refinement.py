"""Tasks that refine another: a coarse task's decisions also read the finer one.

A task *refines* another when, on every training row labelled for both, its
class decides the other's: 20 Newsgroups' 20 newsgroups and its six top-level
groups, TREC's 50 fine and 6 coarse question types, GoEmotions' 28 emotions
and their 7 Ekman groups. Summed over the finer classes of each coarse class,
the finer task's probabilities are a second estimate of the coarse task's,
and often a better one: a coarse class that joins several finer ones (``comp``
holds five newsgroups) is a union that one linear head separates worse than
the finer heads separate its parts (top-level groups from the newsgroups'
probabilities: 93.6 % accuracy, from their own head: 92.6 %).

So ``fit`` finds, among the multiclass tasks that ``loss='auto'`` calibrates
(``_model.calibrated_heads``), each task's finest refining task
(``finer_heads``), and the coarse task's decisions become those of a weighted
geometric mean of its own calibrated probabilities and the summed ones of the
finer task (``refined_log_proba``), with the weight that minimises their log
loss on the rows ``fit`` holds out (``best_weight``). A weight of 0 leaves the
task as it was; the log loss, not a task's accuracy or macro-F1, chooses it,
so that the choice serves every metric the probabilities serve.
"""

import numpy as np

from . import _model
from ._tasks import MISSING

# The weights ``best_weight`` tries, from the task's own probabilities alone
# (0) to the finer task's alone (1).
WEIGHTS = np.round(np.linspace(0.0, 1.0, 21), 2)


def finer_heads(Y, n_classes, candidates):
    """For each head, the head with the most classes that refines it.

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_heads)
        Label codes of the training rows (``MISSING`` where unlabelled).
    n_classes : ndarray of shape (n_heads,)
        Each head's number of classes.
    candidates : ndarray of shape (n_heads,), dtype=bool
        The heads that may refine or be refined (multiclass heads).

    Returns
    -------
    finer : ndarray of shape (n_heads,), dtype=int
        The refining head of each head, -1 for none.
    class_maps : list of (ndarray of shape (n_classes_finer,) or None)
        For each refined head, the class it gives to each class of its finer
        head.
    """
    n_heads = Y.shape[1]
    finer, class_maps = np.full(n_heads, -1), [None] * n_heads
    labelled = Y != MISSING
    for coarse in np.flatnonzero(candidates):
        for fine in np.flatnonzero(candidates):
            finest = n_classes[finer[coarse]] if finer[coarse] >= 0 else 0
            if n_classes[fine] <= max(n_classes[coarse], finest):
                continue
            both = labelled[:, fine] & labelled[:, coarse]
            seen = np.bincount(
                Y[both, fine].astype(np.int64) * n_classes[coarse] + Y[both, coarse],
                minlength=n_classes[fine] * n_classes[coarse],
            ).reshape(n_classes[fine], n_classes[coarse]) > 0
            # Each finer class with one coarse class (the map is a function,
            # and total) and every coarse class reached: a task labelled only
            # where another has one class (a nested task) does not pass.
            if (seen.sum(axis=1) == 1).all() and seen.any(axis=0).all():
                finer[coarse], class_maps[coarse] = fine, seen.argmax(axis=1)
    return finer, class_maps


def refined_log_proba(own_logits, finer_logits, class_map, weight):
    """The geometric mean of a task's probabilities and its finer task's
    summed into its classes, as log probabilities up to a constant a row.

    Parameters
    ----------
    own_logits : ndarray of shape (n_samples, n_classes)
        The coarse task's calibrated logits (after the prior correction,
        divided by its temperature).
    finer_logits : ndarray of shape (n_samples, n_classes_finer)
        The finer task's, likewise.
    class_map : ndarray of shape (n_classes_finer,)
        The coarse class of each finer class.
    weight : float
        The finer task's share, in ``[0, 1]``.

    Returns
    -------
    log_proba : ndarray of shape (n_samples, n_classes)
        In the dtype of ``own_logits``; its softmax is the mean's
        probabilities.
    """
    # One column a coarse class, with a 1 in the rows of its finer classes.
    indicator = np.eye(own_logits.shape[1], dtype=own_logits.dtype)[class_map]
    summed = np.exp(_model.log_softmax(finer_logits)) @ indicator
    # The finest probability of its dtype, not 0: log(0) would outvote the
    # task's own probabilities whatever the weight.
    tiny = np.finfo(summed.dtype).tiny
    return ((1 - weight) * _model.log_softmax(own_logits)
            + weight * np.log(np.maximum(summed, tiny))).astype(own_logits.dtype)


def best_weight(own_logits, finer_logits, class_map, codes, sample_weight=None):
    """The ``WEIGHTS`` value whose refined probabilities have the lowest log
    loss (the first, so the smallest, of equals).

    Parameters are those of ``refined_log_proba``, with ``codes`` of shape
    (n_samples,) the class of each row and ``sample_weight`` its weight in the
    log loss (None for 1).
    """
    rows = np.arange(len(codes))
    losses = [-np.average(
        _model.log_softmax(refined_log_proba(own_logits, finer_logits, class_map,
                                             weight))[rows, codes],
        weights=sample_weight) for weight in WEIGHTS]
    return float(WEIGHTS[int(np.argmin(losses))])


def no_refinements(n_tasks):
    """The fitted attributes of a model whose tasks read no other's:
    ``refined_by_``, ``refinement_weight_`` and ``_refinement_map``."""
    return {"refined_by_": np.full(n_tasks, -1),
            "refinement_weight_": np.zeros(n_tasks),
            "_refinement_map": [None] * n_tasks}


def fitted_refinements(finer, class_maps, weights, head_task, n_tasks):
    """The fitted attributes (``no_refinements``) of the heads' refinements.

    Parameters
    ----------
    finer, class_maps : ``finer_heads``'s
    weights : ndarray of shape (n_heads,)
        ``best_weight``'s, NaN for a head without one; a task reads its finer
        task where it is above 0.
    head_task : ndarray of shape (n_heads,)
    n_tasks : int
    """
    out = no_refinements(n_tasks)
    for coarse in np.flatnonzero(weights > 0):
        task = head_task[coarse]
        out["refined_by_"][task] = head_task[finer[coarse]]
        out["refinement_weight_"][task] = weights[coarse]
        out["_refinement_map"][task] = class_maps[coarse]
    return out


def refiner(refined_by, weights, class_maps, temperature, head_task):
    """What prediction applies to a chunk's head logits, or None.

    Returns
    -------
    refine : callable or None
        Takes the list of each head's logits (after the prior correction) and
        returns it with each refined task's logits replaced by its
        ``refined_log_proba``, from the logits it was given.
    """
    tasks = np.flatnonzero(refined_by >= 0)
    if len(tasks) == 0:
        return None
    head_of = {task: np.flatnonzero(head_task == task)[0]
               for task in np.unique(np.r_[tasks, refined_by[tasks]])}

    def refine(logits):
        out = list(logits)
        for task in tasks:
            coarse, fine = head_of[task], head_of[refined_by[task]]
            own, finer = logits[coarse], logits[fine]
            out[coarse] = refined_log_proba(
                own / own.dtype.type(temperature[task]),
                finer / finer.dtype.type(temperature[refined_by[task]]),
                class_maps[task], weights[task])
        return out
    return refine
