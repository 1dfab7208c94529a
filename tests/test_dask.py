"""skmtl on a dask cluster: dask-ml's ``Incremental`` and joblib's dask backend.

A real ``distributed.LocalCluster`` of 2 worker processes is started once for
the module (the model and the data travel between processes by pickle, as on
a remote cluster). Needs the ``dask`` extra: ``pip install -e ".[dask]"``.

dask-ml's ``Incremental`` feeds the blocks of a dask array to ``partial_fit``
one after the other, so the model it fits is the one sequential
``partial_fit`` calls give on the same blocks. Two things to know for several
tasks (both limitations of dask-ml 2025.1, which expects a 1-D ``y``):

- the labels must be a dask **DataFrame** (one column per task, partitions
  aligned with X's blocks): with a 2-D dask array, ``Incremental.fit`` passes
  ``partial_fit`` the name of the label block instead of the block itself;
- ``Incremental.predict`` declares a 1-D result, so predict with
  ``X.map_blocks(model.predict, ...)`` and an explicit output chunking.
"""

import logging
import time

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skmtl import MultiTaskTextClassifier
from skmtl.datasets import load_demo_corpus
from skmtl.metrics import mean_task_score

REASON = 'needs the dask extra: pip install -e ".[dask]"'
dask = pytest.importorskip("dask", reason=REASON)
da = pytest.importorskip("dask.array", reason=REASON)
dd = pytest.importorskip("dask.dataframe", reason=REASON)
distributed = pytest.importorskip("distributed", reason=REASON)
dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers", reason=REASON)

pytestmark = pytest.mark.dask

TASKS = ["books", "dvd", "electronics", "kitchen_housewares"]
CLASSES = {task: ["negative", "positive"] for task in TASKS}
N_FEATURES = 2**16
BLOCK = 400


@pytest.fixture(scope="module")
def client():
    """A 2-process local cluster and its client, closed after the module.

    Every stage is bounded: connecting (comm timeout), each worker's start
    (death_timeout), the client's connection, waiting for the workers, and
    closing.
    """
    tic = time.perf_counter()
    with dask.config.set({"distributed.comm.timeouts.connect": "30s"}):
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, death_timeout=60, silence_logs=logging.ERROR,
        )
        try:
            client = distributed.Client(cluster, timeout=30)
        except BaseException:
            cluster.close(timeout=30)
            raise
    try:
        client.wait_for_workers(2, timeout=60)
        print(f"local cluster up in {time.perf_counter() - tic:.1f} s")
        yield client
    finally:
        client.close(timeout=30)
        cluster.close(timeout=30)


@pytest.fixture(scope="module")
def corpus():
    """2,000 shuffled demo reviews (texts and '' -missing labels)."""
    texts, Y = load_demo_corpus(subset="all", return_X_y=True, missing_label="")
    order = np.random.RandomState(0).permutation(len(texts))[:2000]
    return [texts[i] for i in order], Y[order]


def _hashing_vectorizer():
    return HashingVectorizer(
        n_features=N_FEATURES, alternate_sign=False, norm="l2", dtype=np.float32
    )


def _dask_csr_matrix(texts, vectorizer):
    """A dask array of scipy CSR blocks, each hashed on a worker from its texts.

    HashingVectorizer is stateless, so every block is made where it is used:
    the client never holds the matrix.
    """
    meta = sp.csr_matrix((0, N_FEATURES), dtype=np.float32)
    blocks = []
    for start in range(0, len(texts), BLOCK):
        chunk = texts[start:start + BLOCK]
        block = dask.delayed(vectorizer.transform)(chunk)
        blocks.append(da.from_delayed(
            block, shape=(len(chunk), N_FEATURES), dtype=np.float32, meta=meta
        ))
    return da.concatenate(blocks, axis=0)


def _model(**params):
    return MultiTaskTextClassifier(
        n_components=16, random_state=0, missing_label="", **params
    )


def test_incremental_on_a_cluster_equals_sequential_partial_fit(client, corpus):
    """Incremental over dask blocks = partial_fit block by block, locally."""
    texts, Y = corpus
    vectorizer = _hashing_vectorizer()
    # Hashed once, on the workers, and kept there for the passes.
    X = _dask_csr_matrix(texts, vectorizer).persist()
    labels = dd.from_pandas(pd.DataFrame(Y, columns=TASKS), chunksize=BLOCK)
    # Each partition of the labels must match a block of X (checked locally).
    sizes = labels.map_partitions(len).compute(scheduler="sync")
    assert tuple(sizes) == X.chunks[0]

    n_passes = 3
    incremental = dask_ml_wrappers.Incremental(_model(), shuffle_blocks=False)
    with distributed.get_task_stream(client) as stream:
        for _ in range(n_passes):  # each call continues from estimator_
            incremental.partial_fit(X, labels, classes=CLASSES)
    workers = {task["worker"] for task in stream.data}
    assert workers and workers <= set(client.scheduler_info()["workers"])
    fitted = incremental.estimator_
    assert fitted.task_names_ == TASKS
    assert fitted.shared_coef_.dtype == np.float32
    assert fitted.t_ == n_passes * len(texts)

    local = _model()
    for _ in range(n_passes):
        for start in range(0, len(texts), BLOCK):
            rows = slice(start, start + BLOCK)
            local.partial_fit(
                vectorizer.transform(texts[rows]),
                pd.DataFrame(Y[rows], columns=TASKS),
                classes=CLASSES,
            )
    for name in ("shared_coef_", "shared_intercept_", "head_coef_", "head_intercept_"):
        assert_array_equal(getattr(fitted, name), getattr(local, name), err_msg=name)

    # Predict block by block on the workers; score the result locally.
    Y_pred = X.map_blocks(
        fitted.predict, chunks=(X.chunks[0], (len(TASKS),)),
        meta=np.empty((0, 0), dtype=fitted.classes_[0].dtype),
    )
    assert Y_pred.shape == Y.shape
    Y_pred = Y_pred.compute()
    X_local = vectorizer.transform(texts)
    assert_array_equal(Y_pred, local.predict(X_local))
    score = mean_task_score(Y, Y_pred, missing_label="")
    assert score == pytest.approx(local.score(X_local, Y))
    # Training accuracy after 3 passes, above chance (0.5): over random_state
    # 0 to 11, measured 0.58 to 0.75 (0.62 for random_state=0).
    assert score > 0.55
    # One task's probabilities, block by block.
    proba = X.map_blocks(
        lambda block: fitted.predict_proba(block)[0],
        chunks=(X.chunks[0], (2,)), meta=np.empty((0, 0), dtype=np.float32),
    ).compute()
    # Equal up to float32 rounding only: OpenBLAS's sgemm rounds a row of
    # H @ V.T differently with the number of rows in the product (seen on an
    # AMD EPYC machine: 18 of 32,000 logits differed between 400-row blocks and
    # the whole 4,000 rows, by about 1e-8; the shared representation H was
    # bitwise equal), and the blocks here are smaller than predict's chunks.
    assert_allclose(proba, local.predict_proba(X_local)[0], rtol=1e-5, atol=1e-7)


def test_incremental_single_task_with_dask_arrays(client, corpus):
    """With a 1-D y, dask-ml's own predict and (given scoring) score work."""
    texts, Y = corpus
    books = np.flatnonzero(Y[:, 0] != "")
    texts = [texts[i] for i in books]
    y = Y[books, 0].astype(str)
    vectorizer = _hashing_vectorizer()
    X = _dask_csr_matrix(texts, vectorizer)
    y_dask = da.from_array(y, chunks=(X.chunks[0],))

    incremental = dask_ml_wrappers.Incremental(
        _model(), shuffle_blocks=False, scoring="accuracy"
    )
    incremental.fit(X, y_dask, classes=["negative", "positive"])
    assert incremental.estimator_.classes_.tolist() == ["negative", "positive"]

    local = _model()
    for start in range(0, len(texts), BLOCK):
        rows = slice(start, start + BLOCK)
        local.partial_fit(
            vectorizer.transform(texts[rows]), y[rows], classes=["negative", "positive"]
        )
    assert_array_equal(incremental.estimator_.shared_coef_, local.shared_coef_)
    X_local = vectorizer.transform(texts)
    assert_array_equal(incremental.predict(X).compute(), local.predict(X_local))
    assert incremental.score(X, y_dask) == pytest.approx(local.score(X_local, y))


def test_grid_search_with_the_dask_joblib_backend(client, corpus):
    """GridSearchCV's fits run on the cluster and choose as a local run does."""
    texts, Y = corpus
    texts, Y = texts[:900], Y[:900]
    pipeline = make_pipeline(
        TfidfVectorizer(sublinear_tf=True, min_df=2),
        MultiTaskTextClassifier(max_iter=3, random_state=0, missing_label=""),
    )
    grid = {
        "multitasktextclassifier__n_components": [4, 16],
        "multitasktextclassifier__alpha": [1e-4, 1e-6],
    }
    local = GridSearchCV(pipeline, grid, cv=3).fit(texts, Y)
    with distributed.get_task_stream(client) as stream:
        with joblib.parallel_backend("dask"):
            on_cluster = GridSearchCV(pipeline, grid, cv=3, n_jobs=-1).fit(texts, Y)
    assert len(stream.data) > 0, "no task ran on the cluster"
    assert on_cluster.best_params_ == local.best_params_
    assert_allclose(
        on_cluster.cv_results_["mean_test_score"],
        local.cv_results_["mean_test_score"],
    )
    assert_array_equal(on_cluster.predict(texts[:50]), local.predict(texts[:50]))
