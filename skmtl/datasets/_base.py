"""Loader for the small demo corpus bundled with skmtl."""

import gzip
import json
from importlib.resources import files

import numpy as np
from sklearn.utils import Bunch

#: Task (domain) names, in the order of the target columns.
TASK_NAMES = ("books", "dvd", "electronics", "kitchen_housewares")
#: Label names of every task.
LABEL_NAMES = ("negative", "positive")
_SUBSETS = ("train", "test", "all")
_DATA_FILE = "demo_corpus.jsonl.gz"
_DESCR_FILE = "demo_corpus.rst"


def _read_rows():
    resource = files("skmtl.datasets") / "data" / _DATA_FILE
    with resource.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _read_descr():
    resource = files("skmtl.datasets") / "descr" / _DESCR_FILE
    return resource.read_text(encoding="utf-8")


def load_demo_corpus(
    *, subset="train", return_X_y=False, as_frame=False, missing_label=None
):
    """Load the demo corpus: 4 related binary sentiment tasks over product reviews.

    A small subset of FDU-MTL (Liu, Qiu & Huang, ACL 2017) bundled with the package,
    so that examples and tests run without network access: Amazon reviews from the
    domains ``books``, ``dvd``, ``electronics`` and ``kitchen_housewares``, each
    labelled ``"negative"`` or ``"positive"``.  Every review belongs to exactly one
    domain, so in the wide (multi-task) target each row holds one label and three
    missing entries.  See ``DESCR`` for provenance and counts.

    =================  ==========================
    Tasks (columns)    4
    Classes per task   2 (strings)
    Documents          5,598 train, 1,600 test
    Labels per row     exactly 1 (3 missing)
    =================  ==========================

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which split to load.  ``"all"`` returns the train rows followed by the test
        rows of each task, in file order (grouped by task).
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        If True, ``data`` is a pandas Series named ``"text"`` and ``target`` is a
        pandas DataFrame with one ``object`` column per task (pandas is imported
        only in this case).
    missing_label : str or None, default=None
        Value put in the target where a task has no label.  With the default
        ``None``, missing entries are ``None`` (in both the ndarray and the
        DataFrame).  scikit-learn's model selection tools (e.g.
        ``GridSearchCV(cv=5)``) call ``type_of_target(Y)``, which fails on ``None``
        or ``NaN`` mixed with string labels; pass a sentinel such as ``""`` here
        and set the estimator's ``missing_label`` to the same value.  Must not be
        ``"negative"`` or ``"positive"``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : list of str of length n_docs, or pandas Series of shape (n_docs,)
            The review texts (lower-cased and tokenized by the dataset authors).
        target : ndarray of shape (n_docs, 4), dtype=object, or pandas DataFrame
            Labels in wide form, one column per task in ``task_names`` order: the
            document's own task holds ``"negative"`` or ``"positive"``, the other
            three hold ``missing_label``.
        task_names : list of str
            ``["books", "dvd", "electronics", "kitchen_housewares"]``.
        target_names : dict of str to ndarray of shape (2,)
            For each task, ``array(["negative", "positive"])``.
        split : ndarray of shape (n_docs,), dtype=str
            ``"train"`` or ``"test"`` for each row.
        DESCR : str
            Full description of the corpus.
        frame : pandas DataFrame of shape (n_docs, 5) or None
            ``data`` and ``target`` side by side (columns ``"text"`` then the
            tasks) if ``as_frame=True``, else None.

    (data, target) : tuple if ``return_X_y`` is True
        ``data`` and ``target`` as described above.

    Examples
    --------
    >>> from skmtl.datasets import load_demo_corpus
    >>> corpus = load_demo_corpus()
    >>> len(corpus.data), corpus.target.shape
    (5598, (5598, 4))
    >>> corpus.task_names
    ['books', 'dvd', 'electronics', 'kitchen_housewares']
    >>> corpus.target[0]
    array(['positive', None, None, None], dtype=object)
    >>> X, Y = load_demo_corpus(subset="test", return_X_y=True, missing_label="")
    >>> Y[0]
    array(['negative', '', '', ''], dtype=object)
    """
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {list(_SUBSETS)}, got {subset!r}.")
    if missing_label in LABEL_NAMES:
        raise ValueError(
            f"missing_label must differ from the labels {list(LABEL_NAMES)}, "
            f"got {missing_label!r}."
        )

    rows = [r for r in _read_rows() if subset == "all" or r["split"] == subset]
    texts = [r["text"] for r in rows]
    split = np.array([r["split"] for r in rows], dtype=str)
    target = np.full((len(rows), len(TASK_NAMES)), missing_label, dtype=object)
    column = {task: j for j, task in enumerate(TASK_NAMES)}
    for i, r in enumerate(rows):
        target[i, column[r["task"]]] = r["label"]

    frame = None
    if as_frame:
        import pandas as pd

        texts = pd.Series(texts, name="text")
        target = pd.DataFrame(target, columns=list(TASK_NAMES), dtype=object)
        frame = pd.concat([texts, target], axis=1)

    if return_X_y:
        return texts, target
    return Bunch(
        data=texts,
        target=target,
        task_names=list(TASK_NAMES),
        target_names={task: np.array(LABEL_NAMES) for task in TASK_NAMES},
        split=split,
        DESCR=_read_descr(),
        frame=frame,
    )
