"""Property-based tests (hypothesis) over random sparse X and label matrices.

Random problems: a few rows and features, float32 or float64, some empty rows,
feature scales from 1e-3 to 1e2; one to three tasks with int or string labels
(2-4 classes each), missing labels (None), every task keeping at least 2
classes among its labelled rows. Whatever the draw, fit / partial_fit and
prediction must not fail, predictions are among each task's classes, and
probabilities are finite and sum to one.
"""

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from skmtl import MultiTaskTextClassifier

# Fast and reproducible-by-report: small examples, no deadline (the first call
# of a test compiles nothing, but a fit may take a few ms), and no example
# database written into the working tree.
SETTINGS = dict(deadline=None, database=None, print_blob=True)

INT_LABELS = st.integers(-3, 50)
STR_LABELS = st.text(alphabet="abcxyz", min_size=1, max_size=3)


@st.composite
def problems(draw, max_tasks=3):
    """(X, Y, task_classes): sparse X, object Y with None for missing labels."""
    n_samples = draw(st.integers(4, 24))
    n_features = draw(st.integers(1, 12))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    density = draw(st.sampled_from([0.05, 0.3, 1.0]))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e2]))
    n_empty = draw(st.integers(0, n_samples // 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    dense = rng.standard_normal((n_samples, n_features)) * scale
    dense[rng.random((n_samples, n_features)) >= density] = 0
    dense[rng.choice(n_samples, n_empty, replace=False)] = 0  # documents, no words
    X = sp.csr_matrix(dense.astype(dtype))

    n_tasks = draw(st.integers(1, max_tasks))
    Y = np.empty((n_samples, n_tasks), dtype=object)
    task_classes = []
    for t in range(n_tasks):
        n_classes = draw(st.integers(2, 4))
        labels = STR_LABELS if draw(st.booleans()) else INT_LABELS
        classes = draw(
            st.lists(labels, min_size=n_classes, max_size=n_classes, unique=True)
        )
        codes = rng.integers(0, n_classes, n_samples)
        missing = rng.random(n_samples) < draw(st.sampled_from([0.0, 0.3, 0.7]))
        # Two labelled rows of two different classes: every task keeps 2 classes.
        first, second = rng.choice(n_samples, 2, replace=False)
        codes[[first, second]] = 0, 1
        missing[[first, second]] = False
        for i in range(n_samples):
            Y[i, t] = None if missing[i] else classes[codes[i]]
        task_classes.append(sorted(set(Y[~missing, t])))
    return X, Y, task_classes


@st.composite
def estimators(draw, loss="log_loss"):
    return MultiTaskTextClassifier(
        n_components=draw(st.integers(1, 4)),
        activation=draw(st.sampled_from(["identity", "relu", "tanh"])),
        private=draw(st.booleans()),
        loss=loss,
        penalty=draw(st.sampled_from(["l2", "l1", "elasticnet", None])),
        alpha=draw(st.sampled_from([0.0, 1e-4, 1e-2])),
        learning_rate=draw(st.sampled_from(["linear", "optimal", "constant"])),
        eta0=draw(st.sampled_from([0.05, 0.5, 1.0])),
        class_weight=draw(st.sampled_from([None, "balanced"])),
        max_iter=draw(st.integers(1, 3)),
        shuffle=draw(st.booleans()),
        random_state=draw(st.integers(0, 1000)),
    )


def _columns(model, out):
    """Per-task list of a prediction output (a single array for a 1-D y)."""
    return [out] if model.n_tasks_ == 1 and not isinstance(out, list) else out


def _check_predictions(model, X, task_classes):
    n = X.shape[0]
    pred = model.predict(X)
    pred = pred.reshape(n, -1)
    assert pred.shape == (n, len(task_classes))
    for t, classes in enumerate(task_classes):
        assert set(pred[:, t].tolist()) <= set(classes)
        assert sorted(np.asarray(_columns(model, model.classes_)[t]).tolist()) == (
            sorted(classes)
        )
    for scores in _columns(model, model.decision_function(X)):
        assert np.all(np.isfinite(scores))
    assert np.all(np.isfinite(model.transform(X)))
    return pred


def _check_probabilities(model, X, pred, task_classes):
    rtol = 1e-5 if model.shared_coef_.dtype == np.float32 else 1e-12
    probas = _columns(model, model.predict_proba(X))
    for t, (P, classes) in enumerate(zip(probas, task_classes)):
        assert P.shape == (X.shape[0], len(classes))
        assert np.all(np.isfinite(P)) and np.all((P >= 0) & (P <= 1))
        assert_allclose(P.sum(axis=1), 1, rtol=rtol)
        # The predicted class has the largest probability (not necessarily the
        # first argmax: near-equal logits may round to equal probabilities).
        classes_t = _columns(model, model.classes_)[t].tolist()
        predicted = [classes_t.index(label) for label in pred[:, t].tolist()]
        assert_array_equal(P[np.arange(len(P)), predicted], P.max(axis=1))
    # Empty rows all have the representation phi(b): the same probabilities.
    empty = np.flatnonzero(np.diff(X.indptr) == 0)
    for P in probas:
        assert_array_equal(P[empty], np.broadcast_to(P[empty[:1]], P[empty].shape))


@settings(max_examples=50, **SETTINGS)
@given(problem=problems(), model=estimators(), as_1d=st.booleans())
def test_fit_predict_proba_properties(problem, model, as_1d):
    """fit never fails; predictions are classes; probabilities finite, sum to 1."""
    X, Y, task_classes = problem
    if as_1d and Y.shape[1] == 1:
        Y = Y[:, 0]
    model.fit(X, Y)
    assert model.shared_coef_.dtype == X.dtype
    pred = _check_predictions(model, X, task_classes)
    _check_probabilities(model, X, pred, task_classes)


@settings(max_examples=30, **SETTINGS)
@given(problem=problems(), model=estimators(loss="hinge"))
def test_hinge_fit_predict_properties(problem, model):
    """Hinge loss: fit never fails, predictions are classes, scores finite."""
    X, Y, task_classes = problem
    model.fit(X, Y)
    _check_predictions(model, X, task_classes)
    assert not hasattr(model, "predict_proba")


@settings(max_examples=30, **SETTINGS)
@given(
    problem=problems(),
    model=estimators(),
    n_batches=st.integers(1, 3),
    batch_dtypes=st.lists(st.sampled_from([np.float32, np.float64]), min_size=3,
                          max_size=3),
    extra_class=st.booleans(),
)
def test_partial_fit_properties(problem, model, n_batches, batch_dtypes, extra_class):
    """partial_fit over batches of mixed float dtypes (each may lack a task or a
    class): the first batch's dtype is kept, outputs stay valid."""
    X, Y, task_classes = problem
    if extra_class:  # a class declared in classes but never seen
        unseen = ["zzzz" if isinstance(c[0], str) else 999 for c in task_classes]
        task_classes = [c + [u] for c, u in zip(task_classes, unseen)]
    rows = np.array_split(np.arange(X.shape[0]), n_batches)
    for batch, dtype in zip(rows, batch_dtypes):
        classes = task_classes if batch is rows[0] else None
        model.partial_fit(X[batch].astype(dtype), Y[batch], classes=classes)
    assert model.shared_coef_.dtype == batch_dtypes[0]
    assert model.n_iter_ == 1
    pred = _check_predictions(model, X, task_classes)
    _check_probabilities(model, X, pred, task_classes)


def test_problem_strategy_covers_the_cases():
    """The strategy itself: example problems hold what the docstring promises."""
    seen = {"empty_row": False, "str_task": False, "int_task": False}

    @settings(max_examples=30, **SETTINGS)
    @given(problem=problems())
    def collect(problem):
        X, Y, task_classes = problem
        seen["empty_row"] |= bool(np.any(np.diff(X.indptr) == 0))
        for t, classes in enumerate(task_classes):
            assert len(classes) >= 2
            labelled = [v for v in Y[:, t] if v is not None]
            assert sorted(set(labelled)) == classes
            seen["str_task"] |= isinstance(classes[0], str)
            seen["int_task"] |= isinstance(classes[0], int)

    collect()
    assert all(seen.values()), seen
