"""Loaders for the real corpora in ``../shared/data`` (benchmarks only).

Each loader returns a dict with ``train_texts``, ``test_texts`` (lists of str),
``Y_train``, ``Y_test`` (object arrays of shape (n, n_tasks), ``None`` where a
document is not labelled for a task) and ``task_names``. Nothing is downloaded:
set ``SKMTL_DATA`` to the folder if it is not ``../shared/data`` beside the repo.
"""

import gzip
import json
import os
from pathlib import Path

import numpy as np

_DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
DATA_DIR = Path(os.environ.get("SKMTL_DATA", _DEFAULT_DATA_DIR))


def _rows(name):
    path = DATA_DIR / name / f"{name}.jsonl.gz"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found; set SKMTL_DATA to the folder holding the corpora."
        )
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _wide(rows, split, task_names):
    picked = [r for r in rows if r["split"] == split]
    Y = np.array([[r[t] for t in task_names] for r in picked], dtype=object)
    return [r["text"] for r in picked], Y


def load_fdu_mtl(dev=False):
    """FDU-MTL: 16 binary sentiment domains, one labelled task per document.

    With ``dev=True`` the "test" part is the dev split (for choosing
    parameters without touching test).
    """
    rows = _rows("fdu_mtl")
    task_names = sorted({r["task"] for r in rows})
    column = {t: j for j, t in enumerate(task_names)}
    out = {"task_names": task_names}
    for part, split in [("train", "train"), ("test", "dev" if dev else "test")]:
        picked = [r for r in rows if r["split"] == split]
        Y = np.full((len(picked), len(task_names)), None, dtype=object)
        for i, r in enumerate(picked):
            Y[i, column[r["task"]]] = int(r["label"])
        out[f"{part}_texts"] = [r["text"] for r in picked]
        out[f"Y_{part}"] = Y
    return out


def load_news20():
    """20 Newsgroups by date: tasks ``newsgroup`` (20-way) and ``top6``."""
    rows = _rows("news20")
    task_names = ["newsgroup", "top6"]
    train_texts, Y_train = _wide(rows, "train", task_names)
    test_texts, Y_test = _wide(rows, "test", task_names)
    return dict(train_texts=train_texts, Y_train=Y_train, test_texts=test_texts,
                Y_test=Y_test, task_names=task_names)


def load_trec():
    """TREC questions: tasks ``coarse`` (6) and ``fine`` (50)."""
    rows = _rows("trec")
    task_names = ["coarse", "fine"]
    train_texts, Y_train = _wide(rows, "train", task_names)
    test_texts, Y_test = _wide(rows, "test", task_names)
    return dict(train_texts=train_texts, Y_train=Y_train, test_texts=test_texts,
                Y_test=Y_test, task_names=task_names)


CORPORA = {"fdu_mtl": load_fdu_mtl, "news20": load_news20, "trec": load_trec}
