"""Nothing lost, nothing crashes: transactional fits, checked fitted state, no
silent garbage (issue 18).

Cases that could crash the interpreter run in a subprocess: the test then sees
an exit status instead of losing the whole test session.
"""

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from skmtl import MultiTaskTextClassifier, _sgd_fast
from tests.conftest import make_sparse_problem

ROOT = Path(__file__).resolve().parents[1]
FITTED = ("shared_coef_", "shared_intercept_", "head_coef_", "head_intercept_",
          "private_coef_", "class_offsets_", "loss_curve_", "t_", "n_iter_",
          "n_features_in_")


def _clf(**params):
    return MultiTaskTextClassifier(
        **{"n_components": 4, "max_iter": 2, "random_state": 0, **params}
    )


def _assert_same_state(model, before):
    for name in FITTED:
        old, new = before[name], getattr(model, name)
        if old is None:
            assert new is None, name
        else:
            assert_array_equal(new, old, err_msg=name)


def _state(model):
    return {name: getattr(model, name) for name in FITTED}


def _run(script, timeout=180):
    """Run ``script`` in a fresh interpreter; return (exit status, output)."""
    env = {**os.environ, "OMP_NUM_THREADS": "2", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True,
        text=True, timeout=timeout, env=env, cwd=ROOT,
    )
    return result.returncode, result.stdout + result.stderr


# ----------------------------------------------------------- transactional


BAD_REFITS = {
    "task_weights of the wrong length": dict(task_weights=[1.0, 2.0, 3.0]),
    "task_weights not numbers": dict(task_weights=["a", "b"]),
    "class weight of an unknown class": dict(class_weight={"task_0": {7.0: 2.0}}),
    "class weight entry not a dict": dict(class_weight={"task_0": "bogus"}),
    "validation fraction leaving no training row": dict(
        early_stopping=True, validation_fraction=0.9999
    ),
}


@pytest.mark.parametrize("params", BAD_REFITS.values(), ids=BAD_REFITS.keys())
def test_failed_refit_leaves_the_model_as_before(params):
    X, Y = make_sparse_problem()
    model = _clf().fit(X, Y)
    before, proba = _state(model), model.predict_proba(X)
    model.set_params(**params)
    with pytest.raises(ValueError):
        model.fit(X[:, :30], Y)  # new features too: n_features_in_ is kept
    _assert_same_state(model, before)
    for old, new in zip(proba, model.predict_proba(X)):
        assert_array_equal(new, old)


@pytest.mark.parametrize("params", BAD_REFITS.values(), ids=BAD_REFITS.keys())
def test_failed_first_call_leaves_the_model_unfitted(params):
    X, Y = make_sparse_problem()
    model = _clf(**params)
    with pytest.raises(ValueError):
        if params.get("early_stopping"):
            model.fit(X, Y)
        else:
            model.partial_fit(X, Y, classes=[[0.0, 1.0], [0.0, 1.0, 2.0]])
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    assert not any(name.endswith("_") for name in vars(model))


@pytest.mark.parametrize("fitted_before", [False, True])
def test_keyboard_interrupt_leaves_the_model_as_before(monkeypatch, fitted_before):
    X, Y = make_sparse_problem()
    model = _clf(max_iter=4, warm_start=True)
    if fitted_before:
        model.fit(X, Y)
        before = _state(model)
    real, calls = _sgd_fast.sgd_epoch, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(_sgd_fast, "sgd_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y)
    assert len(calls) == 2
    if fitted_before:
        _assert_same_state(model, before)
    else:
        with pytest.raises(NotFittedError):
            check_is_fitted(model)


# --------------------------------------------- the kernel trusts checked state

TAMPER = {
    "shared layer with fewer rows": (
        "m.shared_coef_ = np.ascontiguousarray(m.shared_coef_[:5])"
    ),
    "head with fewer rows": "m.head_coef_ = np.ascontiguousarray(m.head_coef_[:2])",
    "class offsets beyond the heads": (
        "m.class_offsets_ = np.array([0, 2, 500], dtype=np.int32)"
    ),
    "shared bias too short": "m.shared_intercept_ = m.shared_intercept_[:1].copy()",
    "private part of the wrong shape": (
        "m.private_coef_ = np.zeros((3, 5), dtype=m.shared_coef_.dtype)"
    ),
    "class log priors too short": (
        "m.class_log_prior_ = m.class_log_prior_[:-1].copy()"
    ),
    "private columns overlapping": (
        "m.private_offsets_ = np.array([0, 1], dtype=np.int32)"
    ),
    "task kinds of the wrong length": (
        "m.multilabel_ = np.zeros(3, dtype=bool)"
    ),
    "thresholds for a multiclass task": "m.thresholds_ = [np.zeros(2), None]",
    "norm floor not a number": "m._x_norm2_floor = float('nan')",
    "step scale of zero": "m._step_scale = 0.0",
    "margin loss for a head that is no label": (
        "m._margin_labels = np.ones(len(m.class_offsets_) - 1, dtype=bool)"
    ),
    "sample weight unit of zero": "m._sample_weight_scale = 0.0",
    "temperature of zero": "m.temperature_ = np.zeros(m.n_tasks_)",
    "prior strengths of the wrong length": "m.prior_strength_ = np.zeros(1)",
    "prior strength not finite": (
        "m.prior_strength_ = np.full(m.n_tasks_, np.inf)"
    ),
    "task refined by itself": "m.refined_by_ = np.arange(m.n_tasks_)",
    "refinement weight without a finer task": (
        "m.refinement_weight_ = np.full(m.n_tasks_, 0.5)"
    ),
    "refined task without a class map": (
        "m.refined_by_ = np.array([-1, 0]); "
        "m.refinement_weight_ = np.array([0.0, 0.5])"
    ),
}


@pytest.mark.parametrize("tamper", TAMPER.values(), ids=TAMPER.keys())
def test_inconsistent_pickled_state_is_refused_by_training(tamper):
    script = f"""
        import pickle, numpy as np
        from skmtl import MultiTaskTextClassifier
        from tests.conftest import make_sparse_problem
        X, Y = make_sparse_problem()
        m = MultiTaskTextClassifier(n_components=4, max_iter=1, private=True,
                                    random_state=0).fit(X, Y)
        {tamper}
        m = pickle.loads(pickle.dumps(m))
        try:
            m.partial_fit(X, Y)
        except ValueError as exc:
            print("ValueError:", exc)
    """
    status, output = _run(script)
    assert status == 0, output
    assert "ValueError: The fitted state" in output and "inconsistent" in output


@pytest.mark.parametrize("tamper", TAMPER.values(), ids=TAMPER.keys())
def test_inconsistent_state_is_refused_by_prediction(tamper):
    X, Y = make_sparse_problem()
    m = _clf(max_iter=1, private=True).fit(X, Y)  # noqa: F841 (used by tamper)
    exec(tamper)
    for method in (m.predict_proba, m.predict, m.decision_function):
        with pytest.raises(ValueError, match="fitted state .* is inconsistent"):
            method(X)


@pytest.mark.parametrize("name", ["shared_coef_", "head_coef_", "private_coef_"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("method", ["partial_fit", "warm_start"])
def test_non_finite_parameters_are_refused_by_training(name, value, method):
    X, Y = make_sparse_problem()
    m = _clf(max_iter=1, private=True, warm_start=method == "warm_start").fit(X, Y)
    getattr(m, name)[-1, -1] = value
    before = {key: np.copy(v) if isinstance(v, np.ndarray) else v
              for key, v in _state(m).items()}
    train = m.partial_fit if method == "partial_fit" else m.fit
    with pytest.raises(ValueError, match=f"inconsistent: {name} has values that "
                                         "are not finite"):
        train(X, Y)
    _assert_same_state(m, before)


def test_inconsistent_skops_file_is_refused(tmp_path):
    pytest.importorskip("skops", reason="skops is an optional dependency")
    script = """
        import numpy as np, skops.io as sio
        from skmtl import MultiTaskTextClassifier
        from tests.conftest import make_sparse_problem
        X, Y = make_sparse_problem()
        m = MultiTaskTextClassifier(n_components=4, max_iter=1,
                                    random_state=0).fit(X, Y)
        m.shared_coef_ = np.ascontiguousarray(m.shared_coef_[:3])
        data = sio.dumps(m)
        loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
        try:
            loaded.partial_fit(X, Y)
        except ValueError as exc:
            print("ValueError:", exc)
    """
    status, output = _run(script)
    assert status == 0, output
    assert "shared_coef_ has shape (3, 4), expected (40, 4)" in output


def test_concurrent_fits_on_one_instance_do_not_crash():
    script = """
        import threading
        from skmtl import MultiTaskTextClassifier
        from tests.conftest import make_sparse_problem
        problems = [make_sparse_problem(n_samples=600, n_features=n, seed=n)
                    for n in (30, 300)]
        m = MultiTaskTextClassifier(n_components=8, max_iter=3, random_state=0)
        errors = []
        def work(X, Y):
            try:
                for _ in range(15):
                    m.fit(X, Y)
            except Exception as exc:
                errors.append(repr(exc))
        threads = [threading.Thread(target=work, args=p) for p in problems]
        for t in threads: t.start()
        for t in threads: t.join()
        assert m.shared_coef_.shape[0] == m.n_features_in_
        print("errors:", errors)
    """
    status, output = _run(script)
    assert status == 0, output
    assert "errors: []" in output


def test_n_jobs_beyond_the_cpus_is_capped_with_a_warning():
    X, Y = make_sparse_problem(n_samples=40)
    with pytest.warns(UserWarning, match="n_jobs=40000 exceeds the"):
        model = _clf(n_jobs=40000).fit(X, Y)
    assert np.isfinite(model.shared_coef_).all()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_threaded_fit_in_a_child_forked_after_one_does_not_hang():
    script = """
        import os, warnings
        from skmtl import MultiTaskTextClassifier
        from tests.conftest import make_sparse_problem
        X, Y = make_sparse_problem(n_samples=3000)
        # No held-out model (threshold_holdout=0): the two threads are
        # OpenMP's, not one for each of two trainings.
        hogwild = dict(n_jobs=2, max_iter=2, threshold_holdout=0)
        MultiTaskTextClassifier(random_state=0, **hogwild).fit(X, Y)
        pid = os.fork()
        if pid == 0:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                MultiTaskTextClassifier(**hogwild).fit(X, Y)
            os._exit(0 if any("forked" in str(w.message) for w in caught) else 3)
        print("child exit", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
    """
    try:
        status, output = _run(script, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the forked child's threaded fit hung")
    assert status == 0, output
    assert "child exit 0" in output


# --------------------------------------------------------- no silent garbage


def test_values_beyond_float32_after_the_cast_are_refused():
    X, Y = make_sparse_problem(np.float32)
    model = _clf().fit(X, Y)
    huge = X.astype(np.float64)
    huge.data[0] = 1e300
    for method in (model.predict_proba, model.predict, model.transform):
        with pytest.raises(ValueError, match="beyond the range of float32"):
            method(huge)
    with pytest.raises(ValueError, match="beyond the range of float32"):
        model.partial_fit(huge, Y)


def test_duplicate_csr_entries_train_the_canonical_model():
    X, Y = make_sparse_problem(n_samples=300)
    # Every entry split in two, 0.3 and 0.7 of it, in the same row.
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    rows, cols = np.concatenate([rows, rows]), np.concatenate([X.indices] * 2)
    data = np.concatenate([0.3 * X.data, 0.7 * X.data])
    order = np.argsort(rows, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=300))])
    duplicated = sp.csr_matrix((data[order], cols[order], indptr), shape=X.shape)
    assert not duplicated.has_canonical_format
    canonical = duplicated.copy()
    canonical.sum_duplicates()
    data_before = duplicated.data.copy()
    a = _clf(max_iter=3).fit(duplicated, Y)
    b = _clf(max_iter=3).fit(canonical, Y)
    assert_array_equal(a.shared_coef_, b.shared_coef_)
    assert_array_equal(a.head_coef_, b.head_coef_)
    assert_array_equal(duplicated.data, data_before)  # the caller's X untouched


def test_long_labels_do_not_make_predict_scale_with_them():
    X, Y = make_sparse_problem(n_samples=400)
    long_label = "x" * 100_000
    labels = np.where(Y[:, 0] == 1, long_label, "short").astype(object)
    labels[np.isnan(Y[:, 0])] = None
    model = _clf().fit(X, np.column_stack([labels, Y[:, 1]]))
    predicted = model.predict(X)
    assert predicted.nbytes < 100 * X.shape[0]
    assert long_label in set(predicted[:, 0])
    single = _clf().fit(X[~np.isnan(Y[:, 0])], labels[~np.isnan(Y[:, 0])])
    assert single.predict(X).nbytes < 100 * X.shape[0]


def test_huge_task_weights_do_not_overflow():
    X, Y = make_sparse_problem()
    huge = _clf(task_weights=[1e308, 1e308]).fit(X, Y)
    default = _clf().fit(X, Y)
    assert_array_equal(huge.shared_coef_, default.shared_coef_)


def test_duplicate_task_names_are_refused():
    X, Y = make_sparse_problem()
    frame = pd.DataFrame(Y, columns=["topic", "topic"])
    with pytest.raises(ValueError, match="several columns named"):
        _clf().fit(X, frame)


def test_swapped_default_named_columns_are_refused():
    X, Y = make_sparse_problem()
    model = _clf().fit(X, Y)
    swapped = pd.DataFrame({"task_1": Y[:, 1], "task_0": Y[:, 0]})
    with pytest.raises(ValueError, match="differ from the fitted task names"):
        model.score(X, swapped)
    with pytest.raises(ValueError, match="differ from the fitted task names"):
        model.partial_fit(X, swapped)
    # In the fitted order, or named otherwise (a model fitted without names),
    # they are accepted.
    in_order = pd.DataFrame({"task_0": Y[:, 0], "task_1": Y[:, 1]})
    assert model.score(X, in_order) == model.score(X, Y)
    assert model.score(X, in_order.set_axis(["a", "b"], axis=1)) == model.score(X, Y)


SENTINELS = {
    "-1 next to 0 and 1": ([0, 1, -1], -1),
    "empty string": (["a", "b", ""], ""),
    "'nan' string": (["a", "b", "nan"], "nan"),
    "'None' string": (["a", "b", "None"], "None"),
}


@pytest.mark.parametrize("labels, sentinel", SENTINELS.values(),
                         ids=SENTINELS.keys())
def test_a_class_that_looks_like_a_missing_label_is_warned_about(labels, sentinel):
    X, _ = make_sparse_problem(n_samples=30)
    y = np.array(labels * 10)
    with pytest.warns(UserWarning, match=f"class {sentinel!r}, which looks like"):
        _clf(max_iter=1).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _clf(max_iter=1, missing_label=sentinel).fit(X, y)
        _clf(max_iter=1).fit(X, np.array([-1, 1, 1] * 10))  # a usual binary task
