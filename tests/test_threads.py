"""Threads in the kernel (``n_jobs``) and prediction in chunks of rows."""

import pickle
import threading
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils._param_validation import InvalidParameterError

from skmtl import MultiTaskTextClassifier, _model, _sgd_fast, _training
from skmtl.datasets import load_demo_corpus
from tests.test_kernel import _make_problem

PARAMS = ("W", "b", "V", "c", "U")


@pytest.fixture(scope="module")
def demo():
    """TF-IDF of the demo corpus (4 sentiment tasks, one label per review)."""
    train_texts, Y_train = load_demo_corpus(subset="train", return_X_y=True)
    test_texts, Y_test = load_demo_corpus(subset="test", return_X_y=True)
    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
    X_train = vectorizer.fit_transform(train_texts)
    return X_train, Y_train, vectorizer.transform(test_texts), Y_test


def _fit_params(model):
    return [model.shared_coef_, model.shared_intercept_, model.head_coef_,
            model.head_intercept_]


@pytest.mark.parametrize("n_jobs", [None, 1])
def test_one_thread_is_bit_reproducible(demo, n_jobs):
    X, Y, _, _ = demo
    first = MultiTaskTextClassifier(random_state=0, max_iter=2, n_jobs=n_jobs).fit(X, Y)
    again = MultiTaskTextClassifier(random_state=0, max_iter=2, n_jobs=1).fit(X, Y)
    for a, b in zip(_fit_params(first), _fit_params(again)):
        assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_two_threads_reach_the_accuracy_of_one(demo, dtype):
    X, Y, X_test, Y_test = demo
    X, X_test = X.astype(dtype), X_test.astype(dtype)
    serial = MultiTaskTextClassifier(random_state=0).fit(X, Y)
    threaded = MultiTaskTextClassifier(random_state=0, n_jobs=2).fit(X, Y)
    assert threaded.shared_coef_.dtype == dtype
    # The threads share the epoch differently from plain SGD (rounds of rows,
    # shrinkage after each round), so the parameters differ from serial SGD's
    # even when the threads happen to run one after the other.
    assert not np.array_equal(threaded.shared_coef_, serial.shared_coef_)
    # Measured: 0.862 (1 thread) against 0.863-0.864 (2 threads, 4 fits) in
    # float64, 0.859 against 0.856-0.866 in float32.
    assert threaded.score(X_test, Y_test) >= serial.score(X_test, Y_test) - 0.015
    assert np.all(np.isfinite(threaded.loss_curve_))
    # Training went about as far: measured, the last epoch's training loss of
    # each task is 0.0050-0.0060 with 2 threads against 0.0047-0.0053 with
    # one, from about 0.73 in the first epoch.
    assert np.all(threaded.loss_curve_[-1] < 0.05 * threaded.loss_curve_[0])
    assert_allclose(threaded.loss_curve_[-1], serial.loss_curve_[-1], rtol=0.3)


def _domains(Y):
    """Which of the demo's 4 tasks labels each row: one multiclass task, whose
    temperature ``fit`` chooses on held-out rows."""
    return np.argmax(Y != None, axis=1)  # noqa: E711 (elementwise)


def test_two_threads_train_the_held_out_model_beside_the_fit(demo, monkeypatch):
    X, Y, X_test, Y_test = demo
    held_out_done = threading.Event()
    choices = _training._held_out_choices
    run_epoch = _training._run_epoch
    epochs = {"held-out": [], "main": []}

    def recorded_choices(*args, **kwargs):
        result = choices(*args, **kwargs)
        held_out_done.set()
        return result

    def recorded_epoch(estimator, fit, state, rng):
        if threading.current_thread() is threading.main_thread():
            if len(epochs["main"]) == 30:
                # The fit's own training takes more epochs than the held-out
                # one (20, half of them, as it chooses temperatures only); make
                # sure it has some left once the held-out one is done.
                assert held_out_done.wait(timeout=60)
            epochs["main"].append(fit.kernel_args["n_threads"])
        else:
            epochs["held-out"].append(fit.kernel_args["n_threads"])
        return run_epoch(estimator, fit, state, rng)

    one = MultiTaskTextClassifier(random_state=0, max_iter=40).fit(X, _domains(Y))
    monkeypatch.setattr(_training, "_held_out_choices", recorded_choices)
    monkeypatch.setattr(_training, "_run_epoch", recorded_epoch)
    two = MultiTaskTextClassifier(random_state=0, max_iter=40, n_jobs=2).fit(
        X, _domains(Y))
    # One thread each side by side, then both threads for the fit's own
    # training once the held-out one is done.
    assert epochs["held-out"] == [1] * 20
    assert epochs["main"][0] == 1 and epochs["main"][30:] == [2] * 10
    assert epochs["main"] == sorted(epochs["main"])
    # The held-out model trained on one thread: the same choices, bit for bit.
    assert_array_equal(two.temperature_, one.temperature_)
    assert np.isfinite(two.temperature_).all()
    # Measured: 0.9175 with one thread, 0.9175-0.9181 with two (4 fits).
    assert two.score(X_test, _domains(Y_test)) >= (
        one.score(X_test, _domains(Y_test)) - 0.02)


def test_an_error_of_the_held_out_training_reaches_the_caller(demo, monkeypatch):
    X, Y, _, _ = demo
    model = MultiTaskTextClassifier(random_state=0, max_iter=2, n_jobs=2).fit(
        X, _domains(Y))
    fitted = {name: getattr(model, name).copy() for name in _model.PARAMETERS
              if getattr(model, name) is not None}

    def failing(*args, **kwargs):
        raise FloatingPointError("the held-out training diverged")

    monkeypatch.setattr(_training, "_held_out_choices", failing)
    with pytest.raises(FloatingPointError, match="held-out training"):
        model.fit(X, _domains(Y))
    for name, value in fitted.items():
        assert_array_equal(getattr(model, name), value, err_msg=name)


@pytest.mark.parametrize("failing_thread, error", [
    ("main", RuntimeError("interrupted")),
    ("held-out", FloatingPointError("the held-out training diverged")),
])
def test_an_error_of_one_training_ends_the_other(demo, monkeypatch,
                                                 failing_thread, error):
    # When the fit's own training fails (or is interrupted), its held-out
    # training stops after its current epoch rather than its last, and the
    # other way round.
    X, Y, _, _ = demo
    other_epochs = []
    run_epoch = _training._run_epoch

    def failing(*args):
        on_main = threading.current_thread() is threading.main_thread()
        if on_main == (failing_thread == "main"):
            raise error
        other_epochs.append(1)
        return run_epoch(*args)

    monkeypatch.setattr(_training, "_run_epoch", failing)
    model = MultiTaskTextClassifier(random_state=0, max_iter=40, n_jobs=2)
    with pytest.raises(type(error), match=str(error)):
        model.fit(X, _domains(Y))
    # 40 and 20 epochs otherwise (the held-out model: half of max_iter, as it
    # chooses temperatures only).
    assert len(other_epochs) <= 2


@pytest.mark.parametrize(
    "options",
    [
        dict(penalty="elasticnet", l1_ratio=0.5, alpha=1e-4),
        dict(private=True, activation="relu"),
        # Not with a constant eta0=0.1: after 3 epochs its test accuracy varies
        # from 0.63 to 0.86 between seeds and between 2-thread runs (measured),
        # too much to compare. With the default schedule, 2-thread runs were
        # within 0.01 of one thread's over 6 seeds.
        dict(loss="hinge"),
    ],
)
def test_two_threads_with_every_option(demo, options):
    X, Y, X_test, Y_test = demo
    serial = MultiTaskTextClassifier(random_state=0, max_iter=3, **options).fit(X, Y)
    threaded = MultiTaskTextClassifier(
        random_state=0, max_iter=3, n_jobs=2, **options
    ).fit(X, Y)
    assert threaded.score(X_test, Y_test) >= serial.score(X_test, Y_test) - 0.03


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("private", [False, True])
def test_kernel_threads_on_tiny_epochs(dtype, private):
    # Fewer rows than threads, and a round that does not divide among threads:
    # every row is visited once and the result is finite.
    kwargs, _ = _make_problem(dtype=dtype, private=private)
    for n_steps in (1, 3, len(kwargs["sample_order"])):
        run = {name: (v.copy() if isinstance(v, np.ndarray) else v)
               for name, v in kwargs.items()}
        run["sample_order"] = kwargs["sample_order"][:n_steps].copy()
        run["alpha_shared_l2"], run["alpha_shared_l1"] = 0.01, 0.01
        # Rounds of 2 rows a thread: several rounds, the last one partial.
        t_end, finite = _sgd_fast.sgd_epoch(**run, n_threads=4, rows_per_round=2)
        assert t_end == kwargs["t_start"] + n_steps and finite
        for name in PARAMS:
            assert np.all(np.isfinite(run[name])), name
        assert np.all(run["task_loss"] >= 0) and run["task_loss"].sum() > 0


def test_kernel_threads_with_a_single_thread_are_plain_sgd():
    kwargs, _ = _make_problem()
    serial = {n: (v.copy() if isinstance(v, np.ndarray) else v)
              for n, v in kwargs.items()}
    one = {n: (v.copy() if isinstance(v, np.ndarray) else v) for n, v in kwargs.items()}
    _sgd_fast.sgd_epoch(**serial)
    _sgd_fast.sgd_epoch(**one, n_threads=1)
    for name in PARAMS + ("task_loss",):
        assert_array_equal(one[name], serial[name])


def test_n_jobs_all_cpus_and_more_threads_than_rows():
    X = sp.random(5, 20, density=0.5, format="csr", random_state=0)
    Y = np.array([[0, 1], [1, 0], [0, 0], [1, 1], [0, 1]])
    for n_jobs in (-1, -2, 8):
        model = MultiTaskTextClassifier(n_jobs=n_jobs, random_state=0).fit(X, Y)
        assert np.all(np.isfinite(model.shared_coef_))
        model.partial_fit(X, Y)


@pytest.mark.parametrize(
    "n_jobs, error",
    [(0, ValueError), ("two", InvalidParameterError), (1.5, InvalidParameterError)],
)
def test_bad_n_jobs(n_jobs, error):
    X = sp.random(5, 20, density=0.5, format="csr", random_state=0)
    with pytest.raises(error, match="n_jobs"):
        MultiTaskTextClassifier(n_jobs=n_jobs).fit(X, [0, 1, 0, 1, 0])


def test_initial_layer_does_not_depend_on_n_jobs(monkeypatch):
    # Blocks of 7 rows: 50 rows are 8 blocks, drawn on threads or one by one.
    monkeypatch.setattr(_model, "INIT_BLOCK_ROWS", 7)
    layers = []
    for n_threads in (1, 3):
        out = np.empty((50, 6))
        _model.standard_normal(out, seed=5, n_threads=n_threads)
        layers.append(out)
    assert_array_equal(layers[0], layers[1])
    # Each block has a stream of its own (not one stream restarted).
    assert not np.allclose(layers[0][:7], layers[0][7:14])
    # Through the estimator: n_jobs sets the threads that draw, not the draws.
    X = sp.random(20, 50, density=0.3, format="csr", random_state=0)
    Y = np.array([[0, 1], [1, 0]] * 10)
    fitted = [MultiTaskTextClassifier(n_jobs=n_jobs, random_state=0, max_iter=1)
              .fit(X, Y) for n_jobs in (1, 2)]
    for model in fitted:
        assert model.shared_coef_.ctypes.data % 64 == 0
    monkeypatch.setattr(_sgd_fast, "sgd_epoch", lambda *args, **kwargs: (0.0, True))
    initial = [model.fit(X, Y).shared_coef_ for model in fitted]
    assert_array_equal(initial[0], initial[1])


def test_training_continues_on_an_aligned_layer(demo):
    # A layer that does not start a cache line (as after unpickling, where numpy
    # aligns to 16 bytes) is moved to one that does, values unchanged.
    X, Y, X_test, _ = demo
    model = MultiTaskTextClassifier(random_state=0, max_iter=1).fit(X, Y)
    twin = pickle.loads(pickle.dumps(model))
    W = model.shared_coef_
    buffer = np.empty(W.size + 16, dtype=W.dtype)
    skip = next(s for s in range(1, 16) if (buffer.ctypes.data + W.itemsize * s) % 64)
    twin.shared_coef_ = buffer[skip:skip + W.size].reshape(W.shape)
    twin.shared_coef_[...] = W
    assert twin.shared_coef_.ctypes.data % 64 != 0
    model.partial_fit(X, Y)
    twin.partial_fit(X, Y)
    assert twin.shared_coef_.ctypes.data % 64 == 0
    assert_array_equal(twin.shared_coef_, model.shared_coef_)
    assert_array_equal(twin.predict_proba(X_test)[0], model.predict_proba(X_test)[0])


# ------------------------------------------------------- prediction in chunks


def _predictions(model, X):
    return (model.predict(X), model.predict_proba(X), model.predict_log_proba(X),
            model.decision_function(X))


@pytest.mark.parametrize("private", [False, True])
def test_prediction_in_chunks_equals_one_chunk(demo, monkeypatch, private):
    X, Y, X_test, _ = demo
    model = MultiTaskTextClassifier(random_state=0, max_iter=2, private=private)
    model.fit(X, Y)
    whole = _predictions(model, X_test)
    # 7 does not divide the number of rows: the last chunk is shorter.
    monkeypatch.setattr(_model, "PREDICT_CHUNK_ROWS", 7)
    chunked = _predictions(model, X_test)
    assert_array_equal(whole[0], chunked[0])
    for a_tasks, b_tasks in zip(whole[1:], chunked[1:]):
        for a, b in zip(a_tasks, b_tasks):
            assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_predict_proba_allocates_little_besides_its_output():
    # 100k rows, 32 hidden units and 2 binary tasks: computed in one go, the
    # shared representation alone would be 8x the output (25.6 MB vs 3.2 MB).
    rng = np.random.RandomState(0)
    # 5 non-zeros a row (sp.random takes seconds at this size).
    indices = rng.randint(0, 500, 500_000).astype(np.int32)
    X = sp.csr_matrix(
        (rng.rand(500_000), indices, np.arange(0, 500_001, 5)), shape=(100_000, 500)
    )
    Y = rng.randint(0, 2, (100_000, 2))
    model = MultiTaskTextClassifier(random_state=0, max_iter=1).fit(X, Y)
    output_bytes = 100_000 * 2 * 2 * 8
    tracemalloc.start()
    try:
        proba = model.predict_proba(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sum(p.nbytes for p in proba) == output_bytes
    # Output plus one chunk's temporaries (a few MB at most).
    assert peak < output_bytes + 4e6, (peak, output_bytes)
