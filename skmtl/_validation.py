"""Checks that run before any computation of a fit: X, parameters, warm state.

``_parameter_constraints`` checks each parameter's type and range; what needs
the data or several parameters at once is checked here, so that a fit that
fails does so before it has changed anything.
"""

import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
from joblib import cpu_count
from sklearn.utils import check_array
from sklearn.utils.validation import _check_sample_weight, validate_data

from . import _model, _sgd_fast
from ._tasks import head_sizes, head_tasks


def validate_X(estimator, X, reset):
    """``validate_data`` for X, with errors on an empty X that name X.

    scikit-learn's own message ("Found array with 0 sample(s)") does not say
    which argument was empty, so the minimum sizes are checked here instead, in
    scikit-learn's words (its estimator checks match them). A sparse X must
    also have valid CSR index arrays.
    """
    X = validate_data(
        estimator, X, accept_sparse="csr", dtype=[np.float64, np.float32],
        reset=reset, ensure_min_samples=0, ensure_min_features=0,
    )
    for axis, what in enumerate(("sample", "feature")):
        if X.shape[axis] == 0:
            raise ValueError(
                f"X has 0 {what}(s) (shape={X.shape}) while a minimum of 1 is "
                f"required by {type(estimator).__name__}."
            )
    if sp.issparse(X):
        check_csr_indices(X)
    return X


def check_csr_indices(X):
    """Raise if X's CSR index arrays would make the kernel read or write outside.

    scipy builds a CSR matrix from (data, indices, indptr) without checking the
    indices, and neither does ``validate_data``: an index outside
    [0, n_features) would make the kernel write outside W (and X @ W read
    outside it). Two passes over the indices, cheap next to an epoch.
    """
    nnz = X.indptr[-1]
    indices = X.indices[:nnz]
    if (
        X.indptr[0] != 0 or np.any(np.diff(X.indptr) < 0)
        or nnz > len(X.indices) or nnz > len(X.data)
    ):
        raise ValueError(
            "X is a malformed CSR matrix: its indptr must start at 0, never "
            "decrease and end within its indices and data."
        )
    if nnz and (indices.min() < 0 or indices.max() >= X.shape[1]):
        raise ValueError(
            f"X is a malformed CSR matrix: column indices must be in [0, "
            f"{X.shape[1]}), got values from {indices.min()} to {indices.max()}."
        )


def check_sample_weight(sample_weight, X, n_tasks, is_1d):
    """``sample_weight`` as row weights and, in its 2-D form, cell weights.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), or None
        The argument of ``fit`` or ``partial_fit``.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    n_tasks : int
    is_1d : bool
        Whether y is 1-D (a single task): a 2-D weight is then refused.

    Returns
    -------
    row_weight : ndarray of shape (n_samples,), dtype=float64
        Finite and non-negative (ones for the 2-D form).
    cell_weight : ndarray of shape (n_samples, n_tasks), dtype=float64, or None
        Finite and non-negative, C-contiguous; None for the 1-D form.
    """
    if sample_weight is None or np.asarray(sample_weight).ndim != 2:
        row_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        return row_weight, None
    if is_1d:
        raise ValueError(
            f"sample_weight has shape {np.shape(sample_weight)}, a weight per "
            "(sample, task) cell, but y is 1-D (a single task): pass a 1-D "
            "sample_weight of shape (n_samples,)."
        )
    cell_weight = check_array(
        sample_weight, dtype=np.float64, order="C", input_name="sample_weight",
        ensure_min_samples=0, ensure_min_features=0,
    )
    if cell_weight.shape != (X.shape[0], n_tasks):
        raise ValueError(
            f"sample_weight has shape {cell_weight.shape}; a 2-D sample_weight "
            f"must have shape (n_samples, n_tasks) = {(X.shape[0], n_tasks)}."
        )
    if np.any(cell_weight < 0):
        raise ValueError("sample_weight has negative values; weights must be "
                         "non-negative.")
    return np.ones(X.shape[0]), cell_weight


def check_params_together(estimator):
    """Checks of parameters that depend on each other."""
    if estimator.n_components == 0 and (isinstance(estimator.private, str)
                                        or not estimator.private):
        raise ValueError(
            "n_components=0 leaves no parameter to learn; set private=True for "
            "independent linear models per task, or n_components >= 1."
        )


def n_threads(n_jobs):
    """Threads of the kernel from ``n_jobs``, with joblib's convention.

    More threads than the machine's CPUs (joblib's ``cpu_count``, which
    respects CPU affinity and container limits) are capped with a warning: they
    would gain nothing, and tens of thousands end the process from OpenMP.
    """
    if n_jobs is None:
        return 1
    if n_jobs == 0:
        raise ValueError(
            "n_jobs == 0 has no meaning; use None or 1 for one thread, -1 for "
            "all CPUs."
        )
    n_cpus = cpu_count()
    if n_jobs < 0:
        return max(1, n_cpus + 1 + n_jobs)
    if n_jobs > n_cpus:
        warnings.warn(
            f"n_jobs={n_jobs} exceeds the {n_cpus} CPUs this process can use; "
            f"training uses {n_cpus} threads.",
            UserWarning,
        )
        return n_cpus
    return n_jobs


def check_task_weights(task_weights, task_names):
    """``task_weights`` as a float64 array by task, unnormalised.

    Parameters
    ----------
    task_weights : array-like, dict or None
        The estimator's parameter.
    task_names : list of str

    Returns
    -------
    weights : ndarray of shape (n_tasks,)
        Finite, non-negative, not all zero.
    """
    n_tasks = len(task_names)
    if task_weights is None:
        return np.ones(n_tasks)
    if isinstance(task_weights, dict):
        unknown = set(task_weights) - set(task_names)
        if unknown:
            raise ValueError(
                f"task_weights names unknown tasks {sorted(map(str, unknown))}; "
                f"the tasks are {task_names}."
            )
        weights = [task_weights.get(n, 1.0) for n in task_names]
    else:
        weights = task_weights
    try:
        weights = np.asarray(weights, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        # numpy's "could not convert string to float" names no parameter.
        raise ValueError(
            f"task_weights must be numbers; got {task_weights!r}."
        ) from exc
    if weights.shape[0] != n_tasks:
        raise ValueError(
            f"task_weights has {weights.shape[0]} entries but there are "
            f"{n_tasks} tasks {task_names}."
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError(
            f"task_weights must be finite and non-negative; got {weights}."
        )
    if weights.sum() == 0:
        raise ValueError("task_weights are all zero: no task would be learned.")
    return weights


def check_class_weight(class_weight, task_names, task_classes, is_1d):
    """``class_weight`` as one entry per task: None, 'balanced' or a checked dict.

    Parameters
    ----------
    class_weight : dict, list, 'balanced' or None
        The estimator's parameter.
    task_names : list of str
    task_classes : list of ndarray
        Classes of each task.
    is_1d : bool
        Whether the model is a single-task classifier (a dict is then
        ``{label: weight}``, else ``{task_name: entry}``).

    Returns
    -------
    specs : list
        Per task: None, 'balanced' or a ``{label: weight}`` dict of its classes
        with finite, non-negative weights.
    """
    specs = _class_weight_per_task(class_weight, task_names, is_1d)
    for name, classes, spec in zip(task_names, task_classes, specs):
        if spec is None or isinstance(spec, str) and spec == "balanced":
            continue
        # A task's entry is only checked here (the parameter constraints see
        # the outer dict or list).
        if not isinstance(spec, dict):
            raise ValueError(
                f"class_weight of task {name!r} is {spec!r}; use a "
                "{label: weight} dict, 'balanced' or None."
            )
        unknown = [c for c in spec if not np.isin(c, classes).any()]
        if unknown:
            raise ValueError(
                f"class_weight of task {name!r} names labels {unknown} that are "
                f"not among its classes {classes.tolist()}."
            )
        try:
            values = np.asarray(list(spec.values()), dtype=np.float64)
        except (TypeError, ValueError):
            values = np.array([np.nan])
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError(
                f"class_weight of task {name!r} must be finite and "
                f"non-negative; got {spec}."
            )
    return specs


def _class_weight_per_task(class_weight, task_names, is_1d):
    n_tasks = len(task_names)
    if class_weight is None or isinstance(class_weight, str):
        return [class_weight] * n_tasks
    if isinstance(class_weight, list):
        if len(class_weight) != n_tasks:
            raise ValueError(
                f"class_weight has {len(class_weight)} entries but there are "
                f"{n_tasks} tasks {task_names}."
            )
        return class_weight
    if is_1d:
        return [class_weight]
    unknown = set(class_weight) - set(task_names)
    if unknown:
        raise ValueError(
            f"class_weight names unknown tasks {sorted(map(str, unknown))}; the "
            f"tasks are {task_names}. With several tasks, class_weight is "
            "a dict by task name of {label: weight} dicts or 'balanced'."
        )
    return [class_weight.get(name) for name in task_names]


def check_task_names(names, n_tasks, fitted_names, estimator_name):
    """Raise if Y's tasks are not the fitted ones (count, then names)."""
    if n_tasks != len(fitted_names):
        raise ValueError(
            f"Y has {n_tasks} task(s) but {estimator_name} was fitted on "
            f"{len(fitted_names)} task(s) {fitted_names}."
        )
    if names is None or list(names) == list(fitted_names):
        return
    default = [f"task_{t}" for t in range(len(fitted_names))]
    # A model fitted without names (default ones) takes any names, unless they
    # are default names in another order: columns swapped by mistake.
    if fitted_names != default or set(names) & set(default):
        raise ValueError(
            f"Y's task names {list(names)} differ from the fitted task names "
            f"{fitted_names}; pass the tasks' columns in the fitted order."
        )


def check_warm_state(estimator, task_classes):
    """Raise if training cannot continue from the fitted state.

    The classes of every task, ``n_components`` and ``private`` must not change.
    """
    fitted = [estimator.classes_] if estimator._is_1d else estimator.classes_
    same = len(fitted) == len(task_classes) and all(
        len(a) == len(b) and np.array_equal(a, b)
        for a, b in zip(fitted, task_classes)
    )
    if not same:
        raise ValueError(
            "warm_start=True needs the classes of every task to stay the same; "
            f"fitted {fitted}, got {task_classes}. Set warm_start=False to refit."
        )
    has_private = estimator.private_offsets_ >= 0
    # 'auto' keeps the heads it chose at the first fit, from that fit's labels.
    wanted = (has_private if isinstance(estimator.private, str) else
              _model.private_heads(estimator.private, None, estimator.class_offsets_))
    if not np.array_equal(wanted, has_private) or (
        estimator.shared_coef_.shape[1] != estimator.n_components
    ):
        raise ValueError(
            "n_components and private cannot change when continuing training "
            "(warm_start or partial_fit); refit from scratch."
        )


def check_fitted_state(estimator, finite=False):
    """Raise a ValueError unless the fitted arrays agree with each other.

    The kernel trusts the shapes, dtypes, contiguity and class offsets of the
    parameters it updates; a model loaded from a file (pickle, joblib, skops)
    or edited by hand may hold any values, so they are checked here before any
    prediction or training reads them.

    Parameters
    ----------
    estimator : MultiTaskTextClassifier
        A fitted estimator.
    finite : bool, default=False
        Also check that every parameter but the shared layer is finite (one
        pass over each array; done before training continues from them, which
        checks the shared layer as it copies it: ``copy_shared_layer``).
    """
    problems = []
    W = getattr(estimator, "shared_coef_", None)
    dtype = W.dtype if isinstance(W, np.ndarray) else None
    if dtype not in (np.float32, np.float64):
        problems.append(f"shared_coef_ is not a float32 or float64 array: {W!r:.80}")
    task_classes = getattr(estimator, "classes_", [])
    if getattr(estimator, "_is_1d", False):
        task_classes = [task_classes]
    n_tasks = getattr(estimator, "n_tasks_", None)
    names = getattr(estimator, "task_names_", None)
    if not (len(task_classes) == n_tasks and names is not None
            and len(names) == n_tasks):
        problems.append(
            f"n_tasks_ ({n_tasks}), task_names_ and classes_ do not agree"
        )
    multilabel = getattr(estimator, "multilabel_", None)
    if not (isinstance(multilabel, np.ndarray) and multilabel.dtype == bool
            and multilabel.shape == (len(task_classes),)):
        problems.append(f"multilabel_ is {multilabel!r:.80}, expected "
                        f"{len(task_classes)} booleans")
        multilabel = np.zeros(len(task_classes), dtype=bool)
    problems += _threshold_problems(estimator, task_classes, multilabel)
    problems += _calibration_problems(estimator, len(task_classes))
    problems += _refinement_problems(estimator, task_classes, multilabel)
    sizes = head_sizes(task_classes, multilabel)
    expected = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    offsets = getattr(estimator, "class_offsets_", None)
    if not (isinstance(offsets, np.ndarray) and offsets.dtype == np.int32
            and np.array_equal(offsets, expected)):
        problems.append(
            f"class_offsets_ is {offsets!r:.80}, expected int32 {expected.tolist()}"
        )
    n_private = _private_problems(estimator, expected, problems)
    problems += _margin_label_problems(estimator, multilabel[head_tasks(
        task_classes, multilabel)])
    if not problems:
        problems = _parameter_problems(estimator, dtype, int(expected[-1]),
                                       n_private, finite)
    if problems:
        _raise_inconsistent(estimator, problems)


def _threshold_problems(estimator, task_classes, multilabel):
    thresholds = getattr(estimator, "thresholds_", None)
    if getattr(estimator, "_is_1d", False):
        thresholds = [thresholds]
    if not isinstance(thresholds, list) or len(thresholds) != len(task_classes):
        return [f"thresholds_ is {thresholds!r:.80}, expected one entry per task"]
    for name, classes, is_multilabel, value in zip(
        getattr(estimator, "task_names_", []), task_classes, multilabel, thresholds
    ):
        if not is_multilabel:
            valid = value is None or (
                len(classes) == 2 and isinstance(value, Real)
                and not isinstance(value, bool) and np.isfinite(value))
        else:
            valid = (isinstance(value, np.ndarray) and value.shape == (len(classes),)
                     and value.dtype.kind == "f" and np.isfinite(value).all())
        if not valid:
            return [f"thresholds_ of task {name!r} is {value!r:.80}"]
    return []


def _calibration_problems(estimator, n_tasks):
    """Check ``temperature_`` (finite, > 0) and ``prior_strength_`` (finite)."""
    problems = []
    for name, low in (("temperature_", 0.0), ("prior_strength_", -np.inf)):
        value = getattr(estimator, name, None)
        if not (isinstance(value, np.ndarray) and value.shape == (n_tasks,)
                and value.dtype.kind == "f" and np.isfinite(value).all()
                and np.all(value > low)):
            problems.append(f"{name} is {value!r:.80}, expected {n_tasks} "
                            f"finite floats{' > 0' if low == 0 else ''}")
    return problems


def _refinement_problems(estimator, task_classes, multilabel):
    """Check ``refined_by_``, ``refinement_weight_`` and ``_refinement_map``
    (absent in a model saved before they existed: it reads no other task)."""
    refined_by = getattr(estimator, "refined_by_", None)
    if refined_by is None:
        return []
    n_tasks = len(task_classes)
    weights = getattr(estimator, "refinement_weight_", None)
    maps = getattr(estimator, "_refinement_map", None)
    if not (isinstance(refined_by, np.ndarray) and refined_by.shape == (n_tasks,)
            and refined_by.dtype.kind == "i"
            and np.all((refined_by >= -1) & (refined_by < n_tasks)
                       & (refined_by != np.arange(n_tasks)))):
        return [f"refined_by_ is {refined_by!r:.80}, expected {n_tasks} task "
                "indices or -1"]
    if not (isinstance(weights, np.ndarray) and weights.shape == (n_tasks,)
            and weights.dtype.kind == "f"
            and np.all((weights > 0) == (refined_by >= 0)) and np.all(weights <= 1)):
        return [f"refinement_weight_ is {weights!r:.80}, expected {n_tasks} "
                "floats in (0, 1] where refined_by_ names a task, else 0"]
    if not (isinstance(maps, list) and len(maps) == n_tasks):
        return [f"_refinement_map is {maps!r:.80}, expected a list of {n_tasks}"]
    for task in np.flatnonzero(refined_by >= 0):
        fine, class_map = refined_by[task], maps[task]
        if (multilabel[task] or multilabel[fine] or not (
                isinstance(class_map, np.ndarray) and class_map.dtype.kind == "i"
                and class_map.shape == (len(task_classes[fine]),)
                and np.all((class_map >= 0)
                           & (class_map < len(task_classes[task]))))):
            return [f"_refinement_map of task {task} is {class_map!r:.80}, "
                    f"expected a class of it for each of task {fine}'s"]
    return []


def copy_shared_layer(estimator):
    """A copy of a checked estimator's shared layer, checked finite as it is made.

    The copy starts a cache line (``aligned_zeros``: an epoch took a third
    longer on unaligned rows). Raises the ValueError of ``check_fitted_state``
    if a value is not finite.
    """
    W = estimator.shared_coef_
    copy = _sgd_fast.aligned_zeros(W.shape, W.dtype)
    if not _sgd_fast.copy_finite(W.reshape(-1), copy.reshape(-1)):
        _raise_inconsistent(estimator, ["shared_coef_ has values that are not finite"])
    return copy


def _raise_inconsistent(estimator, problems):
    raise ValueError(
        f"The fitted state of this {type(estimator).__name__} is "
        f"inconsistent: {'; '.join(problems)}. Was the model file edited or "
        "saved by another version? Refit the model."
    )


def _margin_label_problems(estimator, label_heads):
    """Check ``_margin_labels`` (absent from models saved before it) against
    the labels of the multi-label tasks."""
    margin_labels = getattr(estimator, "_margin_labels", None)
    if margin_labels is None or (
            isinstance(margin_labels, np.ndarray) and margin_labels.dtype == bool
            and margin_labels.shape == label_heads.shape
            and not (margin_labels & ~label_heads).any()):
        return []
    return [f"_margin_labels is {margin_labels!r:.80}, expected "
            f"{len(label_heads)} booleans, true for labels only"]


def _private_problems(estimator, class_offsets, problems):
    """Check ``private_offsets_`` against the heads; return U's column count."""
    offsets = getattr(estimator, "private_offsets_", None)
    n_heads = len(class_offsets) - 1
    if not (isinstance(offsets, np.ndarray) and offsets.dtype == np.int32
            and offsets.shape == (n_heads,)):
        problems.append(f"private_offsets_ is {offsets!r:.80}, expected "
                        f"{n_heads} int32 values")
        return 0
    sizes = np.diff(class_offsets)
    expected = _model.head_private_offsets(sizes, offsets >= 0)
    if not np.array_equal(offsets, expected):
        problems.append(f"private_offsets_ is {offsets.tolist()!r:.80}, expected "
                        f"{expected.tolist()!r:.80}")
    return int(sizes[offsets >= 0].sum())


def _parameter_problems(estimator, dtype, n_classes_total, n_private, finite):
    n_features = getattr(estimator, "n_features_in_", None)
    k = estimator.shared_coef_.shape[1] if estimator.shared_coef_.ndim == 2 else -1
    shapes = {
        "shared_coef_": (n_features, k),
        "shared_intercept_": (k,),
        "head_coef_": (n_classes_total, k),
        "head_intercept_": (n_classes_total,),
        "private_coef_": (n_features, n_private),
    }
    problems = []
    for name, shape in shapes.items():
        value = getattr(estimator, name, None)
        if name == "private_coef_" and value is None and n_private == 0:
            continue
        if not isinstance(value, np.ndarray) or value.shape != shape:
            got = getattr(value, "shape", type(value).__name__)
            problems.append(f"{name} has shape {got}, expected {shape}")
        elif value.dtype != dtype or not value.flags.c_contiguous:
            problems.append(f"{name} is not a C-contiguous {dtype} array")
        elif finite and name != "shared_coef_" and not np.isfinite(value).all():
            problems.append(f"{name} has values that are not finite")
    log_prior = getattr(estimator, "class_log_prior_", None)
    if not (isinstance(log_prior, np.ndarray)
            and log_prior.shape == (n_classes_total,)
            and np.all(log_prior <= 0)):
        problems.append(
            f"class_log_prior_ is {log_prior!r:.80}, expected {n_classes_total} "
            "values of at most 0"
        )
    counts = getattr(estimator, "_class_counts_seen", None)
    if counts is not None and np.shape(counts) != (n_classes_total,):
        problems.append(f"_class_counts_seen has shape {np.shape(counts)}")
    # The step rule's units. The floor is missing in models fitted before it
    # existed: partial_fit then takes it from its batch.
    floor = getattr(estimator, "_x_norm2_floor", None)
    if floor is not None and not (isinstance(floor, Real) and 0 < floor < np.inf):
        problems.append(f"_x_norm2_floor is {floor!r:.80}, expected a finite "
                        "positive number")
    step = getattr(estimator, "_step_scale", None)
    if step is not None and not (isinstance(step, Real) and 0 < step < np.inf):
        problems.append(f"_step_scale is {step!r:.80}, expected a finite "
                        "positive number")
    scale = getattr(estimator, "_sample_weight_scale", None)
    if scale is not None and not (isinstance(scale, Real) and 0 < scale < np.inf):
        problems.append(f"_sample_weight_scale is {scale!r:.80}, expected a "
                        "finite positive number")
    curve = getattr(estimator, "loss_curve_", None)
    if np.ndim(curve) != 2 or np.shape(curve)[1] != estimator.n_tasks_:
        problems.append(f"loss_curve_ has shape {np.shape(curve)}")
    return problems


def as_model_dtype(X, dtype):
    """X cast to the parameters' dtype, checked finite after the cast.

    A float64 value beyond float32's range becomes inf in a float32 model, and
    its probabilities NaN.
    """
    if X.dtype == dtype:
        return X
    X = X.astype(dtype)
    values = X.data if sp.issparse(X) else X
    if not np.isfinite(values).all():
        raise ValueError(
            f"X has values beyond the range of {np.dtype(dtype).name}, the dtype "
            "of the fitted parameters (they become inf). Scale the features, or "
            "fit the model on float64 X."
        )
    return X


def without_duplicates(X):
    """CSR X, or its canonical form (a copy) if a row holds a column twice.

    The kernel visits a row's entries one by one: duplicates would train a
    model different from the matrix's canonical form. Matrices without
    duplicates are used as they are (unsorted indices included, as
    ``TfidfVectorizer`` gives them), without a copy. X's indices and indptr
    are of one type (``with_one_index_dtype``).
    """
    if X.has_canonical_format or not _sgd_fast.csr_has_duplicates(
        X.indices, X.indptr, X.shape[1]
    ):
        return X
    X = X.copy()
    X.sum_duplicates()
    return X


def with_one_index_dtype(X):
    """CSR X, with indices and indptr of one integer type, int32 or int64.

    scipy allows them to differ, but the kernel takes one type, and older
    scipy (1.10) cannot select rows (held-out, validation) of such a matrix.
    The data is not copied.
    """
    indices, indptr = X.indices, X.indptr
    if indices.dtype == indptr.dtype and indices.dtype in (np.int32, np.int64):
        return X
    return sp.csr_matrix((X.data, indices.astype(np.int64), indptr.astype(np.int64)),
                         shape=X.shape, copy=False)
