"""Bad inputs, accepted odd inputs, numerical safety and thread safety.

The table ``BAD_INPUTS`` lists every input the estimator must refuse, with the
error type and a pattern naming the offending parameter or task. Cases that
tests/test_estimator.py already covers in ``fit`` (task and class weight errors,
bad task labels, NaN in X, ...) appear here through another code path
(``partial_fit``, ``score``, prediction, a 1-D ``y``, another variant), so that
each row adds coverage.
"""

import warnings
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skmtl import MultiTaskTextClassifier

TASKS = ["sentiment", "topic"]
CLASSES = {"sentiment": [0.0, 1.0], "topic": [0.0, 1.0, 2.0]}
PARAM_NAMES = ("shared_coef_", "shared_intercept_", "head_coef_", "head_intercept_")


def _clf(**params):
    params = {"n_components": 4, "max_iter": 2, "random_state": 0, **params}
    return MultiTaskTextClassifier(**params)


def _fitted(X, Y, **params):
    return _clf(**params).fit(X, Y)


@pytest.fixture
def problem(problem_factory):
    """Sparse X (200 x 40) and a DataFrame Y with tasks 'sentiment', 'topic'."""
    X, Y = problem_factory(np.float64)
    return X, pd.DataFrame(Y, columns=TASKS)


def _with(X, i, j, value):
    """Dense copy of X with X[i, j] = value."""
    X = X.toarray()
    X[i, j] = value
    return X


def _sparse_with(X, value):
    """CSR copy of X whose first stored value is ``value``."""
    X = X.copy()
    X.data[0] = value
    return X


def _bad_index(X, value):
    """CSR with one column index set to ``value``: scipy does not check it."""
    indices = X.indices.copy()
    indices[7] = value
    return sp.csr_matrix((X.data, indices, X.indptr), shape=X.shape)


def _weights(n, index, value):
    w = np.ones(n)
    w[index] = value
    return w


def _mixed_topic(Y):
    Y = Y.astype(object)
    Y.loc[0, "topic"] = "film"
    return Y


def case(id, action, error, match):
    return pytest.param(action, error, match, id=id)


BAD_INPUTS = [
    # ------------------------------------------------ X and Y lengths
    case("fit-X-shorter-than-Y", lambda X, Y: _clf().fit(X[:150], Y),
         ValueError, r"X and Y have inconsistent numbers of samples: 150 and 200"),
    case("partial_fit-Y-shorter-than-X",
         lambda X, Y: _clf().partial_fit(X, Y[:150], classes=CLASSES),
         ValueError, r"X and Y have inconsistent numbers of samples: 200 and 150"),
    case("score-Y-shorter-than-X", lambda X, Y: _fitted(X, Y).score(X, Y[:150]),
         ValueError, r"X and Y have inconsistent numbers of samples: 200 and 150"),
    case("sample_weight-wrong-length",
         lambda X, Y: _clf().fit(X, Y, sample_weight=np.ones(10)),
         ValueError, r"sample_weight\.shape == \(10,\), expected \(200,\)"),
    # ------------------------- other tasks than at fit (number or names)
    case("partial_fit-extra-task",
         lambda X, Y: _fitted(X, Y).partial_fit(X, Y.assign(genre=Y["topic"])),
         ValueError, r"Y has 3 task\(s\) .* 2 task\(s\) \['sentiment', 'topic'\]"),
    case("partial_fit-1d-y-after-2-tasks",
         lambda X, Y: _fitted(X, Y).partial_fit(X, Y["sentiment"]),
         ValueError, r"Y has 1 task\(s\) .*\['sentiment', 'topic'\]"),
    case("partial_fit-renamed-task",
         lambda X, Y: _fitted(X, Y).partial_fit(
             X, Y.rename(columns={"topic": "genre"})),
         ValueError, r"task names \['sentiment', 'genre'\] differ .*'topic'"),
    case("score-fewer-tasks", lambda X, Y: _fitted(X, Y).score(X, Y[["topic"]]),
         ValueError, r"Y has 1 task\(s\) .*\['sentiment', 'topic'\]"),
    case("score-renamed-task",
         lambda X, Y: _fitted(X, Y).score(X, Y.rename(columns={"topic": "genre"})),
         ValueError, r"task names \['sentiment', 'genre'\] differ"),
    case("warm-start-fit-renamed-task",
         lambda X, Y: _fitted(X, Y, warm_start=True).fit(
             X, Y.rename(columns={"sentiment": "mood"})),
         ValueError, r"task names \['mood', 'topic'\] differ"),
    case("warm-start-fit-new-class",
         lambda X, Y: _fitted(X, Y, warm_start=True).fit(X, Y.replace({2.0: 5.0})),
         ValueError, r"warm_start=True needs the classes of every task"),
    case("partial_fit-label-outside-classes",
         lambda X, Y: _clf().partial_fit(X, Y.replace({2.0: 7.0}), classes=CLASSES),
         ValueError, r"Task 'topic' has labels \[7\.0\] that are not in its classes"),
    case("partial_fit-string-label-in-int-task",
         lambda X, Y: _fitted(X, Y).partial_fit(
             X, Y.astype(object).assign(topic="film")),
         ValueError, r"Task 'topic' has labels \['film'\]"),
    # --------------------------------------------------- X values, sizes
    case("fit-X-nan-dense", lambda X, Y: _clf().fit(_with(X, 0, 0, np.nan), Y),
         ValueError, r"Input X contains NaN"),
    case("fit-X-inf-sparse", lambda X, Y: _clf().fit(_sparse_with(X, np.inf), Y),
         ValueError, r"Input X contains infinity"),
    case("partial_fit-X-nan-sparse",
         lambda X, Y: _fitted(X, Y).partial_fit(_sparse_with(X, np.nan), Y),
         ValueError, r"Input X contains NaN"),
    case("predict-X-inf-dense",
         lambda X, Y: _fitted(X, Y).predict(_with(X, 3, 1, -np.inf)),
         ValueError, r"Input X contains infinity"),
    case("predict_proba-X-nan-sparse",
         lambda X, Y: _fitted(X, Y).predict_proba(_sparse_with(X, np.nan)),
         ValueError, r"Input X contains NaN"),
    case("fit-X-no-samples", lambda X, Y: _clf().fit(X[:0], Y[:0]),
         ValueError, r"X has 0 sample\(s\) \(shape=\(0, 40\)\)"),
    case("predict-X-no-samples", lambda X, Y: _fitted(X, Y).predict(X[:0]),
         ValueError, r"X has 0 sample\(s\)"),
    case("fit-X-no-features", lambda X, Y: _clf().fit(sp.csr_matrix((200, 0)), Y),
         ValueError, r"X has 0 feature\(s\) \(shape=\(200, 0\)\)"),
    case("predict-X-no-features",
         lambda X, Y: _fitted(X, Y).predict(sp.csr_matrix((5, 0))),
         ValueError, r"X has 0 features, but .* expecting 40 features"),
    case("fit-X-csr-column-index-too-large",
         lambda X, Y: _clf().fit(_bad_index(X, 10**6), Y),
         ValueError, r"X is a malformed CSR matrix: column indices must be in "
         r"\[0, 40\), got values from 0 to 1000000"),
    case("partial_fit-X-csr-negative-column-index",
         lambda X, Y: _clf().partial_fit(_bad_index(X, -3), Y, classes=CLASSES),
         ValueError, r"X is a malformed CSR matrix: column indices"),
    case("predict-X-csr-column-index-too-large",
         lambda X, Y: _fitted(X, Y).predict(_bad_index(X, 40)),
         ValueError, r"X is a malformed CSR matrix: column indices"),
    # -------------------------------------------- n_features changed
    case("predict-fewer-features", lambda X, Y: _fitted(X, Y).predict(X[:, :30]),
         ValueError, r"X has 30 features, but .* expecting 40 features"),
    case("transform-more-features",
         lambda X, Y: _fitted(X, Y).transform(sp.hstack([X, X], format="csr")),
         ValueError, r"X has 80 features, but .* expecting 40 features"),
    case("predict_proba-fewer-features",
         lambda X, Y: _fitted(X, Y).predict_proba(X[:, :30]),
         ValueError, r"X has 30 features"),
    case("score-fewer-features", lambda X, Y: _fitted(X, Y).score(X[:, :30], Y),
         ValueError, r"X has 30 features"),
    case("warm-start-fit-fewer-features",
         lambda X, Y: _fitted(X, Y, warm_start=True).fit(X[:, :30], Y),
         ValueError, r"X has 30 features"),
    # ------------------------------------------------------- task labels
    case("task-no-labels-sentinel",
         lambda X, Y: _clf(missing_label=-1).fit(X, Y.fillna(-1).assign(topic=-1)),
         ValueError, r"Task 'topic' has no labelled sample"),
    case("task-one-class-1d-y", lambda X, Y: _clf().fit(X, np.ones(200)),
         ValueError, r"y has only one class"),
    case("task-mixed-types-fit-object-array",
         lambda X, Y: _clf().fit(X, _mixed_topic(Y).to_numpy()),
         TypeError, r"Labels of task 'task_1' mix types \['float', 'str'\]"),
    case("task-mixed-types-partial_fit",
         lambda X, Y: _fitted(X, Y).partial_fit(X, _mixed_topic(Y)),
         TypeError, r"Labels of task 'topic' mix types"),
    case("task-continuous-labels",
         lambda X, Y: _clf().fit(X, Y.assign(topic=np.linspace(0, 1, 200))),
         ValueError, r"continuous for task 'topic'"),
    # ---------------------------------------------------- sample weights
    case("sample_weight-negative-partial_fit",
         lambda X, Y: _clf().partial_fit(
             X, Y, classes=CLASSES, sample_weight=_weights(200, 3, -1.0)),
         ValueError, r"Negative values in data passed to `sample_weight`"),
    case("sample_weight-nan", lambda X, Y: _clf().fit(
             X, Y, sample_weight=_weights(200, 3, np.nan)),
         ValueError, r"Input sample_weight contains NaN"),
    case("sample_weight-inf", lambda X, Y: _clf().fit(
             X, Y, sample_weight=_weights(200, 3, np.inf)),
         ValueError, r"Input sample_weight contains infinity"),
    case("sample_weight-all-zero",
         lambda X, Y: _clf().fit(X, Y, sample_weight=np.zeros(200)),
         ValueError, r"Sample weights must contain at least one non-zero"),
    case("score-sample_weight-nan",
         lambda X, Y: _fitted(X, Y).score(X, Y, sample_weight=_weights(200, 0, np.nan)),
         ValueError, r"Input sample_weight contains NaN"),
    # ------------------------------------------------------ task weights
    case("task_weights-too-long-partial_fit",
         lambda X, Y: _clf(task_weights=[1, 2, 3]).partial_fit(X, Y, classes=CLASSES),
         ValueError, r"task_weights has 3 entries but there are 2 tasks"),
    case("task_weights-too-short-1d-y",
         lambda X, Y: _clf(task_weights=[]).fit(X, Y["sentiment"].fillna(0)),
         ValueError, r"task_weights has 0 entries but there are 1 tasks"),
    case("task_weights-unknown-task-partial_fit",
         lambda X, Y: _clf(task_weights={"genre": 1}).partial_fit(
             X, Y, classes=CLASSES),
         ValueError, r"task_weights names unknown tasks \['genre'\]"),
    case("task_weights-dict-negative",
         lambda X, Y: _clf(task_weights={"topic": -2}).fit(X, Y),
         ValueError, r"task_weights must be finite and non-negative"),
    case("task_weights-nan", lambda X, Y: _clf(task_weights=[np.nan, 1]).fit(X, Y),
         ValueError, r"task_weights must be finite and non-negative"),
    case("task_weights-inf", lambda X, Y: _clf(task_weights=[1, np.inf]).fit(X, Y),
         ValueError, r"task_weights must be finite and non-negative"),
    case("task_weights-dict-all-zero",
         lambda X, Y: _clf(task_weights={"sentiment": 0, "topic": 0}).fit(X, Y),
         ValueError, r"task_weights are all zero"),
    case("task_weights-not-numbers",
         lambda X, Y: _clf(task_weights={"topic": "high"}).fit(X, Y),
         ValueError, r"task_weights must be numbers"),
    # ----------------------------------------------------- class weights
    case("class_weight-unknown-task-partial_fit",
         lambda X, Y: _clf(class_weight={"genre": "balanced"}).partial_fit(
             X, Y, classes=CLASSES),
         ValueError, r"class_weight names unknown tasks \['genre'\]"),
    case("class_weight-unknown-class-1d-y",
         lambda X, Y: _clf(class_weight={9: 2.0}).fit(X, Y["sentiment"].fillna(0)),
         ValueError, r"class_weight of task 'task_0' names labels \[9\]"),
    case("class_weight-unknown-class-list",
         lambda X, Y: _clf(class_weight=[None, {"film": 2.0}]).fit(X, Y),
         ValueError, r"class_weight of task 'topic' names labels \['film'\]"),
    case("class_weight-task-entry-bad-string",
         lambda X, Y: _clf(class_weight={"topic": "balance"}).fit(X, Y),
         ValueError, r"class_weight of task 'topic' is 'balance'"),
    case("class_weight-task-entry-number",
         lambda X, Y: _clf(class_weight={"topic": 3}).fit(X, Y),
         ValueError, r"class_weight of task 'topic' is 3"),
    case("class_weight-negative",
         lambda X, Y: _clf(class_weight={"topic": {1.0: -1.0}}).fit(X, Y),
         ValueError, r"class_weight of task 'topic' must be finite and non-negative"),
    case("class_weight-nan-1d-y",
         lambda X, Y: _clf(class_weight={0.0: np.nan}).fit(
             X, Y["sentiment"].fillna(0)),
         ValueError, r"class_weight of task 'task_0' must be finite"),
]


@pytest.mark.parametrize("action, error, match", BAD_INPUTS)
def test_bad_input_error_names_parameter_or_task(problem, action, error, match):
    """Each bad input raises, and the message names the parameter or the task."""
    X, Y = problem
    with pytest.raises(error, match=match):
        action(X, Y)


# --------------------------------------------- odd inputs that are accepted


SPARSE_FORMATS = [
    *["csc", "coo", "lil", "dok", "bsr", "dia"],
    *[pytest.param(f, id=f"{f}_array") for f in ("csr_array", "coo_array")],
]


@pytest.mark.filterwarnings(
    "ignore:Constructing a DIA matrix:scipy.sparse.SparseEfficiencyWarning"
)
@pytest.mark.parametrize("fmt", SPARSE_FORMATS)
def test_other_sparse_formats_are_converted(problem, fmt):
    """Any scipy sparse format (matrix or array) is the same fit as CSR."""
    X, Y = problem
    convert = (
        getattr(sp, fmt) if fmt.endswith("_array") else lambda A: A.asformat(fmt)
    )
    reference = _fitted(X, Y)
    clf = _fitted(convert(X), Y)
    for name in PARAM_NAMES:
        assert_array_equal(getattr(clf, name), getattr(reference, name), err_msg=name)
    for got, expected in zip(clf.predict_proba(convert(X)), reference.predict_proba(X)):
        assert_array_equal(got, expected)


def test_integer_and_bool_X_are_converted_to_float64(problem):
    """Integer counts (sparse) and a boolean dense X train in float64."""
    X, Y = problem
    counts = X.copy()
    counts.data = np.ceil(counts.data * 5).astype(np.int64)
    for data in (counts, X.toarray() > 0):
        clf = _fitted(data, Y)
        assert clf.shared_coef_.dtype == np.float64
        assert clf.predict(data).shape == (200, 2)


def test_rows_without_features_get_predictions(problem):
    """Empty rows train and predict; all empty rows get the same prediction.

    An empty row's representation is phi(b), so its probabilities are those of
    the heads at phi(b): equal for every empty row, finite, summing to one.
    """
    X, Y = problem
    X = X.tolil()
    X[:20] = 0
    X = X.tocsr()
    X.eliminate_zeros()
    assert X[:20].nnz == 0
    clf = _fitted(X, Y)
    pred, proba = clf.predict(X[:20]), clf.predict_proba(X[:20])
    assert pred.shape == (20, 2)
    assert (pred == pred[0]).all()
    for t, P in enumerate(proba):
        assert np.all(np.isfinite(P))
        np.testing.assert_allclose(P.sum(axis=1), 1)
        assert_array_equal(P, np.broadcast_to(P[0], P.shape))
        assert set(pred[:, t]) <= set(clf.classes_[t])
    # A matrix of empty rows only, at fit and at prediction.
    empty = sp.csr_matrix(X.shape)
    assert _fitted(empty, Y).predict(empty).shape == (200, 2)
    assert_array_equal(clf.predict(empty[:3]), pred[:3])


@pytest.mark.parametrize("dense", [False, True], ids=["sparse", "dense"])
def test_read_only_memmapped_inputs_are_accepted(problem, tmp_path, dense):
    """joblib memmaps (read-only X, Y, sample_weight) give the in-memory results."""
    X, Y = problem
    X = X.toarray() if dense else X
    Y = Y.to_numpy()
    sample_weight = np.linspace(0.5, 1.5, X.shape[0])
    joblib.dump((X, Y, sample_weight), tmp_path / "data.joblib")
    Xm, Ym, swm = joblib.load(tmp_path / "data.joblib", mmap_mode="r")
    data = Xm if dense else Xm.data
    assert isinstance(data, np.memmap) and not data.flags.writeable
    assert not Ym.flags.writeable and not swm.flags.writeable

    reference = _clf(private=True).fit(X, Y, sample_weight=sample_weight)
    clf = _clf(private=True).fit(Xm, Ym, sample_weight=swm)
    for name in (*PARAM_NAMES, "private_coef_"):
        assert_array_equal(getattr(clf, name), getattr(reference, name), err_msg=name)
    clf.partial_fit(Xm, Ym, sample_weight=swm)
    reference.partial_fit(X, Y, sample_weight=sample_weight)
    assert_array_equal(clf.predict_proba(Xm)[1], reference.predict_proba(X)[1])
    assert clf.score(Xm, Ym, sample_weight=swm) == reference.score(X, Y, sample_weight)


@pytest.mark.parametrize("first, later", [(np.float32, np.float64),
                                          (np.float64, np.float32)])
def test_partial_fit_keeps_the_dtype_of_its_first_batch(problem, first, later):
    """Later batches of the other float type are cast, as partial_fit documents.

    The result is bit-identical to casting the batch beforehand (float32 data
    cast to float64 keeps its float32 rounding); prediction inputs are cast
    too, so outputs are in the parameters' dtype.
    """
    X, Y = problem
    clf = _clf().partial_fit(X[:100].astype(first), Y[:100], classes=CLASSES)
    cast = _clf().partial_fit(X[:100].astype(first), Y[:100], classes=CLASSES)
    clf.partial_fit(X[100:].astype(later), Y[100:])
    cast.partial_fit(X[100:].astype(later).astype(first), Y[100:])
    for name in PARAM_NAMES:
        assert getattr(clf, name).dtype == first, name
        assert_array_equal(getattr(clf, name), getattr(cast, name), err_msg=name)
    X_later = X.astype(later)
    assert clf.transform(X_later).dtype == first
    for got, expected in zip(clf.predict_proba(X_later),
                             cast.predict_proba(X_later.astype(first))):
        assert got.dtype == first
        assert_array_equal(got, expected)


# ------------------------------------------------------- numerical safety


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("how", ["fit", "partial_fit", "warm_start"])
def test_divergence_raises_and_leaves_the_model_as_before(problem_factory, how):
    """A step size that diverges raises naming eta0; the model is as before.

    float32 with a constant eta0 of 1e30 overflows in the first epoch. A model
    unfitted before the call stays unfitted; one fitted before (partial_fit,
    warm_start) keeps its parameters: training ran on copies of them.
    """
    X, Y = problem_factory(np.float32)
    clf = _clf(eta0=1.0, learning_rate="constant", penalty=None,
               warm_start=how == "warm_start")
    before = None
    if how != "fit":
        clf.fit(X, Y)
        before = clf.predict_proba(X)[0]
        assert np.isfinite(before).all()
    clf.set_params(eta0=1e30)
    with pytest.raises(ValueError, match=r"diverged.*eta0=1e\+30.*Lower eta0"):
        if how == "partial_fit":
            clf.partial_fit(X, Y)
        else:
            clf.fit(X, Y)
    if before is None:
        assert not hasattr(clf, "shared_coef_") and not hasattr(clf, "classes_")
        with pytest.raises(NotFittedError):
            clf.predict(X)
    else:
        assert_array_equal(clf.predict_proba(X)[0], before)
    # Refitting with a sane step works again.
    clf.set_params(eta0=0.5, warm_start=False).fit(X, Y)
    assert all(np.isfinite(P).all() for P in clf.predict_proba(X))


def test_non_finite_layer_is_refused_before_training(problem_factory):
    """A NaN in a row of the shared layer that the training rows never read
    (the loss would stay finite) is refused before training continues."""
    X, Y = problem_factory(np.float64)
    clf = _clf(max_iter=1).fit(X, Y)
    unread = np.flatnonzero(np.asarray(X[:3].sum(axis=0)).ravel() == 0)
    assert unread.size
    clf.shared_coef_[unread[0], 0] = np.nan
    t_before = clf.t_
    with pytest.raises(ValueError, match="shared_coef_ has values that are not"):
        clf.partial_fit(X[:3], Y[:3])
    assert clf.t_ == t_before and np.isnan(clf.shared_coef_[unread[0], 0])


def test_exploded_but_finite_parameters_raise(problem_factory):
    """An epoch that ends with exploded but finite parameters raises too.

    The step rule keeps SGD from exploding on its own (eta0 up to 1e4 on this
    problem), so the parameters are exploded by hand before a warm start: the
    epoch's loss then exceeds 1e6 per unit of weight, and the estimator is left
    as it was before the call.
    """
    X, Y = problem_factory(np.float64)
    clf = _clf(eta0=2.0, learning_rate="constant", penalty=None).fit(X, Y)
    clf.head_coef_ *= 1e12
    before = {name: np.copy(value) for name, value in vars(clf).items()
              if name.endswith("_") and isinstance(value, np.ndarray)}
    clf.set_params(warm_start=True)
    with pytest.raises(ValueError, match=r"diverged.*exceeds 1e\+06 per unit.*eta0=2"):
        clf.fit(X, Y)
    for name, value in before.items():
        assert_array_equal(getattr(clf, name), value, err_msg=name)


def test_large_weights_are_not_taken_for_divergence(problem_factory):
    """Sample weights are scaled to a mean of one: a uniform sample weight of
    1e8 trains the model it would without weights, and is not taken for a
    divergence."""
    X, Y = problem_factory(np.float64)
    heavy = _clf().fit(X, Y, sample_weight=np.full(X.shape[0], 1e8))
    plain = _clf().fit(X, Y)
    assert_allclose(heavy.loss_curve_, plain.loss_curve_, rtol=1e-10)
    assert heavy.score(X, Y) == plain.score(X, Y)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", ["log_loss", "hinge"])
@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_large_steps_raise_or_give_finite_models(problem_factory, dtype, loss, scale):
    """eta0 from 1e2 to 1e300 on raw or scaled rows: an error naming eta0, or
    finite parameters and finite outputs, never a fitted model with NaN."""
    X, Y = problem_factory(dtype)
    X = X * scale
    for eta0 in (1e2, 1e8, 1e30, 1e300):
        clf = _clf(eta0=eta0, learning_rate="constant", loss=loss, max_iter=3)
        try:
            clf.fit(X, Y)
        except ValueError as exc:
            assert "eta0" in str(exc)
            assert not hasattr(clf, "shared_coef_")
            continue
        for name in PARAM_NAMES:
            assert np.isfinite(getattr(clf, name)).all(), (eta0, name)
        for scores in clf.decision_function(X):
            assert np.isfinite(scores).all(), eta0


@pytest.mark.parametrize("collapsing, healthy, cause", [
    (dict(activation="relu", eta0=10.0), dict(activation="relu", eta0=0.1),
     "no 'relu' unit is active.*eta0=10.0"),
    (dict(penalty="l1", alpha=1e-2), dict(penalty="l1", alpha=1e-5),
     "penalty='l1', alpha=0.01"),
], ids=["relu-step", "l1-penalty"])
def test_collapsed_shared_layer_warns(problem_factory, collapsing, healthy, cause):
    """A shared layer that gives every training row the same logits (a dead
    'relu' layer, or one the penalty zeroed) makes the heads without a private
    part predict one class everywhere: a ConvergenceWarning names the cause.
    The same model with a smaller step or penalty trains, silently."""
    X, Y = problem_factory(np.float64)
    collapsed = MultiTaskTextClassifier(private=False, random_state=0, **collapsing)
    with pytest.warns(ConvergenceWarning, match=f"same logits.*task_0.*{cause}"):
        collapsed.fit(X, Y)
    assert np.ptp(collapsed.decision_function(X)[0], axis=0).max() == 0
    trained = MultiTaskTextClassifier(private=False, random_state=0, **healthy)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        trained.fit(X, Y)
    assert np.ptp(trained.decision_function(X)[0], axis=0).max() > 1


# ------------------------------------------------------------ concurrency


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_concurrent_predict_proba_matches_serial(problem_factory, dtype):
    """50 predict_proba calls from 8 threads on one model equal serial calls."""
    X, Y = problem_factory(dtype, n_samples=2000, n_features=300)
    clf = _clf(n_components=32, activation="tanh", private=True).fit(X, Y)
    rng = np.random.RandomState(0)
    batches = [X[rng.choice(2000, size=rng.randint(1, 400))] for _ in range(50)]
    serial = [clf.predict_proba(batch) for batch in batches]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(clf.predict_proba, batches))
    for got, expected in zip(threaded, serial):
        for got_t, expected_t in zip(got, expected):
            assert_array_equal(got_t, expected_t)
