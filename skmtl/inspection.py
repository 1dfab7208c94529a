"""Inspect a fitted multi-task model: top terms per class, similarity of tasks.

Both functions read the fitted parameters only (no data is needed) and accept a
fitted :class:`~skmtl.MultiTaskTextClassifier` or a fitted
:class:`~sklearn.pipeline.Pipeline` that ends with one.

They work with the **effective linear weights** of each class on the input
features. With the identity activation (the default), the logit of class ``c``
of task ``t`` is linear in the input ``x``::

    z_tc(x) = x . (W @ V_t[c] + U_t[:, c]) + constant

where ``W`` is ``shared_coef_``, ``V_t[c]`` the row of ``head_coef_`` of class
``c`` of task ``t`` and ``U_t[:, c]`` the matching column of ``private_coef_``
(left out when ``private=False``). The vector ``W @ V_t[c] + U_t[:, c]``, of
length ``n_features_in_``, is the effective weight vector of that class. With
``activation='relu'`` or ``'tanh'`` the logit is not linear in ``x``; the same
vectors then describe the model without its non-linearity, which is only an
approximation.

A softmax is unchanged when the same amount is added to the logits of all
classes of a task, so only the **differences** between a task's classes are
identified. Both functions therefore use weights relative to the other classes
of the task.

A multi-label task has one two-class head (absent, present) per label, so
each label is described by one vector: the effective weights of "present"
minus those of "absent", the features that make the label more likely.
"""

from numbers import Integral

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import check_is_fitted

from . import _model, _validation
from ._estimator import MultiTaskTextClassifier
from ._tasks import head_tasks

__all__ = ["task_similarity", "top_terms"]


def _final_classifier(model):
    """The fitted MultiTaskTextClassifier of ``model`` and its input transformer.

    Returns ``(classifier, transformer)`` where ``transformer`` is the pipeline
    of the steps before the classifier (None for a bare classifier or a
    one-step pipeline).
    """
    transformer = None
    classifier = model
    if isinstance(model, Pipeline):
        classifier = model.steps[-1][1]
        if len(model.steps) > 1:
            transformer = model[:-1]
    if not isinstance(classifier, MultiTaskTextClassifier):
        what = (
            f"a Pipeline whose last step is {type(classifier).__name__}"
            if isinstance(model, Pipeline)
            else type(model).__name__
        )
        raise TypeError(
            "Expected a MultiTaskTextClassifier or a Pipeline ending with one; "
            f"got {what}."
        )
    check_is_fitted(classifier)
    # The heads are read through class_offsets_ and multilabel_: a model
    # loaded from a file must have them consistent, as for predict.
    _validation.check_fitted_state(classifier)
    return classifier, transformer


def _task_classes(classifier):
    """The classes of every task as a list, also for a model fitted on 1-D y."""
    classes = classifier.classes_
    return list(classes) if isinstance(classes, list) else [classes]


def _task_spans(classifier):
    """Per task, the range ``(lo, hi)`` of its rows in the stacked heads.

    A multiclass task owns one head, a multi-label task one two-row head
    (absent, present) per label; the heads of a task are contiguous.
    """
    offsets = classifier.class_offsets_
    head_task = head_tasks(_task_classes(classifier), classifier.multilabel_)
    spans = []
    for t in range(classifier.n_tasks_):
        heads = np.flatnonzero(head_task == t)
        spans.append((int(offsets[heads[0]]), int(offsets[heads[-1] + 1])))
    return spans


def _top(weight, names, n_terms):
    """The ``n_terms`` features of largest weight, as (name, weight) pairs."""
    top = np.argpartition(-weight, n_terms - 1)[:n_terms]
    # Largest weight first; ties broken by feature index.
    top = top[np.lexsort((top, -weight[top]))]
    return [(str(names[j]), float(weight[j])) for j in top]


def _python_scalar(value):
    """A numpy scalar as the matching Python scalar (``np.str_`` -> ``str``)."""
    return value.item() if isinstance(value, np.generic) else value


def _feature_names(classifier, transformer, feature_names):
    """Validated feature names: given, from the pipeline, or from the model."""
    n_features = classifier.n_features_in_
    if feature_names is None:
        if transformer is not None:
            try:
                feature_names = transformer.get_feature_names_out()
            except AttributeError as exc:
                raise ValueError(
                    "Cannot get the feature names from the pipeline: a step before "
                    "the classifier has no get_feature_names_out (e.g. "
                    "HashingVectorizer). Pass feature_names explicitly."
                ) from exc
        elif hasattr(classifier, "feature_names_in_"):
            feature_names = classifier.feature_names_in_
        else:
            feature_names = [f"x{j}" for j in range(n_features)]
    feature_names = np.asarray(feature_names, dtype=object).ravel()
    if feature_names.shape[0] != n_features:
        raise ValueError(
            f"feature_names has {feature_names.shape[0]} entries but the model was "
            f"fitted on {n_features} features."
        )
    return feature_names


@validate_params(
    {
        "model": [MultiTaskTextClassifier, Pipeline],
        "feature_names": ["array-like", None],
        "n_terms": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def top_terms(model, feature_names=None, *, n_terms=10):
    """Features that most favour each class of each task.

    For task ``t`` with classes ``c = 1..K``, let ``w_c`` be the effective linear
    weights of class ``c`` on the input features (``W @ V_t[c]``, plus the
    task-private ``U_t[:, c]`` when ``private=True``; see
    :mod:`skmtl.inspection`). The weight of feature ``j`` for class ``c`` is how
    much the feature raises the logit of ``c`` relative to the other classes of
    the task::

        weight_c[j] = w_c[j] - mean over the classes c' != c of w_c'[j]

    For a binary task this is ``w_c - w_other``: the terms of ``"positive"``
    are the words that push a document towards ``"positive"`` rather than
    ``"negative"``, and the two classes' weights are opposite. For each label
    ``l`` of a multi-label task, whose head has the two classes absent and
    present, the weight is ``w_present(l) - w_absent(l)``: the terms of a label
    are the words that make it more likely. For each class (or label) the
    ``n_terms`` features of largest weight are returned, largest first. A task
    learned with a single class has no other class to be favoured over: its
    class gets an empty list.

    Parameters
    ----------
    model : MultiTaskTextClassifier or Pipeline
        A fitted :class:`~skmtl.MultiTaskTextClassifier`, or a fitted pipeline
        whose last step is one (e.g. ``make_pipeline(TfidfVectorizer(),
        MultiTaskTextClassifier())``).
    feature_names : array-like of str of shape (n_features,), default=None
        Name of each input feature of the classifier, e.g.
        ``vectorizer.get_feature_names_out()``. If None: for a pipeline, the
        ``get_feature_names_out()`` of the steps before the classifier; for a
        classifier, its ``feature_names_in_`` if it was fitted on a DataFrame,
        else ``x0, x1, ...``.
    n_terms : int, default=10
        Number of features to return per class (all of them if there are
        fewer).

    Returns
    -------
    terms : dict
        ``terms[task_name][label]`` is a list of ``(feature_name, weight)``
        tuples (``str`` and ``float``), sorted by decreasing weight. Tasks are
        in the order of ``task_names_`` and labels in the order of each task's
        ``classes_`` (a multi-label task's labels); labels are Python scalars
        (``str``, ``int``, ...). A model fitted on a 1-D ``y`` has the single
        task ``task_names_[0]``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the classifier is not fitted.
    ValueError
        If ``feature_names`` does not have one entry per input feature, if
        it is None and a pipeline cannot provide the names, or if the fitted
        arrays do not agree with each other (a damaged or edited model file).

    See Also
    --------
    task_similarity : Similarity of the tasks' effective weights.

    Notes
    -----
    The weights are exact for ``activation='identity'`` (the default). The
    scale of a feature matters: with TF-IDF, a frequent word has small values
    and needs a large weight to move a logit as much as a rare one.

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmtl import MultiTaskTextClassifier
    >>> from skmtl.datasets import load_demo_corpus
    >>> from skmtl.inspection import top_terms
    >>> train = load_demo_corpus(as_frame=True)
    >>> model = make_pipeline(
    ...     TfidfVectorizer(min_df=5),
    ...     MultiTaskTextClassifier(max_iter=3, random_state=0),
    ... ).fit(train.data, train.target)
    >>> terms = top_terms(model, n_terms=3)
    >>> list(terms)
    ['books', 'dvd', 'electronics', 'kitchen_housewares']
    >>> list(terms["books"])
    ['negative', 'positive']
    >>> [term for term, weight in terms["books"]["positive"]]
    ['great', 'easy', 'best']
    >>> [term for term, weight in terms["books"]["negative"]]
    ['boring', 'waste', 'disappointed']
    """
    classifier, transformer = _final_classifier(model)
    names = _feature_names(classifier, transformer, feature_names)
    n_terms = min(n_terms, names.shape[0])
    params = classifier._parameters()
    result = {}
    for task, classes, is_multilabel, (lo, hi) in zip(
        classifier.task_names_, _task_classes(classifier),
        classifier.multilabel_, _task_spans(classifier),
    ):
        M = _model.linear_weights(params, lo, hi, classifier.class_offsets_,
                                  classifier.private_offsets_)
        if is_multilabel:
            # Rows (absent, present) of each label's head, label after label.
            weights = M[:, 1::2] - M[:, 0::2]
        elif M.shape[1] == 1:
            weights = None  # one class: nothing to be favoured over
        else:
            total = M.sum(axis=1, keepdims=True)
            weights = M - (total - M) / (M.shape[1] - 1)
        result[str(task)] = {
            _python_scalar(label): (
                [] if weights is None else _top(weights[:, c], names, n_terms)
            )
            for c, label in enumerate(classes)
        }
    return result


@validate_params(
    {"model": [MultiTaskTextClassifier, Pipeline]},
    prefer_skip_nested_validation=True,
)
def task_similarity(model):
    """Similarity of every pair of tasks, from their fitted weights.

    Each task ``t`` is described by its matrix ``M_t`` of shape
    ``(n_features, n_classes_t)``: the effective linear weights of its classes
    on the input features (``W @ V_t.T``, plus ``U_t`` when ``private=True``;
    see :mod:`skmtl.inspection`), centred over the task's classes (the mean
    over classes is subtracted from every column, as the softmax ignores it).
    A multi-label task has one column per label instead: the label's weights
    for "present" minus those for "absent" (each label is a two-class head of
    its own, so the columns are not centred across labels). Two tasks are
    similar when the same features move their classes. For tasks ``s`` and
    ``t``:

    - if they have **the same classes** (equal ``classes_``, whether the
      tasks are multiclass or multi-label), the similarity is the cosine
      between ``M_s`` and ``M_t`` flattened, class by class::

          sim(s, t) = <M_s, M_t> / (||M_s|| ||M_t||)      (Frobenius norms)

      It is signed, in ``[-1, 1]``: near 1 when the same words favour the same
      labels in both tasks, near -1 when they favour opposite labels, near 0
      for unrelated tasks. For two binary tasks it is the cosine of the
      vectors ``w_second_class - w_first_class``.
    - otherwise the classes of the two tasks cannot be matched, and the
      similarity is the label-free measure::

          sim(s, t) = ||M_s.T @ M_t|| / sqrt(||M_s.T @ M_s|| ||M_t.T @ M_t||)

      (Frobenius norms; the square root of the RV coefficient of ``M_s`` and
      ``M_t``), in ``[0, 1]``. It does not depend on the order or the names of
      the classes; for two binary tasks it is the absolute value of the cosine
      above.

    The diagonal is 1. A task whose centred weights are all zero (as a task
    learned with a single class) has similarity 0 with every other task.

    Parameters
    ----------
    model : MultiTaskTextClassifier or Pipeline
        A fitted :class:`~skmtl.MultiTaskTextClassifier`, or a fitted pipeline
        whose last step is one.

    Returns
    -------
    similarity : ndarray of shape (n_tasks, n_tasks)
        Symmetric matrix of similarities, rows and columns in the order of the
        classifier's ``task_names_``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the classifier is not fitted.
    ValueError
        If the fitted arrays do not agree with each other (a damaged or edited
        model file).

    See Also
    --------
    top_terms : The features that favour each class of each task.

    Notes
    -----
    The similarity is computed from the small matrices ``W.T @ W``,
    ``W.T @ U`` and ``U.T @ U``, never from the ``(n_features, n_classes)``
    weight matrices themselves. It reflects how the model uses all its input
    features: a feature that occurs in no labelled training row keeps its
    small random initial values in the shared layer, which add a little to
    every task's weights.

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmtl import MultiTaskTextClassifier
    >>> from skmtl.datasets import load_demo_corpus
    >>> from skmtl.inspection import task_similarity
    >>> train = load_demo_corpus(as_frame=True)
    >>> model = make_pipeline(
    ...     TfidfVectorizer(min_df=5),
    ...     MultiTaskTextClassifier(max_iter=3, random_state=0),
    ... ).fit(train.data, train.target)
    >>> similarity = task_similarity(model)
    >>> similarity.shape
    (4, 4)
    >>> bool((similarity.diagonal() == 1).all())
    True
    >>> bool((similarity > 0.5).all())  # four sentiment tasks: all alike
    True
    """
    classifier, _ = _final_classifier(model)
    n_tasks = classifier.n_tasks_
    classes = _task_classes(classifier)
    G = _centred_gram(classifier)
    ends = np.cumsum([len(c) for c in classes])
    blocks = [slice(end - len(c), end) for c, end in zip(classes, ends)]
    sq_norm = np.array([np.trace(G[b, b]) for b in blocks])
    gram_norm = np.array([np.linalg.norm(G[b, b]) for b in blocks])

    similarity = np.eye(n_tasks)
    for s in range(n_tasks):
        for t in range(s + 1, n_tasks):
            G_st = G[blocks[s], blocks[t]]
            same = classes[s].shape == classes[t].shape and np.array_equal(
                classes[s], classes[t]
            )
            if same:
                denom = np.sqrt(sq_norm[s] * sq_norm[t])
                value = np.trace(G_st) / denom if denom > 0 else 0.0
            else:
                denom = np.sqrt(gram_norm[s] * gram_norm[t])
                value = np.linalg.norm(G_st) / denom if denom > 0 else 0.0
            similarity[s, t] = similarity[t, s] = np.clip(value, -1.0, 1.0)
    return similarity


def _task_columns(classifier):
    """``Q`` of shape (n_classes_total, sum of n_classes_t): the tasks' columns.

    The effective weights of all head rows times ``Q`` are the matrices
    ``M_t`` of ``task_similarity`` side by side, task after task: a multiclass
    task's classes centred (``I - 1/K`` on its rows), a multi-label task's
    labels as present minus absent (-1 and +1 on each head's two rows).
    """
    classes = _task_classes(classifier)
    Q = np.zeros((classifier.class_offsets_[-1], sum(len(c) for c in classes)))
    column = 0
    for task_classes, is_multilabel, (lo, hi) in zip(
        classes, classifier.multilabel_, _task_spans(classifier)
    ):
        n = len(task_classes)
        if is_multilabel:
            labels = np.arange(n)
            Q[lo + 2 * labels, column + labels] = -1.0
            Q[lo + 2 * labels + 1, column + labels] = 1.0
        else:
            Q[lo:hi, column:column + n] = np.eye(n) - 1.0 / n
        column += n
    return Q


def _centred_gram(classifier):
    """``M.T @ M`` for the tasks' matrices ``M = [M_1, ..., M_T]``.

    With ``M = (W @ V.T + U) @ Q`` (``Q`` of ``_task_columns``),
    ``M.T @ M = Q' (V W'W V' + V W'U + U'W V' + U'U) Q`` needs only products
    of size (n_components or n_classes_total) squared.
    """
    W = classifier.shared_coef_
    V = np.asarray(classifier.head_coef_, dtype=np.float64)
    WtW = np.asarray(W.T @ W, dtype=np.float64)
    G = V @ WtW @ V.T
    U = classifier.private_coef_
    if U is not None:
        # U's columns placed among all classes (zero for classes without).
        columns = _model.private_columns(classifier.class_offsets_,
                                         classifier.private_offsets_)
        place = np.zeros((U.shape[1], len(columns)))
        place[columns[columns >= 0], np.flatnonzero(columns >= 0)] = 1.0
        cross = V @ np.asarray(W.T @ U, dtype=np.float64) @ place
        G += cross + cross.T + place.T @ np.asarray(U.T @ U, dtype=np.float64) @ place
    Q = _task_columns(classifier)
    return Q.T @ G @ Q
