"""Loaders of the corpora the benchmarks read (described in ``README.md`` here).

Each loader returns a dict with ``train_texts``, ``test_texts`` (lists of str),
``Y_train``, ``Y_test`` (object arrays of shape (n, n_tasks), ``None`` where a
document is not labelled for a task) and ``task_names``. Nothing is downloaded:
the files are read from the folder ``SKMTL_DATA`` names, by default
``shared/data`` beside the repository's folder.
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


def _wide_corpus(name, task_names):
    rows = _rows(name)
    out = {"task_names": task_names}
    for part in ("train", "test"):
        out[f"{part}_texts"], out[f"Y_{part}"] = _wide(rows, part, task_names)
    return out


def load_news20():
    """20 Newsgroups by date: tasks ``newsgroup`` (20-way) and ``top6``."""
    return _wide_corpus("news20", ["newsgroup", "top6"])


def load_trec():
    """TREC questions: tasks ``coarse`` (6) and ``fine`` (50)."""
    return _wide_corpus("trec", ["coarse", "fine"])


CORPORA = {"fdu_mtl": load_fdu_mtl, "news20": load_news20, "trec": load_trec}
# What each corpus is, for the reports' headings.
TITLES = {
    "fdu_mtl": "FDU-MTL (16 binary sentiment domains, one label per document)",
    "news20": "20 Newsgroups by date (newsgroup 20-way + top6, same messages)",
    "trec": "TREC questions (coarse 6-way + fine 50-way, same questions)",
}
# The reference baseline's published results on the test splits (%): one
# TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2) +
# LogisticRegression per task (README.md here: the protocol and the sources).
REFERENCE_BASELINE = {
    "fdu_mtl": {
        "acc": {"MR": 67.75, "camera_photo": 92.0},
        "mean_acc": 84.73,
        "note": "C chosen on dev, one vectorizer per task; 4.8 s for all 16 "
        "(vectorizer + fit)",
    },
    "news20": {
        "acc": {"newsgroup": 85.30, "top6": 91.34},
        "f1": {"newsgroup": 84.69, "top6": 90.94},
        "note": "C=10; fit 98.4 s (newsgroup) and 30.7 s (top6), vectorizer + fit",
    },
    "trec": {"acc": {"coarse": 89.20, "fine": 79.00}, "note": "C=10"},
}
