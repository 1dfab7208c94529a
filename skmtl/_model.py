"""The model's math on the Python side: parameters, shared layer, logits.

::

    h(x)   = phi(W^T x + b)                  shared layer, W of shape (n_features, k)
    z_t(x) = V_t h(x) + c_t  (+ U_t^T x)     head of task t

The parameters are held in a mapping with the estimator's attribute names
(``PARAMETERS``): the estimator passes its fitted arrays, training its arrays
in progress. Prediction, ``skmtl.inspection`` and the tests' reference use
these functions; the Cython kernel (``_sgd_kernel.pxi``) does the same math
row by row while it trains.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.utils import gen_batches

from . import _sgd_fast

#: Names of the parameter arrays, as the estimator's fitted attributes.
PARAMETERS = (
    "shared_coef_", "shared_intercept_", "head_coef_", "head_intercept_",
    "private_coef_",
)

# Standard deviation of the initial shared layer, times 1 / sqrt(n_components).
# Small, so that the random part of W that training never corrects (rare
# features) adds little noise. Measured while choosing defaults (20 Newsgroups,
# reference TF-IDF, alpha=1e-6): 82.5 % on the 20-way task with 1.0, 84.2 %
# with 0.1. Smaller is no better: 0.01 raised 20 Newsgroups' defaults from
# 89.19 to 89.33 (bench_panel's TF-IDF, random states 0-2) and left the other
# panel corpora within noise, but a layer that starts smaller takes longer to
# grow where steps are small: raw counts, in a step rule whose unit of ||x||
# was 1, trained to 75.0 % against 84.6 % with TF-IDF (tests/test_step_rule.py's
# split; 82.6 against 84.5 with 0.1). In units of the median row (the scale
# ``init_parameters`` draws W for), TF-IDF rows keep this scale.
INIT_SCALE = 0.1
# The initial shared layer is drawn in blocks of this many rows, each from its
# own random stream: threads can draw blocks at once, and the draws depend on
# the shape only, not on n_jobs.
INIT_BLOCK_ROWS = 1 << 16

# Rows per chunk in prediction: the temporaries of a chunk (its shared
# representation and logits, (k + n_classes_total) values a row) stay a few MB,
# while the per-chunk overhead stays small next to the chunk's work.
PREDICT_CHUNK_ROWS = 4096


def init_parameters(n_features, n_components, class_offsets, private_offsets,
                    dtype, seed, n_threads, x_norm2_unit=1.0):
    """Initial parameters: a small random shared layer, zero heads and biases.

    Parameters
    ----------
    n_features, n_components : int
        Shape of the shared layer ``W``.
    class_offsets : ndarray of shape (n_tasks + 1,)
        Where each task's classes start in the stacked heads.
    private_offsets : ndarray of shape (n_heads,)
        First column of each head's private part in ``U``, -1 for a head
        without (``private_offsets``); ``U`` is None when no head has one.
    dtype : dtype
        float32 or float64.
    seed : int
        Seed of the shared layer's draws.
    n_threads : int
        Threads that draw the shared layer (the draws do not depend on it).
    x_norm2_unit : float, default=1.0
        The unit of the rows' squared norm (``_training.x_norm2_floor``): W
        is drawn for rows divided by its square root, so that the initial
        activations do not depend on the scale of X.

    Returns
    -------
    params : dict
        The arrays named in ``PARAMETERS``.
    """
    n_total = int(class_offsets[-1])
    n_private = int(private_columns(class_offsets, private_offsets).max(initial=-1)) + 1
    # Rows aligned to cache lines: the kernel is bound by loading them.
    W = _sgd_fast.aligned_zeros((n_features, n_components), dtype)
    standard_normal(W, seed, n_threads)
    W *= INIT_SCALE / np.sqrt(max(n_components, 1) * x_norm2_unit)
    return {
        "shared_coef_": W,
        "shared_intercept_": np.zeros(n_components, dtype=dtype),
        "head_coef_": np.zeros((n_total, n_components), dtype=dtype),
        "head_intercept_": np.zeros(n_total, dtype=dtype),
        "private_coef_": (
            np.zeros((n_features, n_private), dtype=dtype) if n_private else None
        ),
    }


def standard_normal(out, seed, n_threads):
    """Fill ``out`` with standard normal draws, in blocks of rows on threads.

    Parameters
    ----------
    out : ndarray of shape (n_rows, n_cols), C-contiguous, float32 or float64
        Filled in place.
    seed : int
        Seed of the draws: block b of ``INIT_BLOCK_ROWS`` rows takes the b-th
        stream spawned from it, so the result depends on ``seed`` and the shape
        only.
    n_threads : int
        Threads that draw blocks at once (numpy releases the GIL while it
        draws).
    """
    block_rows = INIT_BLOCK_ROWS
    n_blocks = max(1, -(-out.shape[0] // block_rows))
    streams = np.random.SeedSequence(seed).spawn(n_blocks)

    def draw(block):
        rows = slice(block * block_rows, (block + 1) * block_rows)
        generator = np.random.default_rng(streams[block])
        generator.standard_normal(dtype=out.dtype, out=out[rows])

    if n_threads > 1 and n_blocks > 1:
        with ThreadPoolExecutor(min(n_threads, n_blocks)) as pool:
            list(pool.map(draw, range(n_blocks)))
    else:
        for block in range(n_blocks):
            draw(block)


# A two-class head whose smaller class has at least this share of its
# labelled rows counts as balanced: the shared layer fits it as well as a
# private part does (FDU-MTL's 16 sentiment domains, 46-50 %: +0.03 points of
# accuracy for 1.7 times the kernel's work), and its decision needs no
# threshold of its own.
BALANCED_SHARE = 0.45


def imbalanced_two_class_heads(class_counts, class_offsets):
    """The two-class heads whose smaller class has less than ``BALANCED_SHARE``
    of their labelled rows.

    Parameters
    ----------
    class_counts : ndarray of shape (n_classes_total,)
        Labelled rows of each class, stacked like the heads.
    class_offsets : ndarray of shape (n_heads + 1,)

    Returns
    -------
    mask : ndarray of shape (n_heads,), dtype=bool
    """
    mask = np.diff(class_offsets) == 2
    for head in np.flatnonzero(mask):
        counts = class_counts[class_offsets[head]:class_offsets[head] + 2]
        mask[head] = counts.min() < BALANCED_SHARE * counts.sum()
    return mask


def head_losses(loss, class_offsets, margin_labels=None):
    """The loss each head is trained with, by the estimator's ``loss``.

    'auto' trains heads of three or more classes (multiclass tasks) and the
    ``margin_labels`` with the modified Huber loss, a margin loss that
    classifies them more accurately than the log loss, and the other
    two-class heads (binary tasks, rare labels) with the log loss, whose
    probabilities the prior correction and the thresholds of rare classes
    read.

    Parameters
    ----------
    loss : {'auto', 'log_loss', 'hinge', 'modified_huber'}
    class_offsets : ndarray of shape (n_heads + 1,)
    margin_labels : ndarray of shape (n_heads,), dtype=bool, default=None
        The labels of multi-label tasks that 'auto' trains with the margin
        loss (``choose_margin_labels``); None for none.

    Returns
    -------
    losses : ndarray of shape (n_heads,), dtype=object
        'log_loss', 'hinge' or 'modified_huber' per head.
    """
    sizes = np.diff(class_offsets)
    if loss == "auto":
        margin = sizes >= 3
        if margin_labels is not None:
            margin = margin | margin_labels
        return np.where(margin, "modified_huber", "log_loss").astype(object)
    return np.full(len(sizes), loss, dtype=object)


# Positives of a label that ``fit``'s held-out rows hold in expectation
# (``threshold_holdout`` times its training positives) for ``loss='auto'`` to
# train it with the margin loss. Such a label's threshold comes from its
# held-out positives alone; the log loss gives a rarer label a threshold from
# its probabilities on the training rows too (``_thresholds``). 20
# Newsgroups' topics as one multi-label task with six topics cut to 3 to 80
# training messages (F1, three seeds, log loss -> margin loss): 3, 5, 10 and
# 20 messages 22.8 / 25.9 / 37.1 / 38.6 -> 8.1 / 15.6 / 28.4 / 28.9; 40 and 80
# messages 54.9 / 58.8 -> 60.2 / 62.6 (a tenth held out). With a fifth held
# out, the topic of 20 messages becomes a margin label and falls from 40.6
# to 34.1 F1 (the mean over the 20 topics from 70.3, with 6 positives
# required, to 70.0): one topic of one corpus, which did not justify
# another value.
MARGIN_LABEL_HELD_OUT_POSITIVES = 4


def choose_margin_labels(loss, label_heads, class_counts, class_offsets,
                         held_out_share):
    """The labels that ``loss='auto'`` trains with the margin loss (none
    under another ``loss``).

    On GoEmotions' three taxonomies as multi-label tasks, the margin loss
    (with ``LABEL_PRIVATE_STEP``) ranks the comments as per-label LinearSVC
    does, and better than the log loss; a label needs
    ``MARGIN_LABEL_HELD_OUT_POSITIVES`` positives among the held-out rows,
    in expectation, for its threshold.

    Parameters
    ----------
    loss : {'auto', 'log_loss', 'hinge', 'modified_huber'}
    label_heads : ndarray of shape (n_heads,), dtype=bool
        The labels of multi-label tasks.
    class_counts : ndarray of shape (n_classes_total,)
        Training rows of each class, stacked like the heads (a label's
        class 1 is "present").
    class_offsets : ndarray of shape (n_heads + 1,)
    held_out_share : float
        The share of the training rows held out for thresholds (0 for
        none, as in ``partial_fit``).

    Returns
    -------
    mask : ndarray of shape (n_heads,), dtype=bool
    """
    present = np.append(class_counts, 0)[np.asarray(class_offsets[:-1]) + 1]
    return label_heads & (loss == "auto") & (
        present * held_out_share >= MARGIN_LABEL_HELD_OUT_POSITIVES)


# What ``loss='auto'`` multiplies the private steps of a label it trains with
# the margin loss by (the kernel's ``private_head_step``): at the fixed point, a penalty
# four times ``alpha_private`` on the label's private part. GoEmotions'
# frequent labels (12 to 40 % of 43,410 training comments) rank their
# comments better under a stronger penalty than the multiclass heads want:
# macro-F1 of the 28 / 7 / 4 labels with thresholds from random halves
# of dev and test, 47.5 / 57.4-57.8 / 63.4-63.6 with the margin loss and
# multipliers 0.2 to 0.35, against 46.3 / 56.6 / 62.7 with the log loss and
# a multiplier of 1.
LABEL_PRIVATE_STEP = 0.25


def fitted_margin_labels(estimator):
    """A fitted estimator's ``_margin_labels`` (``choose_margin_labels``);
    none for a model saved before they existed, whose labels all trained
    with the log loss."""
    labels = getattr(estimator, "_margin_labels", None)
    if labels is None:
        return np.zeros(len(estimator.class_offsets_) - 1, dtype=bool)
    return labels


def private_head_steps(loss, margin_labels):
    """The kernel's ``private_head_step``: ``LABEL_PRIVATE_STEP`` for the
    ``margin_labels`` under ``loss='auto'``, else None (1 for every head).

    Parameters
    ----------
    loss : {'auto', 'log_loss', 'hinge', 'modified_huber'}
    margin_labels : ndarray of shape (n_heads,), dtype=bool

    Returns
    -------
    steps : ndarray of shape (n_heads,) or None
    """
    if loss != "auto" or not margin_labels.any():
        return None
    return np.where(margin_labels, LABEL_PRIVATE_STEP, 1.0)


def calibrated_heads(loss, class_offsets, margin_labels=None):
    """The heads whose probabilities are their logits divided by a temperature.

    With ``loss='auto'``, the heads trained with a margin loss (multiclass
    tasks and ``margin_labels``, ``head_losses``): their logits are margins,
    and a temperature chosen on held-out rows
    (``_thresholds.best_temperature``) makes the softmax of them calibrated
    probabilities; the margin labels of a multi-label task share one.
    ``loss='hinge'`` and ``loss='modified_huber'`` offer no probabilities.

    Returns
    -------
    mask : ndarray of shape (n_heads,), dtype=bool
    """
    margin = head_losses(loss, class_offsets, margin_labels) != "log_loss"
    return margin if loss == "auto" else np.zeros_like(margin)


def private_heads(private, class_counts, class_offsets):
    """Which heads have a private part, by the estimator's ``private``.

    Parameters
    ----------
    private : bool or 'auto'
        All heads (True), none (False), or ('auto') the heads that need one:
        the multiclass heads and the imbalanced two-class heads
        (``imbalanced_two_class_heads``: binary tasks and labels of
        multi-label tasks). The shared layer alone fits a task's rare classes
        less well than a linear model does.
    class_counts : ndarray of shape (n_classes_total,) or None
        Labelled rows of each class, stacked like the heads ('auto' only).
    class_offsets : ndarray of shape (n_heads + 1,)

    Returns
    -------
    mask : ndarray of shape (n_heads,), dtype=bool
    """
    if not isinstance(private, str):
        return np.full(len(class_offsets) - 1, bool(private))
    multiclass = np.diff(class_offsets) >= 3
    return imbalanced_two_class_heads(class_counts, class_offsets) | multiclass


def head_private_offsets(head_sizes, private_heads):
    """First column of each head's private part in ``U``; -1 for none.

    Parameters
    ----------
    head_sizes : sequence of int
        Number of classes of each head.
    private_heads : ndarray of shape (n_heads,), dtype=bool
        The heads that have a private part.

    Returns
    -------
    offsets : ndarray of shape (n_heads,), dtype=int32
        The private heads' classes own consecutive columns, in head order.
    """
    sizes = np.asarray(head_sizes) * np.asarray(private_heads, dtype=bool)
    return np.where(sizes > 0, np.cumsum(sizes) - sizes, -1).astype(np.int32)


def private_columns(class_offsets, private_offsets):
    """The column of ``U`` of each class (stacked like the heads), -1 for none.

    ``private_offsets`` None means that every class has one, its own.
    """
    sizes = np.diff(class_offsets)
    if private_offsets is None:
        return np.arange(int(class_offsets[-1]))
    starts = np.repeat(private_offsets, sizes)
    within = np.arange(int(class_offsets[-1])) - np.repeat(class_offsets[:-1], sizes)
    return np.where(starts >= 0, starts + within, -1)


def activate(A, activation):
    """``phi(A)`` in place for 'relu' and 'tanh'; returns A."""
    if activation == "relu":
        np.maximum(A, 0, out=A)
    elif activation == "tanh":
        np.tanh(A, out=A)
    return A


def hidden(X, params, activation):
    """Shared representation ``h = phi(W^T x + b)``: (n_samples, n_components)."""
    H = X @ params["shared_coef_"]
    H = np.asarray(H) + params["shared_intercept_"]
    return activate(H, activation)


def prior_correction_strength(prior_correction, loss):
    """The estimator's ``prior_correction`` as a number, for a head's loss.

    'auto' is 0.5 with the log loss and 0 with the margin losses, whose
    logits are margins, not log probabilities that a log prior could shift; a
    fitted model replaces the multiclass heads' 0 with ``prior_strength_``.
    """
    if isinstance(prior_correction, str):
        return 0.5 if loss == "log_loss" else 0.0
    return prior_correction


def auto_prior_strengths(loss, class_offsets, head_task, n_tasks, margin_labels):
    """Per task, the strength ``prior_correction='auto'`` gives it before
    ``fit`` chooses any: ``prior_correction_strength`` of its heads' loss,
    but for the ``margin_labels``, which always take 0 (a task of margin
    labels alone, 0).

    Returns
    -------
    strengths : ndarray of shape (n_tasks,)
    """
    strengths = np.zeros(n_tasks)
    others = ~margin_labels if loss == "auto" else np.ones_like(margin_labels)
    strengths[head_task[others]] = [
        prior_correction_strength("auto", head_loss)
        for head_loss in head_losses(loss, class_offsets)[others]]
    return strengths


def prior_offset(prior_correction, loss, class_log_prior, class_offsets,
                 margin_labels, fitted=None):
    """What prediction adds to the logits: ``-prior_correction * log prior``.

    Parameters
    ----------
    prior_correction : float or 'auto'
        The estimator's parameter (``prior_correction_strength``).
    loss : {'auto', 'log_loss', 'hinge', 'modified_huber'}
        The estimator's loss (``head_losses``).
    class_log_prior : ndarray of shape (n_classes_total,)
        The fitted ``class_log_prior_``.
    class_offsets : ndarray of shape (n_heads + 1,)
    margin_labels : ndarray of shape (n_heads,), dtype=bool
        ``head_losses``'s.
    fitted : ndarray of shape (n_heads,), default=None
        The strength of each head that 'auto' resolves to on a fitted model
        (its task's ``prior_strength_``; a margin label's is 0 whatever its
        task's); None for the defaults of the heads' losses, as during
        ``fit``.

    Returns
    -------
    offset : ndarray of shape (n_classes_total,) or None
        None when there is nothing to add.
    """
    if fitted is not None and isinstance(prior_correction, str):
        strength = np.where(margin_labels & (loss == "auto"), 0.0, fitted)
    else:
        strength = np.array(
            [prior_correction_strength(prior_correction, head_loss)
             for head_loss in head_losses(loss, class_offsets, margin_labels)])
    strength = np.repeat(strength, np.diff(class_offsets))
    if not strength.any():
        return None
    return -strength * class_log_prior


def task_logits(X, params, activation, class_offsets, offset=None,
                private_offsets=None):
    """Logits of every head: list of (n_samples, n_classes_h) arrays.

    ``offset`` (of shape (n_classes_total,), stacked like the heads) is added
    to every row's logits when given: the prior correction of prediction.
    ``private_offsets`` places ``U``'s columns (None: every class's own).
    """
    # All heads in one product (a slice of U per task would be copied).
    Z = hidden(X, params, activation) @ params["head_coef_"].T + params[
        "head_intercept_"]
    if params["private_coef_"] is not None:
        # The private heads' classes in order, so U's columns as they are.
        with_u = private_columns(class_offsets, private_offsets) >= 0
        Z[:, with_u] += np.asarray(X @ params["private_coef_"])
    if offset is not None:
        Z += offset.astype(Z.dtype)
    return [Z[:, class_offsets[t]:class_offsets[t + 1]]
            for t in range(len(class_offsets) - 1)]


def map_logits(X, params, activation, class_offsets, func, offset=None,
               private_offsets=None, refine=None):
    """``func`` of each head's logits (plus ``offset``), computed over chunks of rows.

    ``func`` is one callable for every head, or a list of one per head.
    ``refine``, if given, maps a chunk's list of head logits to the list that
    ``func`` reads (``_refinement.refiner``).
    Returns one array per head, stacking ``func(Z_h)`` over the chunks.
    Working in chunks of ``PREDICT_CHUNK_ROWS`` rows bounds what prediction
    allocates besides its output (the shared representation and the logits of
    one chunk), however many rows X has.
    """
    n_samples = X.shape[0]
    out = None
    for rows in gen_batches(n_samples, PREDICT_CHUNK_ROWS):
        logits = task_logits(X[rows], params, activation, class_offsets, offset,
                             private_offsets)
        if refine is not None:
            logits = refine(logits)
        funcs = func if isinstance(func, list) else [func] * len(logits)
        results = [f(Z) for f, Z in zip(funcs, logits)]
        if out is None:
            out = [np.empty((n_samples,) + r.shape[1:], dtype=r.dtype)
                   for r in results]
        for full, part in zip(out, results):
            full[rows] = part
    return out


def log_softmax(Z):
    """Log of the softmax of each row of Z, computed stably from the logits."""
    Z = Z - Z.max(axis=1, keepdims=True)
    Z -= np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return Z


def linear_weights(params, lo, hi, class_offsets=None, private_offsets=None):
    """Effective linear weights of classes ``lo:hi``: (n_features, hi - lo).

    ``W @ V[lo:hi].T`` plus those classes' columns of ``U`` (placed by
    ``private_offsets``; None: every class's own): what the logits would be
    without the activation (exact for 'identity'), up to the intercepts.
    """
    M = np.asarray(params["shared_coef_"] @ params["head_coef_"][lo:hi].T,
                   dtype=np.float64)
    if params["private_coef_"] is not None:
        columns = (np.arange(lo, hi) if private_offsets is None else
                   private_columns(class_offsets, private_offsets)[lo:hi])
        has = columns >= 0
        M[:, has] += params["private_coef_"][:, columns[has]]
    return M
