"""Checks that run before any computation of a fit: X, parameters, warm state.

``_parameter_constraints`` checks each parameter's type and range; what needs
the data or several parameters at once is checked here, so that a fit that
fails does so before it has changed anything.
"""

import numpy as np
import scipy.sparse as sp
from joblib import cpu_count
from sklearn.utils.validation import validate_data


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


def check_params_together(estimator):
    """Checks of parameters that depend on each other."""
    if estimator.n_components == 0 and not estimator.private:
        raise ValueError(
            "n_components=0 leaves no parameter to learn; set private=True for "
            "independent linear models per task, or n_components >= 1."
        )


def n_threads(n_jobs):
    """Threads of the kernel from ``n_jobs``, with joblib's convention."""
    if n_jobs is None:
        return 1
    if n_jobs == 0:
        raise ValueError(
            "n_jobs == 0 has no meaning; use None or 1 for one thread, -1 for "
            "all CPUs."
        )
    if n_jobs < 0:
        return max(1, cpu_count() + 1 + n_jobs)
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
    if names is not None and list(names) != list(fitted_names):
        if fitted_names != [f"task_{t}" for t in range(len(fitted_names))]:
            raise ValueError(
                f"Y's task names {list(names)} differ from the fitted task names "
                f"{fitted_names}."
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
    if (estimator.private_coef_ is not None) != bool(estimator.private) or (
        estimator.shared_coef_.shape[1] != estimator.n_components
    ):
        raise ValueError(
            "n_components and private cannot change when continuing training "
            "(warm_start or partial_fit); refit from scratch."
        )
