"""``skmtl demo``: skmtl against per-task logistic regression on the demo corpus."""

import argparse
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from .. import __version__
from .._estimator import MultiTaskTextClassifier
from ..datasets import load_demo_corpus
from ..metrics import per_task_score
from ._args import seed
from ._errors import CLIError, one_line
from ._report import format_table

_DESCRIPTION = """\
Compare skmtl with independent per-task models on the bundled demo corpus
(4 sentiment tasks of FDU-MTL: books, dvd, electronics, kitchen_housewares;
each review is labelled for its own task only).

One TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2) is fitted
on the training texts. MultiTaskTextClassifier (default parameters) is fitted
on all tasks at once; the baseline is one LogisticRegression(C=10) per task,
fitted on that task's labelled training rows. Prints the test accuracy and
macro-F1 of each task and their unweighted mean over tasks, then the fit
times. Takes a few seconds.
"""


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "demo",
        help="compare skmtl with per-task logistic regression on the demo corpus",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--random-state",
        type=seed,
        default=0,
        metavar="INT",
        help="random_state of MultiTaskTextClassifier (default: %(default)s)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the results table"
    )
    parser.set_defaults(func=run)


def _labelled(column):
    """Mask of the labelled entries of one task of the demo corpus."""
    return np.array([label is not None for label in column], dtype=bool)


def _results_table(task_names, n_train, n_test, scores):
    """The results table, average row last; ``scores`` maps a column to values."""
    columns = [
        ("accuracy", "skmtl"),
        ("accuracy", "logreg"),
        ("macro-F1", "skmtl"),
        ("macro-F1", "logreg"),
    ]
    rows = [
        [name, a, b, *(scores[c][t] for c in columns)]
        for t, (name, a, b) in enumerate(zip(task_names, n_train, n_test))
    ]
    rows.append(
        [
            "average",
            sum(n_train),
            sum(n_test),
            *(float(np.mean(scores[c])) for c in columns),
        ]
    )
    header = ["task", "n_train", "n_test"] + [sub for _, sub in columns]
    return format_table(header, rows, groups=[("accuracy", 3, 5), ("macro-F1", 5, 7)])


def _fit_both(train, test, random_state):
    """Test predictions of skmtl and of the baseline, and the fit times."""
    times = {}
    tic = time.perf_counter()
    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
    X_train = vectorizer.fit_transform(train.data)
    times["tfidf"] = time.perf_counter() - tic
    X_test = vectorizer.transform(test.data)

    tic = time.perf_counter()
    model = MultiTaskTextClassifier(random_state=random_state)
    model.fit(X_train, train.target)
    times["skmtl"] = time.perf_counter() - tic
    Y_skmtl = model.predict(X_test)

    Y_logreg = np.empty(test.target.shape, dtype=object)
    times["logreg"] = 0.0
    for t in range(len(train.task_names)):
        tic = time.perf_counter()
        rows = _labelled(train.target[:, t])
        baseline = LogisticRegression(C=10)
        baseline.fit(X_train[rows], train.target[rows, t])
        times["logreg"] += time.perf_counter() - tic
        Y_logreg[:, t] = baseline.predict(X_test)
    return Y_skmtl, Y_logreg, times, X_train.shape[1]


def run(args):
    def say(*lines):
        if not args.quiet:
            print(*lines, sep="\n", flush=True)

    try:
        train = load_demo_corpus(subset="train")
        test = load_demo_corpus(subset="test")
    except OSError as exc:
        raise CLIError(
            f"cannot read the bundled demo corpus ({one_line(exc)}); reinstall "
            "skmtl with its package data"
        ) from exc
    tasks = train.task_names
    say(
        f"skmtl {__version__} demo: {len(tasks)} sentiment tasks of the bundled "
        "FDU-MTL subset",
        f"train: {len(train.data)} documents, test: {len(test.data)} documents, "
        "one labelled task per document",
    )
    Y_skmtl, Y_logreg, times, n_features = _fit_both(train, test, args.random_state)
    say(f"features: TF-IDF of words and bigrams, {n_features} columns", "")

    scores = {}
    for metric, name in [("accuracy", "accuracy"), ("f1_macro", "macro-F1")]:
        scores[name, "skmtl"] = per_task_score(test.target, Y_skmtl, metric)
        scores[name, "logreg"] = per_task_score(test.target, Y_logreg, metric)
    n_train = [int(_labelled(train.target[:, t]).sum()) for t in range(len(tasks))]
    n_test = [int(_labelled(test.target[:, t]).sum()) for t in range(len(tasks))]
    print(_results_table(tasks, n_train, n_test, scores), flush=True)

    say(
        "",
        "skmtl:  MultiTaskTextClassifier(random_state="
        f"{args.random_state}), one model for all tasks",
        "logreg: LogisticRegression(C=10), one model per task",
        "average: unweighted mean over tasks (n_train, n_test: totals)",
        "end to end: TF-IDF fit on the training texts + model fit",
        "",
        format_table(
            ["fit time", "skmtl", "logreg"],
            [
                ["model only", f"{times['skmtl']:.2f} s", f"{times['logreg']:.2f} s"],
                [
                    "end to end (+ TF-IDF)",
                    f"{times['tfidf'] + times['skmtl']:.2f} s",
                    f"{times['tfidf'] + times['logreg']:.2f} s",
                ],
            ],
        ),
    )
    return 0
