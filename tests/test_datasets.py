from importlib.resources import files

import numpy as np
import pytest

from skmtl.datasets import load_demo_corpus

TASKS = ["books", "dvd", "electronics", "kitchen_housewares"]
N_TRAIN, N_TEST = 5598, 1600


def _is_missing(target):
    return np.array([[v is None for v in row] for row in target])


@pytest.mark.parametrize(
    "subset, n_docs", [("train", N_TRAIN), ("test", N_TEST), ("all", N_TRAIN + N_TEST)]
)
def test_load_demo_corpus_bunch(subset, n_docs):
    corpus = load_demo_corpus(subset=subset)
    assert set(corpus) == {
        "data",
        "target",
        "task_names",
        "target_names",
        "split",
        "DESCR",
        "frame",
    }
    assert isinstance(corpus.data, list) and len(corpus.data) == n_docs
    assert all(isinstance(text, str) and text for text in corpus.data)
    assert corpus.target.shape == (n_docs, 4) and corpus.target.dtype == object
    assert corpus.task_names == TASKS
    for task in TASKS:
        np.testing.assert_array_equal(
            corpus.target_names[task], ["negative", "positive"]
        )
    assert corpus.split.shape == (n_docs,)
    expected_splits = {"train", "test"} if subset == "all" else {subset}
    assert set(corpus.split) == expected_splits
    assert "FDU-MTL" in corpus.DESCR
    assert corpus.frame is None

    # Each document has exactly one labelled task; the others are None.
    missing = _is_missing(corpus.target)
    assert (np.sum(~missing, axis=1) == 1).all()
    assert set(corpus.target[~missing]) == {"negative", "positive"}


def test_load_demo_corpus_subsets_add_up():
    train = load_demo_corpus(subset="train")
    test = load_demo_corpus(subset="test")
    full = load_demo_corpus(subset="all")
    assert len(train.data) + len(test.data) == len(full.data)
    is_train = full.split == "train"
    assert [t for t, s in zip(full.data, is_train) if s] == train.data
    assert [t for t, s in zip(full.data, is_train) if not s] == test.data
    # Every task has both labels in both splits.
    for corpus in (train, test):
        for j in range(len(TASKS)):
            assert set(corpus.target[:, j]) == {None, "negative", "positive"}


def test_load_demo_corpus_return_X_y():
    X, Y = load_demo_corpus(subset="test", return_X_y=True)
    corpus = load_demo_corpus(subset="test")
    assert X == corpus.data
    np.testing.assert_array_equal(Y, corpus.target)


@pytest.mark.parametrize("missing_label", ["", "missing"])
def test_load_demo_corpus_missing_label(missing_label):
    Y = load_demo_corpus(return_X_y=True, missing_label=missing_label)[1]
    Y_none = load_demo_corpus(return_X_y=True)[1]
    missing = _is_missing(Y_none)
    assert (Y[missing] == missing_label).all()
    np.testing.assert_array_equal(Y[~missing], Y_none[~missing])
    assert not any(v is None for v in Y.ravel())


def test_load_demo_corpus_missing_label_sentinel_works_with_sklearn():
    from sklearn.utils.multiclass import type_of_target

    Y = load_demo_corpus(return_X_y=True, missing_label="")[1]
    assert type_of_target(Y) == "multiclass-multioutput"


@pytest.mark.parametrize("missing_label", [None, ""])
def test_load_demo_corpus_as_frame(missing_label):
    pd = pytest.importorskip("pandas")
    corpus = load_demo_corpus(subset="test", as_frame=True, missing_label=missing_label)
    array = load_demo_corpus(subset="test", missing_label=missing_label)
    assert isinstance(corpus.data, pd.Series) and corpus.data.name == "text"
    assert corpus.data.tolist() == array.data
    assert isinstance(corpus.target, pd.DataFrame)
    assert corpus.target.columns.tolist() == TASKS
    assert all(pd.api.types.is_object_dtype(d) for d in corpus.target.dtypes)
    assert corpus.target.shape == (N_TEST, 4)
    values = corpus.target.to_numpy()
    assert [[v is None for v in row] for row in values] == _is_missing(
        array.target
    ).tolist()
    np.testing.assert_array_equal(values, array.target)
    assert corpus.frame.columns.tolist() == ["text"] + TASKS
    assert corpus.frame.shape == (N_TEST, 5)

    X, Y = load_demo_corpus(subset="test", as_frame=True, return_X_y=True)
    assert isinstance(X, pd.Series) and isinstance(Y, pd.DataFrame)


@pytest.mark.parametrize("subset", ["dev", "unlabeled", "Train", None])
def test_load_demo_corpus_invalid_subset(subset):
    with pytest.raises(ValueError, match=r"subset must be one of \['train', 'test'"):
        load_demo_corpus(subset=subset)


def test_load_demo_corpus_missing_label_cannot_be_a_label():
    with pytest.raises(ValueError, match="missing_label"):
        load_demo_corpus(missing_label="positive")


def test_bundled_file_is_small():
    path = files("skmtl.datasets") / "data" / "demo_corpus.jsonl.gz"
    assert len(path.read_bytes()) <= 3 * 1024 * 1024
