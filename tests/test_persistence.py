"""Persistence and determinism: pickle / joblib with the version check, skops.io
with a limited trusted list, bit-identical fits and predictions across processes.

tests/test_estimator.py::test_joblib_roundtrip_in_new_process covers a joblib
dump of a TF-IDF pipeline loaded in a fresh interpreter; here: the estimator
itself (float32 and float64, private part, int and string tasks), pickle,
skops and fits repeated in another process.
"""

import os
import pickle
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from numpy.testing import assert_array_equal
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

import skmtl
from skmtl import MultiTaskTextClassifier
from skmtl.exceptions import InconsistentVersionWarning

FITTED_ARRAYS = (
    "shared_coef_", "shared_intercept_", "head_coef_", "head_intercept_",
    "private_coef_", "class_offsets_", "loss_curve_",
)
TRUSTED_PREFIXES = ("skmtl.", "numpy.", "sklearn.", "scipy.", "builtins.")
TEXTS = ["great phone", "awful phone", "great film", "awful film", "a phone",
         "a film", "great", "awful"] * 5
TEXT_Y = np.array(
    [["pos", "tech"], ["neg", None], [None, "film"], ["neg", "film"],
     [None, "tech"], ["pos", None], ["pos", None], ["neg", None]] * 5,
    dtype=object,
)


def _clf(**params):
    params = {"n_components": 5, "max_iter": 5, "random_state": 0, **params}
    return MultiTaskTextClassifier(**params)


def _mixed_targets(Y):
    """Float Y (NaN missing) as a DataFrame: an int task and a string task."""
    sentiment = pd.array([None if np.isnan(v) else int(v) for v in Y[:, 0]],
                         dtype="Int64")
    topic = pd.Series([None if np.isnan(v) else "abc"[int(v)] for v in Y[:, 1]],
                      dtype=object)
    return pd.DataFrame({"sentiment": sentiment, "topic": topic})


def _outputs(model, X):
    """Every prediction output of a fitted estimator or pipeline, as a list."""
    out = [model.predict(X)]
    for method in ("predict_proba", "decision_function", "transform"):
        value = getattr(model, method)(X)
        out.extend(value if isinstance(value, list) else [value])
    return out


def _assert_same_outputs(a, b):
    assert len(a) == len(b)
    for got, expected in zip(a, b):
        assert got.dtype == expected.dtype
        assert_array_equal(got, expected)


def _assert_same_fitted_state(a, b):
    assert sorted(vars(a)) == sorted(vars(b))
    for name in FITTED_ARRAYS:
        got, expected = getattr(a, name), getattr(b, name)
        if expected is None:
            assert got is None, name
        else:
            assert got.dtype == expected.dtype, name
            assert_array_equal(got, expected, err_msg=name)
    assert a.task_names_ == b.task_names_
    for got, expected in zip(a.classes_, b.classes_):
        assert_array_equal(got, expected)


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def fitted(request, problem_factory):
    """(model, X): private part, an Int64 task and a string task, DataFrame Y."""
    X, Y = problem_factory(request.param)
    return _clf(private=True).fit(X, _mixed_targets(Y)), X


@pytest.fixture
def pipeline():
    return make_pipeline(TfidfVectorizer(), _clf()).fit(TEXTS, TEXT_Y)


@pytest.fixture
def other_version(monkeypatch):
    """Make skmtl report another version, as if the model came from elsewhere."""
    def set_version(version):
        monkeypatch.setattr("skmtl._estimator.__version__", version)
    return set_version


# ------------------------------------------------------------ pickle / joblib


def test_pickle_roundtrip_is_exact_and_silent(fitted):
    """Same version: no warning, same fitted state, bit-identical outputs; and
    pickling does not alter the live model."""
    model, X = fitted
    before = sorted(vars(model))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = pickle.loads(pickle.dumps(model))
    assert sorted(vars(model)) == before  # no _skmtl_version added to the model
    _assert_same_fitted_state(loaded, model)
    _assert_same_outputs(_outputs(loaded, X), _outputs(model, X))


def test_pickle_records_the_skmtl_version(fitted):
    model, _ = fitted
    state = model.__getstate__()
    assert state["_skmtl_version"] == skmtl.__version__
    assert "_skmtl_version" not in vars(pickle.loads(pickle.dumps(model)))


@pytest.mark.parametrize("obj", ["estimator", "pipeline"])
@pytest.mark.parametrize("how", ["pickle", "joblib"])
def test_loading_another_versions_model_warns(
    obj, how, fitted, pipeline, other_version, tmp_path
):
    """A model saved by skmtl 0.0.1 warns on load, naming both versions, and
    still predicts as before (the warning does not stop the load)."""
    model, X = fitted if obj == "estimator" else (pipeline, TEXTS)
    expected = _outputs(model, X)
    other_version("0.0.1")
    path = tmp_path / "model.bin"
    if how == "pickle":
        path.write_bytes(pickle.dumps(model))
    else:
        joblib.dump(model, path)
    other_version(skmtl.__version__)
    message = rf"saved with skmtl 0\.0\.1 into skmtl {skmtl.__version__}"
    with pytest.warns(InconsistentVersionWarning, match=message):
        loaded = pickle.loads(path.read_bytes()) if how == "pickle" else (
            joblib.load(path)
        )
    _assert_same_outputs(_outputs(loaded, X), expected)


def test_loading_a_pickle_without_version_warns(fitted):
    """A state without the version (saved before it was recorded) warns too."""
    model, _ = fitted
    state = model.__getstate__()
    del state["_skmtl_version"]
    empty = MultiTaskTextClassifier.__new__(MultiTaskTextClassifier)
    with pytest.warns(InconsistentVersionWarning, match="unknown"):
        empty.__setstate__(state)
    assert_array_equal(empty.head_coef_, model.head_coef_)


def test_version_warning_can_be_made_an_error(fitted, other_version):
    """As documented: warnings.simplefilter('error', InconsistentVersionWarning)."""
    model, _ = fitted
    other_version("0.0.1")
    data = pickle.dumps(model)
    other_version(skmtl.__version__)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        with pytest.raises(InconsistentVersionWarning):
            pickle.loads(data)


# ----------------------------------------------------------------- skops.io


def _skops_roundtrip(model, path):
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted, "skmtl's estimator is not trusted by default"
    for name in untrusted:
        assert name.startswith(TRUSTED_PREFIXES), name
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return sio.load(path, trusted=untrusted), untrusted


def test_skops_roundtrip_estimator(fitted, tmp_path):
    """skops saves every fitted attribute; it loads trusting only skmtl's type."""
    model, X = fitted
    loaded, untrusted = _skops_roundtrip(model, tmp_path / "model.skops")
    # The task-name list, the int and str classes, dtypes, None attributes: all
    # go through skops without extra trusted types.
    assert untrusted == ["skmtl._estimator.MultiTaskTextClassifier"]
    _assert_same_fitted_state(loaded, model)
    _assert_same_outputs(_outputs(loaded, X), _outputs(model, X))


def test_skops_roundtrip_pipeline_and_1d_model(pipeline, problem_factory, tmp_path):
    """A TF-IDF pipeline and a 1-D (single task) model with early stopping."""
    loaded, untrusted = _skops_roundtrip(pipeline, tmp_path / "pipe.skops")
    assert untrusted == ["skmtl._estimator.MultiTaskTextClassifier"]
    _assert_same_outputs(_outputs(loaded, TEXTS), _outputs(pipeline, TEXTS))

    X, Y = problem_factory(np.float64)
    single = _clf(early_stopping=True, tol=0.0).fit(X, np.nan_to_num(Y[:, 1]))
    loaded, _ = _skops_roundtrip(single, tmp_path / "single.skops")
    assert isinstance(loaded.classes_, np.ndarray)
    assert_array_equal(loaded.validation_scores_, single.validation_scores_)
    _assert_same_outputs(_outputs(loaded, X), _outputs(single, X))


def test_skops_refuses_to_load_without_trust(fitted, tmp_path):
    model, _ = fitted
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.load(path)


def test_skops_load_of_another_version_warns(fitted, other_version, tmp_path):
    """skops goes through __getstate__ / __setstate__: the version check too."""
    model, _ = fitted
    other_version("0.0.1")
    sio.dump(model, tmp_path / "model.skops")
    other_version(skmtl.__version__)
    with pytest.warns(InconsistentVersionWarning, match=r"skmtl 0\.0\.1"):
        sio.load(tmp_path / "model.skops",
                 trusted=["skmtl._estimator.MultiTaskTextClassifier"])


# ------------------------------------------------------------- determinism


# Run in a fresh interpreter with one BLAS / OpenMP thread: fit the same data
# with the same random_state, and predict with the model pickled here.
CHILD = """
import pickle, sys
import numpy as np
from skmtl import MultiTaskTextClassifier

with open(sys.argv[1], "rb") as f:
    X, Y, params, model = pickle.load(f)
refit = MultiTaskTextClassifier(**params).fit(X, Y)
out = {
    name: getattr(refit, name)
    for name in ("shared_coef_", "shared_intercept_", "head_coef_",
                 "head_intercept_", "private_coef_", "loss_curve_")
}
out["loaded_outputs"] = [model.predict(X), *model.predict_proba(X),
                         *model.decision_function(X), model.transform(X)]
with open(sys.argv[2], "wb") as f:
    pickle.dump(out, f)
"""

SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                 "MKL_NUM_THREADS": "1"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fit_and_pickled_model_are_bit_identical_in_another_process(
    problem_factory, tmp_path, dtype
):
    """Same data and random_state: bit-identical parameters in a new process;
    a pickled model predicts bit-identically there (single thread)."""
    X, Y = problem_factory(dtype)
    params = dict(n_components=5, max_iter=5, random_state=7, private=True,
                  activation="tanh", penalty="elasticnet")
    with threadpool_limits(1):
        model = MultiTaskTextClassifier(**params).fit(X, Y)
        expected = _outputs(model, X)
    (tmp_path / "in.pkl").write_bytes(pickle.dumps((X, Y, params, model)))
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "in.pkl"),
         str(tmp_path / "out.pkl")],
        capture_output=True, text=True, env={**os.environ, **SINGLE_THREAD},
    )
    assert result.returncode == 0, result.stderr
    out = pickle.loads((tmp_path / "out.pkl").read_bytes())
    for name, value in out.items():
        if name != "loaded_outputs":
            assert value.dtype == getattr(model, name).dtype, name
            assert_array_equal(value, getattr(model, name), err_msg=name)
    _assert_same_outputs(out["loaded_outputs"], expected)


def test_partial_fit_sequence_is_deterministic(problem_factory):
    """The same partial_fit batches and random_state give identical parameters."""
    X, Y = problem_factory(np.float32)
    classes = [[0, 1], [0, 1, 2]]
    models = []
    for _ in range(2):
        model = _clf(random_state=3)
        for start in range(0, 200, 50):
            model.partial_fit(X[start:start + 50], Y[start:start + 50],
                              classes=classes)
        models.append(model)
    _assert_same_fitted_state(*models)
