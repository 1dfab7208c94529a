"""Shared fixtures: small multi-task problems with missing labels."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.preprocessing import normalize


def make_sparse_problem(dtype=np.float64, n_samples=200, n_features=40, seed=0):
    """Sparse TF-IDF-like X (rows of norm 1) and a float Y with NaN = missing.

    Two learnable tasks: task_0 is binary (sign of a random linear function of
    x), task_1 has 3 classes (argmax of three). About 30% of each task's labels
    are missing.
    """
    rng = np.random.RandomState(seed)
    X = sp.random(n_samples, n_features, density=0.2, format="csr", random_state=rng)
    X = normalize(X).astype(dtype)
    w0 = rng.randn(n_features)
    W1 = rng.randn(n_features, 3)
    Y = np.column_stack(
        [(X @ w0 > 0).astype(int), np.asarray(X @ W1).argmax(axis=1)]
    ).astype(np.float64)
    Y[rng.rand(n_samples, 2) < 0.3] = np.nan
    return X, Y


@pytest.fixture(params=[np.float64, np.float32], ids=["float64", "float32"])
def sparse_problem(request):
    """(X, Y) in float64 and float32: sparse X, 2 tasks, NaN-missing labels."""
    return make_sparse_problem(request.param)


@pytest.fixture
def sparse_problem64():
    """(X, Y): the float64 problem only, for tests that do not depend on dtype."""
    return make_sparse_problem(np.float64)


@pytest.fixture
def sparse_problem32():
    """(X, Y): the float32 problem only."""
    return make_sparse_problem(np.float32)


@pytest.fixture
def sparse_train_test():
    """Train and test split of one float64 problem (same generating functions)."""
    X, Y = make_sparse_problem(np.float64, n_samples=400)
    return X[:200], Y[:200], X[200:], Y[200:]


@pytest.fixture
def problem_factory():
    """The generator itself, for tests that need other sizes, seeds or dtypes."""
    return make_sparse_problem


# Tests of modules that carry no marker of their own and took more than about
# 10 s in `python -m pytest --durations=30` on a busy 2-core machine: marked
# slow here, so that `-m "not slow and not docs and not dask"` runs the fast
# core in about a minute.
SLOW_TESTS = {
    "test_cli.py::test_demo_quiet_prints_only_the_table",
    "test_estimator.py::test_grid_search_with_string_sentinel",
    "test_inspection.py::test_docstring_examples",
    "test_metrics.py::test_scorer_in_grid_search_with_loky",
    "test_persistence.py::test_fit_and_pickled_model_are_bit_identical_in_another_process",
    "test_streaming.py::test_out_of_core_hashing_stream",
}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.nodeid.rsplit("/", 1)[-1].split("[")[0] in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
