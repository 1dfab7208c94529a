"""MultiTaskTextClassifier: targets, predictions, model selection, persistence,
dtypes, determinism, partial_fit / warm_start, weights, options and errors."""

import pickle
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.utils.fixes import parse_version

from skmtl import MultiTaskTextClassifier
from skmtl.metrics import make_multitask_scorer

PARAM_NAMES = ("shared_coef_", "shared_intercept_", "head_coef_", "head_intercept_")
PANDAS_3 = parse_version(pd.__version__) >= parse_version("3")


def _clf(**params):
    """A small, fast, seeded estimator."""
    params = {"n_components": 6, "max_iter": 20, "random_state": 0, **params}
    return MultiTaskTextClassifier(**params)


def _params(clf):
    names = PARAM_NAMES + (("private_coef_",) if clf.private_coef_ is not None else ())
    return {name: getattr(clf, name) for name in names}


def _assert_same_params(a, b):
    for name, value in _params(a).items():
        assert_array_equal(value, getattr(b, name), err_msg=name)


def _object_targets(Y):
    """Float Y (NaN missing) as an object array: task_0 ints, task_1 strings."""
    out = np.empty(Y.shape, dtype=object)
    for i, (a, b) in enumerate(Y):
        out[i, 0] = None if np.isnan(a) else int(a)
        out[i, 1] = None if np.isnan(b) else "abc"[int(b)]
    return out


SENTIMENT_WORDS = {"pos": ["great", "love", "superb"], "neg": ["awful", "hate", "poor"]}
TOPIC_WORDS = {
    "tech": ["phone", "laptop"],
    "film": ["movie", "actor"],
    "food": ["pizza", "soup"],
}
FILLER = ["the", "a", "it", "was", "and", "really", "very", "this"]


def make_text_problem(n_samples=150, seed=0, missing=""):
    """Texts with a sentiment task and a topic task, string labels, ~30% missing.

    Each text holds one word of its sentiment, one of its topic and filler.
    """
    rng = np.random.RandomState(seed)
    texts = []
    Y = np.empty((n_samples, 2), dtype=object)
    for i in range(n_samples):
        sentiment = sorted(SENTIMENT_WORDS)[rng.randint(2)]
        topic = sorted(TOPIC_WORDS)[rng.randint(3)]
        words = [
            rng.choice(SENTIMENT_WORDS[sentiment]),
            rng.choice(TOPIC_WORDS[topic]),
            *rng.choice(FILLER, 4),
        ]
        rng.shuffle(words)
        texts.append(" ".join(words))
        Y[i] = sentiment, topic
    Y[rng.rand(n_samples) < 0.3, 0] = missing
    Y[rng.rand(n_samples) < 0.3, 1] = missing
    return texts, Y


# ------------------------------------------------------------------- targets


@pytest.mark.parametrize("kind", ["int", "str"])
def test_1d_target_is_an_ordinary_classifier(sparse_problem64, kind):
    """1-D y: classes_ is an array, predict 1-D in y's labels, proba (n, C)."""
    X, Y = sparse_problem64
    y = np.nan_to_num(Y[:, 1], nan=0).astype(int)
    if kind == "str":
        y = np.array(["x", "y", "z"])[y]
    clf = _clf().fit(X, y)
    assert isinstance(clf.classes_, np.ndarray)
    assert_array_equal(clf.classes_, np.unique(y))
    assert clf.n_tasks_ == 1 and clf.task_names_ == ["task_0"]
    pred = clf.predict(X)
    assert pred.shape == (X.shape[0],) and pred.dtype == y.dtype
    assert np.mean(pred == y) > 0.75
    assert clf.predict_proba(X).shape == (X.shape[0], 3)
    assert clf.decision_function(X).shape == (X.shape[0], 3)


@pytest.mark.parametrize("missing", [None, np.nan])
def test_2d_target_with_none_or_nan_missing(sparse_problem64, missing):
    """None / NaN mark missing labels in a 2-D target; tasks get their classes."""
    X, Y = sparse_problem64
    Y_obj = Y.astype(object)
    Y_obj[np.isnan(Y)] = missing
    clf = _clf().fit(X, Y_obj)
    assert clf.n_tasks_ == 2 and clf.task_names_ == ["task_0", "task_1"]
    assert [c.tolist() for c in clf.classes_] == [[0, 1], [0, 1, 2]]
    assert clf.predict(X).shape == (X.shape[0], 2)
    assert clf.score(X, Y_obj) > 0.8


def test_object_target_mixing_int_and_string_tasks(sparse_problem64):
    """An int task and a string task: predict gives an object array, per-task labels."""
    X, Y = sparse_problem64
    Y_obj = _object_targets(Y)
    clf = _clf().fit(X, Y_obj)
    assert clf.classes_[0].dtype.kind == "i"
    assert clf.classes_[1].tolist() == ["a", "b", "c"]
    pred = clf.predict(X)
    assert pred.dtype == object and pred.shape == (X.shape[0], 2)
    assert all(isinstance(v, (int, np.integer)) for v in pred[:, 0])
    assert set(pred[:, 0]) <= {0, 1}
    assert all(isinstance(v, str) for v in pred[:, 1])
    assert set(pred[:, 1]) <= {"a", "b", "c"}
    assert clf.score(X, Y_obj) > 0.8


def test_dataframe_target_names_nullable_int_and_string_with_none(sparse_problem64):
    """DataFrame: task_names_ from the columns; pd.NA and None are missing."""
    X, Y = sparse_problem64
    Y_obj = _object_targets(Y)
    df = pd.DataFrame(
        {
            "sentiment": pd.array(list(Y_obj[:, 0]), dtype="Int64"),
            "topic": pd.Series(list(Y_obj[:, 1]), dtype=object),
        }
    )
    assert df["sentiment"].isna().any() and df["topic"].isna().any()
    clf = _clf().fit(X, df)
    assert clf.task_names_ == ["sentiment", "topic"]
    assert_array_equal(clf.classes_[0], [0, 1])
    assert clf.classes_[1].tolist() == ["a", "b", "c"]
    pred = clf.predict(X)
    assert set(pred[:, 1]) <= {"a", "b", "c"}
    assert clf.score(X, df) > 0.8


def test_dataframe_nullable_int_task_keeps_integer_labels(sparse_problem64):
    """A nullable Int64 column with pd.NA gives integer classes_ and predictions."""
    X, Y = sparse_problem64
    df = pd.DataFrame(
        {
            "sentiment": pd.array(list(_object_targets(Y)[:, 0]), dtype="Int64"),
            "topic": np.nan_to_num(Y[:, 1], nan=0).astype(int),
        }
    )
    assert df["sentiment"].isna().any()
    clf = _clf(max_iter=2).fit(X, df)
    assert clf.classes_[0].dtype.kind == "i"
    assert clf.predict(X).dtype.kind == "i"


@pytest.mark.parametrize(
    "missing_label, make_targets",
    [
        (-1, lambda Y: np.where(np.isnan(Y), -1, Y).astype(int)),
        ("", lambda Y: np.where(np.isnan(Y), "", np.where(Y == 1, "b", "a"))),
    ],
    ids=["int-sentinel", "empty-string-sentinel"],
)
def test_sentinel_missing_label(sparse_problem64, missing_label, make_targets):
    """missing_label=-1 / '' marks missing labels: not a class, not scored."""
    X, Y = sparse_problem64
    Y_sentinel = make_targets(Y)
    clf = _clf(missing_label=missing_label).fit(X, Y_sentinel)
    for classes in clf.classes_:
        assert missing_label not in classes.tolist()
    assert clf.classes_[0].tolist() in ([0, 1], ["a", "b"])
    assert missing_label not in clf.predict(X).ravel().tolist()
    # Without the sentinel, it would be an ordinary class (with a warning).
    with pytest.warns(UserWarning, match="looks like a marker of missing"):
        plain = _clf(max_iter=1).fit(X, Y_sentinel)
    assert missing_label in plain.classes_[0].tolist()
    assert clf.score(X, Y_sentinel) > 0.8


@pytest.mark.parametrize(
    "column, match, error",
    [
        ([np.nan] * 200, "no labelled sample", ValueError),
        (list(np.linspace(0.1, 0.9, 200)), "continuous", ValueError),
        ([1, "a"] * 100, "mix types", TypeError),
    ],
    ids=["no-labels", "continuous", "str-and-int"],
)
def test_bad_task_errors_name_the_task(sparse_problem64, column, match, error):
    """A task with no labels, continuous or mixed labels: named error."""
    X, Y = sparse_problem64
    bad = pd.Series(column, dtype=object)
    df = pd.DataFrame({"good_task": Y[:, 0], "bad_task": bad})
    with pytest.raises(error, match=match) as excinfo:
        _clf(max_iter=1).fit(X, df)
    assert "'bad_task'" in str(excinfo.value)


# ----------------------------------------------------------------- prediction


def test_prediction_shapes_and_consistency(sparse_problem):
    """proba rows sum to 1, argmax == predict, exp(log_proba) == proba, 1-D binary
    decision_function of matching sign, transform (n, k), feature names out."""
    X, Y = sparse_problem
    clf = _clf().fit(X, Y)
    n = X.shape[0]
    pred = clf.predict(X)
    proba = clf.predict_proba(X)
    log_proba = clf.predict_log_proba(X)
    decision = clf.decision_function(X)
    assert pred.shape == (n, 2)
    assert [p.shape for p in proba] == [(n, 2), (n, 3)]
    assert [d.shape for d in decision] == [(n,), (n, 3)]
    for t, (classes, P, logP) in enumerate(zip(clf.classes_, proba, log_proba)):
        assert_allclose(P.sum(axis=1), 1, rtol=1e-5)
        assert_array_equal(classes[P.argmax(axis=1)], pred[:, t])
        assert_allclose(np.exp(logP), P, rtol=1e-4, atol=1e-7)
        assert np.all(logP <= 0)
    assert_array_equal(clf.classes_[0][(decision[0] > 0).astype(int)], pred[:, 0])
    assert_array_equal(clf.classes_[1][decision[1].argmax(axis=1)], pred[:, 1])
    H = clf.transform(X)
    assert H.shape == (n, 6)
    assert_array_equal(
        clf.get_feature_names_out(),
        [f"multitasktextclassifier{j}" for j in range(6)],
    )


def test_binary_1d_decision_function_is_1d(sparse_problem64):
    """A single binary task: decision_function is 1-D, positive means classes_[1]."""
    X, Y = sparse_problem64
    y = np.nan_to_num(Y[:, 0], nan=0).astype(int)
    clf = _clf().fit(X, y)
    decision = clf.decision_function(X)
    assert decision.shape == (X.shape[0],)
    assert_array_equal(clf.classes_[(decision > 0).astype(int)], clf.predict(X))


# ---------------------------------------------------------- model selection


def test_pipeline_learns_text_tasks():
    """TF-IDF + the estimator learns two string-labelled tasks with missing labels."""
    texts, Y = make_text_problem(missing=None)
    texts_test, Y_test = make_text_problem(seed=1, missing=None)
    pipe = make_pipeline(TfidfVectorizer(), _clf(n_components=8)).fit(texts, Y)
    assert pipe.score(texts_test, Y_test) > 0.9
    assert set(pipe.predict(texts_test)[:, 1]) <= set(TOPIC_WORDS)


@pytest.mark.parametrize("scoring", ["default", "f1_macro_scorer"])
def test_grid_search_with_string_sentinel(scoring):
    """GridSearchCV(cv=3, n_jobs=2) on a '' sentinel Y, default score or our scorer."""
    texts, Y = make_text_problem(missing="")
    pipe = make_pipeline(TfidfVectorizer(), _clf(missing_label=""))
    grid = {
        "multitasktextclassifier__n_components": [4, 8],
        "multitasktextclassifier__eta0": [0.5, 1.0],
    }
    kwargs = {}
    if scoring != "default":
        kwargs["scoring"] = make_multitask_scorer("f1_macro", missing_label="")
    search = GridSearchCV(pipe, grid, cv=3, n_jobs=2, **kwargs).fit(texts, Y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4 and np.all(np.isfinite(scores))
    assert search.best_score_ > 0.9
    texts_test, Y_test = make_text_problem(seed=1, missing="")
    pred = search.predict(texts_test)
    assert "" not in pred.ravel().tolist()
    assert search.score(texts_test, Y_test) > 0.9


def test_cross_validate_with_int_sentinel():
    """cross_validate(cv=3) works on integer labels with missing_label=-1."""
    texts, Y = make_text_problem(missing="")
    codes = {"": -1, "neg": 0, "pos": 1, "film": 0, "food": 1, "tech": 2}
    Y_int = np.vectorize(codes.get)(Y).astype(int)
    pipe = make_pipeline(TfidfVectorizer(), _clf(missing_label=-1))
    result = cross_validate(pipe, texts, Y_int, cv=3)
    assert result["test_score"].shape == (3,)
    assert np.all(result["test_score"] > 0.9)


# ---------------------------------------------------------------- persistence


def test_joblib_roundtrip_in_new_process(tmp_path):
    """A dumped pipeline loaded in a fresh interpreter predicts bit-identically."""
    texts, Y = make_text_problem(missing=None)
    pipe = make_pipeline(TfidfVectorizer(), _clf(n_components=8)).fit(texts, Y)
    model_path, out_path = tmp_path / "model.joblib", tmp_path / "out.pkl"
    joblib.dump(pipe, model_path)
    code = (
        "import pickle, sys, joblib\n"
        "model = joblib.load(sys.argv[1])\n"
        "texts = pickle.load(open(sys.argv[3], 'rb'))\n"
        "out = (model.predict(texts), model.predict_proba(texts))\n"
        "pickle.dump(out, open(sys.argv[2], 'wb'))\n"
    )
    texts_path = tmp_path / "texts.pkl"
    texts_path.write_bytes(pickle.dumps(texts))
    result = subprocess.run(
        [sys.executable, "-c", code, str(model_path), str(out_path), str(texts_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    pred, proba = pickle.loads(out_path.read_bytes())
    assert_array_equal(pred, pipe.predict(texts))
    for got, expected in zip(proba, pipe.predict_proba(texts)):
        assert_array_equal(got, expected)


# ------------------------------------------------------------- dtype, input


def test_dtype_is_preserved(sparse_problem):
    """float32 X gives float32 parameters and outputs; float64 likewise."""
    X, Y = sparse_problem
    clf = _clf(private=True).fit(X, Y)
    for name, value in _params(clf).items():
        assert value.dtype == X.dtype, name
    assert clf.transform(X).dtype == X.dtype
    assert all(P.dtype == X.dtype for P in clf.predict_proba(X))
    assert all(D.dtype == X.dtype for D in clf.decision_function(X))


def test_float32_and_float64_fits_agree(problem_factory):
    """float32 and float64 fits reach similar held-out accuracy."""
    X, Y = problem_factory(np.float64, n_samples=400)
    scores = {}
    for dtype in (np.float32, np.float64):
        Xd = X.astype(dtype)
        clf = _clf(n_components=8, max_iter=20).fit(Xd[:200], Y[:200])
        scores[dtype] = clf.score(Xd[200:], Y[200:])
    assert scores[np.float64] > 0.7
    assert abs(scores[np.float32] - scores[np.float64]) < 0.05


def test_sparse_and_dense_input_give_the_same_fit(sparse_problem):
    """Dense input is the same fit as its CSR form (and as int64 CSR indices)."""
    X, Y = sparse_problem
    sparse_fit = _clf(private=True).fit(X, Y)
    dense_fit = _clf(private=True).fit(X.toarray(), Y)
    X64 = X.copy()
    X64.indices = X64.indices.astype(np.int64)
    X64.indptr = X64.indptr.astype(np.int64)
    int64_fit = _clf(private=True).fit(X64, Y)
    _assert_same_params(sparse_fit, dense_fit)
    _assert_same_params(sparse_fit, int64_fit)
    assert_array_equal(sparse_fit.predict(X), dense_fit.predict(X.toarray()))


def test_unlabelled_rows_are_ignored(sparse_problem64):
    """Rows with every label missing change nothing (shuffle=False: same fit)."""
    X, Y = sparse_problem64
    X_extra = sp.vstack([X, X[:15]], format="csr")
    Y_extra = np.vstack([Y, np.full((15, 2), np.nan)])
    clf = _clf(shuffle=False).fit(X, Y)
    clf_extra = _clf(shuffle=False).fit(X_extra, Y_extra)
    _assert_same_params(clf, clf_extra)
    assert clf.t_ == clf_extra.t_


# -------------------------------------------------------------- determinism


def test_fit_is_deterministic(sparse_problem):
    """Same random_state: bit-identical parameters; another one: different."""
    X, Y = sparse_problem
    a = _clf(random_state=1, activation="tanh").fit(X, Y)
    b = _clf(random_state=1, activation="tanh").fit(X, Y)
    c = _clf(random_state=2, activation="tanh").fit(X, Y)
    _assert_same_params(a, b)
    assert_array_equal(a.loss_curve_, b.loss_curve_)
    assert not np.array_equal(a.shared_coef_, c.shared_coef_)
    assert not np.array_equal(a.head_coef_, c.head_coef_)


# ------------------------------------------------- partial_fit and warm_start


def test_partial_fit_first_call_needs_classes(sparse_problem64):
    """The first partial_fit call without classes raises."""
    X, Y = sparse_problem64
    with pytest.raises(ValueError, match="classes"):
        _clf().partial_fit(X, Y)


@pytest.mark.parametrize("classes_as", ["list", "dict"])
def test_partial_fit_classes_and_batches(sparse_problem64, classes_as):
    """classes as a list or a dict by task name; a later batch may lack a task."""
    X, Y = sparse_problem64
    df = pd.DataFrame(Y, columns=["sent", "topic"])
    classes = [[0.0, 1.0], [0.0, 1.0, 2.0, 3.0]]  # class 3 never seen
    if classes_as == "dict":
        classes = dict(zip(["sent", "topic"], classes))
    clf = _clf(penalty=None).partial_fit(X[:100], df[:100], classes=classes)
    assert clf.task_names_ == ["sent", "topic"]
    assert [c.tolist() for c in clf.classes_] == [[0, 1], [0, 1, 2, 3]]
    assert clf.n_iter_ == 1 and clf.loss_curve_.shape == (1, 2)
    # A batch with no topic label: the topic head is not updated.
    head_before = clf.head_coef_[2:].copy(), clf.head_intercept_[2:].copy()
    shared_before = clf.shared_coef_.copy()
    batch = df[100:].copy()
    batch["topic"] = np.nan
    clf.partial_fit(X[100:], batch)
    assert_array_equal(clf.head_coef_[2:], head_before[0])
    assert_array_equal(clf.head_intercept_[2:], head_before[1])
    assert not np.array_equal(clf.shared_coef_, shared_before)
    assert clf.loss_curve_.shape == (2, 2)
    labelled_first = np.count_nonzero(~np.isnan(Y[:100]).all(axis=1))
    labelled_second = np.count_nonzero(~np.isnan(Y[100:, 0]))
    assert clf.t_ == labelled_first + labelled_second


def test_partial_fit_rejects_unknown_label_and_feature_change(sparse_problem64):
    """A label outside classes names its task; a different n_features raises."""
    X, Y = sparse_problem64
    clf = _clf().partial_fit(X[:100], Y[:100], classes=[[0, 1], [0, 1, 2]])
    bad = Y[100:].copy()
    bad[0, 1] = 7
    with pytest.raises(ValueError, match="'task_1'.*7"):
        clf.partial_fit(X[100:], bad)
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[100:, :30], Y[100:])


def test_partial_fit_after_fit_accepts_partial_batch(sparse_problem64):
    """After fit, partial_fit takes a batch lacking a task (as after partial_fit)."""
    X, Y = sparse_problem64
    clf = _clf().fit(X, Y)
    batch = Y[:50].copy()
    batch[:, 1] = np.nan
    clf.partial_fit(X[:50], batch)
    assert clf.loss_curve_.shape[0] == clf.max_iter + 1


def test_warm_start_continues_and_refit_resets(sparse_problem64):
    """warm_start grows t_ and loss_curve_; warm_start=False refits from scratch."""
    X, Y = sparse_problem64
    n_rows = np.count_nonzero(~np.isnan(Y).all(axis=1))
    clf = _clf(max_iter=3, warm_start=True).fit(X, Y)
    assert clf.t_ == 3 * n_rows and clf.loss_curve_.shape == (3, 2)
    first = {name: value.copy() for name, value in _params(clf).items()}
    clf.fit(X, Y)
    assert clf.t_ == 6 * n_rows and clf.loss_curve_.shape == (6, 2)
    assert clf.n_iter_ == 3
    assert not np.array_equal(clf.shared_coef_, first["shared_coef_"])
    clf.set_params(warm_start=False).fit(X, Y)
    assert clf.t_ == 3 * n_rows and clf.loss_curve_.shape == (3, 2)
    for name, value in first.items():
        assert_array_equal(getattr(clf, name), value, err_msg=name)


@pytest.mark.parametrize("rows, weights, expected", [
    ([1400] * 16, [1] * 16, 20),       # FDU-MTL's domains
    ([2000, 2000, 50], [1, 1, 1], 15),
    ([5452, 5452], [1, 1], 10),       # TREC
    ([100, 100, 9000, 9000, 9000], [1, 1, 1, 1, 1], 10),
    ([100, 100, 9000], [1, 1, 0], 20),  # a task of weight 0 does not count
])
def test_auto_epochs_follow_the_median_task(rows, weights, expected):
    """max_iter='auto': ceil(30000 / median labelled rows), within [10, 20]."""
    from skmtl._training import auto_epochs

    n_tasks = len(rows)
    # One multi-label task of three label heads counts once.
    n_labelled = np.r_[rows, [rows[0]] * 2]
    head_task = np.r_[np.arange(n_tasks), [0, 0]]
    lambdas = np.asarray(weights, float) / np.sum(weights)
    assert auto_epochs(n_labelled, head_task, lambdas) == expected


def test_default_epochs_depend_on_the_task_sizes():
    """The default runs 20 epochs on small tasks, 10 on large ones; an int
    max_iter is taken as it is."""
    rng = np.random.RandomState(0)
    X = sp.random(3200, 50, density=0.1, format="csr", random_state=0)
    Y = rng.randint(0, 2, size=(3200, 2)).astype(float)
    assert MultiTaskTextClassifier(random_state=0).fit(X, Y).n_iter_ == 10
    small = MultiTaskTextClassifier(random_state=0).fit(X[:1000], Y[:1000])
    assert small.n_iter_ == 20 and small.loss_curve_.shape == (20, 2)
    assert _clf(max_iter=7).fit(X[:1000], Y[:1000]).n_iter_ == 7


# ------------------------------------------------------------ task weights


def test_task_weights_array_dict_equivalent(sparse_problem64):
    """[1, 3], [0.25, 0.75] and {'task_1': 3} are the same (normalised) weights."""
    X, Y = sparse_problem64
    fits = [
        _clf(task_weights=w).fit(X, Y)
        for w in ([1, 3], np.array([0.25, 0.75]), {"task_1": 3})
    ]
    _assert_same_params(fits[0], fits[1])
    _assert_same_params(fits[0], fits[2])
    equal = _clf().fit(X, Y)
    assert not np.array_equal(equal.head_coef_, fits[0].head_coef_)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_task_with_zero_weight_is_not_learned(sparse_problem64):
    """Weight 0 for a task: its head stays at the initial zeros; others learn."""
    X, Y = sparse_problem64
    clf = _clf(task_weights={"task_1": 0}).fit(X, Y)
    assert_array_equal(clf.head_coef_[2:], 0)
    assert_array_equal(clf.head_intercept_[2:], 0)
    assert np.any(clf.head_coef_[:2] != 0)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_zero_task_weight_keeps_loss_curve_and_tol_stopping_sane(sparse_problem64):
    """A weight-0 task must not make loss_curve_ NaN nor trigger the tol stop."""
    X, Y = sparse_problem64
    params = dict(tol=1e-4, n_iter_no_change=3, max_iter=50, learning_rate="constant")
    clf = _clf(task_weights={"task_1": 0}, **params).fit(X, Y)
    tiny = _clf(task_weights={"task_1": 1e-9}, **params).fit(X, Y)
    assert tiny.n_iter_ > 3  # the loss still improves for more epochs
    assert np.all(np.isfinite(clf.loss_curve_))
    assert clf.n_iter_ > 3


@pytest.mark.parametrize(
    "weights, match",
    [
        ([1.0], "1 entries but there are 2 tasks"),
        ([1.0, 2.0, 3.0], "3 entries"),
        ({"nope": 1.0}, "unknown tasks.*nope"),
        ([-1.0, 1.0], "non-negative"),
        ([0.0, 0.0], "all zero"),
    ],
    ids=["short", "long", "unknown-name", "negative", "all-zero"],
)
def test_task_weights_errors(sparse_problem64, weights, match):
    """Wrong length, unknown name, negative or all-zero task weights raise."""
    X, Y = sparse_problem64
    with pytest.raises(ValueError, match=match):
        _clf(task_weights=weights).fit(X, Y)


# ----------------------------------------------------------- class weights


def test_class_weight_forms_are_equivalent(sparse_problem64):
    """'balanced' == per-task dict == list; a zero class weight removes a class."""
    X, Y = sparse_problem64
    balanced = _clf(class_weight="balanced").fit(X, Y)
    as_dict = _clf(class_weight={"task_0": "balanced", "task_1": "balanced"}).fit(X, Y)
    as_list = _clf(class_weight=["balanced", "balanced"]).fit(X, Y)
    _assert_same_params(balanced, as_dict)
    _assert_same_params(balanced, as_list)
    assert not np.array_equal(balanced.head_coef_, _clf().fit(X, Y).head_coef_)

    no_class_2 = _clf(class_weight={"task_1": {2: 0.0}}).fit(X, Y)
    as_list = _clf(class_weight=[None, {2: 0.0}]).fit(X, Y)
    _assert_same_params(no_class_2, as_list)
    labelled_2 = Y[:, 1] == 2
    assert np.mean(no_class_2.predict(X)[labelled_2, 1] == 2) < 0.2
    assert np.mean(_clf().fit(X, Y).predict(X)[labelled_2, 1] == 2) > 0.8


@pytest.mark.parametrize(
    "class_weight, match",
    [
        ({"nope": "balanced"}, "unknown tasks.*nope"),
        ({"task_1": {5: 2.0}}, "task 'task_1'.*\\[5\\]"),
        ([None], "1 entries but there are 2 tasks"),
    ],
    ids=["unknown-task", "unknown-class", "short-list"],
)
def test_class_weight_errors(sparse_problem64, class_weight, match):
    """Unknown task or class in class_weight raises, naming it."""
    X, Y = sparse_problem64
    with pytest.raises(ValueError, match=match):
        _clf(class_weight=class_weight).fit(X, Y)


def test_zero_sample_weight_rows_are_not_used(sparse_problem64):
    """A task whose only labelled rows have weight 0 keeps its head at zero."""
    X, Y = sparse_problem64
    Y = Y.copy()
    Y[100:, 1] = np.nan  # task_1 labelled only in the first 100 rows
    sample_weight = np.ones(X.shape[0])
    sample_weight[:100] = 0
    clf = _clf().fit(X, Y, sample_weight=sample_weight)
    assert_array_equal(clf.head_coef_[2:], 0)
    assert_array_equal(clf.head_intercept_[2:], 0)
    assert np.any(clf.head_coef_[:2] != 0)


# -------------------------------------------------- stopping and verbosity


def test_early_stopping_restores_the_best_validation_epoch(monkeypatch, capsys):
    """The restored model scores, on the held-out rows, its best epoch's score."""
    from skmtl import _training
    from tests.conftest import make_sparse_problem

    X, Y = make_sparse_problem(n_samples=300)
    split, real_split = [], _training._split_rows

    def spy(*args):
        split.append(real_split(*args))
        return split[-1]

    monkeypatch.setattr(_training, "_split_rows", spy)
    # The validation score is the accuracy of the decisions before any
    # threshold: none is chosen on held-out rows here. With 12 epochs this
    # problem's best epoch is the tenth (with 8, the last).
    clf = _clf(n_components=8, max_iter=12, early_stopping=True, tol=0, verbose=1,
               threshold_holdout=0)
    clf.fit(X, Y)
    scores = clf.validation_scores_
    best = int(np.argmax(scores))
    assert best < len(scores) - 1  # the last epoch is not the best here
    assert clf.best_validation_score_ == scores[best]
    _, val_rows = split[0]
    Y_pred = clf.predict(X[val_rows])
    accuracies = []
    for t in range(Y.shape[1]):
        labelled = ~np.isnan(Y[val_rows, t])
        accuracies.append(np.mean(Y_pred[labelled, t] == Y[val_rows][labelled, t]))
    assert np.mean(accuracies) == clf.best_validation_score_
    assert f"Kept the parameters of epoch {best + 1}" in capsys.readouterr().out


def test_best_loss_is_the_lowest_training_objective(sparse_problem64):
    X, Y = sparse_problem64
    clf = _clf(max_iter=5, task_weights=[3.0, 1.0]).fit(X, Y)
    assert clf.best_validation_score_ is None
    # The task weights are scaled to a mean of one: (3, 1) -> (1.5, 0.5).
    assert clf.best_loss_ == pytest.approx(np.min(clf.loss_curve_ @ [1.5, 0.5]))
    before = clf.best_loss_
    clf.partial_fit(X, Y)  # a later call keeps the lowest so far
    assert clf.best_loss_ <= before


def test_early_stopping_sets_validation_scores_and_stops(sparse_problem64):
    """early_stopping records a validation score per epoch and stops early."""
    X, Y = sparse_problem64
    clf = _clf(early_stopping=True, tol=1e-3, n_iter_no_change=2, max_iter=200)
    clf.fit(X, Y)
    assert clf.n_iter_ < 200
    assert clf.validation_scores_.shape == (clf.n_iter_,)
    assert np.all((clf.validation_scores_ >= 0) & (clf.validation_scores_ <= 1))
    assert _clf(max_iter=2).fit(X, Y).validation_scores_ is None


@pytest.mark.parametrize("learning_rate, warns",
                         [("linear", False), ("optimal", True), ("constant", True)])
def test_max_iter_warning_only_for_schedules_without_horizon(
    sparse_problem64, learning_rate, warns
):
    """With ``tol``, reaching ``max_iter`` means 'not converged' unless the
    linear schedule ends there by design."""
    X, Y = sparse_problem64
    model = _clf(max_iter=2, tol=1e-12, learning_rate=learning_rate)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, Y)
    found = any("Maximum number of epochs (2)" in str(w.message) for w in caught)
    assert found == warns


def test_tol_stops_on_training_loss(sparse_problem64):
    """With tol (no early_stopping) training stops when the loss stalls."""
    X, Y = sparse_problem64
    clf = _clf(tol=1e-2, n_iter_no_change=2, max_iter=200, learning_rate="constant")
    clf.fit(X, Y)
    assert clf.n_iter_ < 200 and clf.loss_curve_.shape == (clf.n_iter_, 2)


def test_verbose_prints_per_epoch_per_task_losses(sparse_problem64, capsys):
    """verbose prints one line per epoch with each task's loss."""
    X, Y = sparse_problem64
    df = pd.DataFrame(Y, columns=["sent", "topic"])
    _clf(max_iter=3, verbose=1).fit(X, df)
    lines = [line for line in capsys.readouterr().out.splitlines() if "Epoch" in line]
    assert len(lines) == 3
    for epoch, line in enumerate(lines, 1):
        assert f"Epoch {epoch}" in line and "sent:" in line and "topic:" in line


# ------------------------------------------------------------------ options


@pytest.mark.parametrize("loss", ["hinge", "modified_huber"])
def test_margin_losses_have_no_predict_proba(sparse_train_test, loss):
    """A margin loss learns, and predict_proba / predict_log_proba do not exist."""
    X, Y, X_test, Y_test = sparse_train_test
    clf = _clf(loss=loss).fit(X, Y)
    assert not hasattr(clf, "predict_proba")
    assert not hasattr(clf, "predict_log_proba")
    assert hasattr(_clf(), "predict_proba")
    assert clf.score(X_test, Y_test) > 0.7


def test_auto_loss_trains_binary_tasks_as_log_loss_and_multiclass_as_margins(
        sparse_train_test):
    """'auto': a binary task trains exactly as with the log loss; a 3-class
    task trains with the modified Huber loss (checked against the reference in
    test_kernel), so differently, and has probabilities (test_thresholds'
    temperatures)."""
    X, Y, X_test, Y_test = sparse_train_test
    binary = Y[:, :1]
    _assert_same_params(_clf(loss="auto").fit(X, binary),
                        _clf(loss="log_loss").fit(X, binary))
    clf = _clf(loss="auto").fit(X, Y)
    log = _clf(loss="log_loss").fit(X, Y)
    assert_array_equal(clf.private_offsets_, log.private_offsets_)
    assert not np.allclose(clf.private_coef_, log.private_coef_)
    assert hasattr(clf, "predict_proba")
    assert clf.score(X_test, Y_test) > 0.7


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_activations_learn(sparse_train_test, activation):
    """relu / tanh shared layers learn and their transform is in phi's range."""
    X, Y, X_test, Y_test = sparse_train_test
    clf = _clf(activation=activation, n_components=16, max_iter=20).fit(X, Y)
    H = clf.transform(X_test)
    if activation == "relu":
        assert H.min() >= 0
    else:
        assert np.abs(H).max() <= 1
    assert clf.score(X_test, Y_test) > 0.7


@pytest.mark.parametrize("n_components", [0, 6])
def test_private_part_learns(sparse_train_test, n_components):
    """private=True learns; with n_components=0 it is independent linear models."""
    X, Y, X_test, Y_test = sparse_train_test
    clf = _clf(private=True, n_components=n_components, max_iter=20).fit(X, Y)
    assert clf.private_coef_.shape == (X.shape[1], 5)
    assert np.any(clf.private_coef_ != 0)
    assert clf.shared_coef_.shape == (X.shape[1], n_components)
    assert clf.transform(X_test).shape == (X_test.shape[0], n_components)
    assert clf.score(X_test, Y_test) > 0.7


def test_auto_private_part_for_imbalanced_two_class_heads(sparse_problem64):
    """private='auto' gives a private part to the multiclass heads and to the
    two-class heads whose smaller class has under 45 % of the labelled rows
    (the rare binary task and the tags here), none to a balanced binary task,
    and keeps its choice when training continues."""
    X, _ = sparse_problem64
    rng = np.random.RandomState(0)
    n = X.shape[0]
    Y = pd.DataFrame({
        "balanced": rng.permutation(np.arange(n) % 2),
        "rare": (rng.rand(n) < 0.2).astype(int),
        "three": rng.randint(3, size=n),
        "tags": [tuple(t for t in "ab" if rng.rand() < 0.3) for _ in range(n)],
    })
    clf = _clf(max_iter=2).fit(X, Y)
    # Heads: balanced, rare, three (3 classes), then one a tag.
    assert_array_equal(clf.private_offsets_, [-1, 0, 2, 5, 7])
    assert clf.private_coef_.shape == (X.shape[1], 9)
    # A batch in which 'balanced' is rare does not change the heads.
    rows = np.flatnonzero(Y["balanced"] == 0)[:40].tolist() + [
        int(np.flatnonzero(Y["balanced"] == 1)[0])]
    clf.partial_fit(X[rows], Y.iloc[rows])
    assert_array_equal(clf.private_offsets_, [-1, 0, 2, 5, 7])
    # private=True after an 'auto' fit is a change of heads: refused.
    with pytest.raises(ValueError, match="private cannot change"):
        clf.set_params(private=True).partial_fit(X, Y)


def test_n_components_zero_without_private_raises(sparse_problem64):
    """n_components=0 without the private part has nothing to learn: error."""
    X, Y = sparse_problem64
    with pytest.raises(ValueError, match="private=True"):
        _clf(n_components=0).fit(X, Y)


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_l1_penalties_give_exact_zeros(sparse_problem64, penalty):
    """L1 / elastic-net with a large alpha set some shared weights exactly to 0."""
    X, Y = sparse_problem64
    clf = _clf(penalty=penalty, alpha=1e-2, max_iter=5).fit(X, Y)
    assert np.count_nonzero(clf.shared_coef_ == 0) > 0
    l2 = _clf(penalty="l2", alpha=1e-2, max_iter=5).fit(X, Y)
    assert np.count_nonzero(l2.shared_coef_ == 0) == 0


def test_alpha_heads_penalises_the_heads_and_alpha_the_shared_layer(sparse_problem64):
    """alpha_heads shrinks V, alpha W; penalty=None drops both."""
    X, Y = sparse_problem64

    def norms(**params):
        clf = _clf(max_iter=5, **params).fit(X, Y)
        return (np.linalg.norm(clf.head_coef_),
                np.linalg.norm(clf.shared_coef_))

    v_weak, w_weak = norms(alpha_heads=1e-5)
    v_strong, _ = norms(alpha_heads=1e-1)
    _, w_strong = norms(alpha_heads=1e-5, alpha=1e-1)
    assert v_strong < 0.5 * v_weak
    assert w_strong < 0.5 * w_weak
    v_none, _ = norms(alpha_heads=1e-1, penalty=None)
    assert v_none == pytest.approx(norms(alpha_heads=0.0, penalty=None)[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("eta0", [1e6, 1e12])
def test_huge_step_never_returns_nan_parameters(problem_factory, dtype, eta0):
    """A huge constant eta0 on unnormalised X trains or raises naming eta0."""
    X, Y = problem_factory(dtype)
    X = X * 100
    clf = _clf(eta0=eta0, learning_rate="constant", max_iter=5)
    try:
        clf.fit(X, Y)
    except ValueError as exc:
        assert "eta0" in str(exc) and "diverged" in str(exc)
    else:
        for name, value in _params(clf).items():
            assert np.all(np.isfinite(value)), name
        assert np.all(np.isfinite(clf.predict_proba(X)[0]))


# ---------------------------------------------------------------- bad input


def test_nan_in_X_raises(sparse_problem64):
    """X with NaN is rejected."""
    X, Y = sparse_problem64
    X_nan = X.toarray()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        _clf().fit(X_nan, Y)


def test_X_Y_length_mismatch_raises(sparse_problem64):
    """X and Y with different numbers of rows raise."""
    X, Y = sparse_problem64
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        _clf().fit(X, Y[:100])


def test_score_with_other_number_of_tasks_raises(sparse_problem64):
    """score on a Y with a different number of tasks raises."""
    X, Y = sparse_problem64
    clf = _clf(max_iter=2).fit(X, Y)
    with pytest.raises(ValueError, match="1 task"):
        clf.score(X, Y[:, :1])


def test_negative_sample_weight_raises(sparse_problem64):
    """Negative sample weights are rejected."""
    X, Y = sparse_problem64
    sample_weight = np.ones(X.shape[0])
    sample_weight[3] = -1
    with pytest.raises(ValueError, match="Negative"):
        _clf().fit(X, Y, sample_weight=sample_weight)
