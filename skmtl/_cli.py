"""The ``skmtl`` command line (also ``python -m skmtl``).

Each command is a subparser added by an ``_add_<command>_parser(subparsers)``
function that sets ``func``: a ``_run_<command>(args) -> int`` function. To add
a command, write that pair and call the first one in :func:`_build_parser`.

Errors meant for the user are raised as :class:`CLIError` (or are an
``OSError``/``ValueError`` from the library) and printed by :func:`main` as one
line ``skmtl: error: ...`` on stderr, with exit status 1. Usage errors are
argparse's own (status 2).
"""

import argparse
import contextlib
import os
import sys
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from . import __version__
from ._estimator import MultiTaskTextClassifier
from .datasets import load_demo_corpus
from .metrics import per_task_score

_PROG = "skmtl"
_MAX_SEED = 2**32 - 1


class CLIError(Exception):
    """An error shown to the user as one line ``skmtl: error: <message>``."""


# ------------------------------------------------------------------ helpers


def _seed(text):
    """argparse type of ``--random-state``: an int in [0, 2**32 - 1]."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if not 0 <= value <= _MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be in [0, {_MAX_SEED}], got {value}")
    return value


def _single_thread_blas():
    """Limit BLAS to one thread if threadpoolctl is installed, else do nothing.

    The models are single-threaded; a multi-threaded BLAS only competes with
    them for the cores (on 2 busy cores it made the baseline's fits ~10 times
    slower).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _one_line(exc):
    message = " ".join(str(exc).split())
    return message or type(exc).__name__


# --------------------------------------------------------------------- demo

_DEMO_DESCRIPTION = """\
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


def _add_demo_parser(subparsers):
    parser = subparsers.add_parser(
        "demo",
        help="compare skmtl with per-task logistic regression on the demo corpus",
        description=_DEMO_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--random-state",
        type=_seed,
        default=0,
        metavar="INT",
        help="random_state of MultiTaskTextClassifier (default: %(default)s)",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="print only the results table",
    )
    parser.set_defaults(func=_run_demo)


def _labelled(column):
    """Mask of the labelled entries of one task of the demo corpus."""
    return np.array([label is not None for label in column], dtype=bool)


def _format_table(task_names, n_train, n_test, scores):
    """The results table, average row last; ``scores`` maps a column to values."""
    columns = [
        ("accuracy", "skmtl"),
        ("accuracy", "logreg"),
        ("macro-F1", "skmtl"),
        ("macro-F1", "logreg"),
    ]
    width = max(len("average"), *(len(name) for name in task_names))
    rows = [
        (name, str(a), str(b), [scores[c][t] for c in columns])
        for t, (name, a, b) in enumerate(zip(task_names, n_train, n_test))
    ]
    rows.append(
        (
            "average",
            str(sum(n_train)),
            str(sum(n_test)),
            [float(np.mean(scores[c])) for c in columns],
        )
    )
    group = f"{'':{width}}  {'':>7}  {'':>6}  {'accuracy':^14}  {'macro-F1':^14}"
    header = f"{'task':<{width}}  {'n_train':>7}  {'n_test':>6}  " + "  ".join(
        f"{sub:>6}" for _, sub in columns
    )
    lines = [group.rstrip(), header]
    for name, a, b, values in rows:
        cells = "  ".join(f"{v:6.4f}" for v in values)
        lines.append(f"{name:<{width}}  {a:>7}  {b:>6}  {cells}")
    return "\n".join(lines)


def _run_demo(args):
    def say(*lines):
        if not args.quiet:
            print(*lines, sep="\n", flush=True)

    try:
        train = load_demo_corpus(subset="train")
        test = load_demo_corpus(subset="test")
    except OSError as exc:
        raise CLIError(
            f"cannot read the bundled demo corpus ({_one_line(exc)}); reinstall "
            "skmtl with its package data"
        ) from exc
    tasks = train.task_names
    say(
        f"skmtl {__version__} demo: {len(tasks)} sentiment tasks of the bundled "
        "FDU-MTL subset",
        f"train: {len(train.data)} documents, test: {len(test.data)} documents, "
        "one labelled task per document",
    )

    with _single_thread_blas():
        tic = time.perf_counter()
        vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
        X_train = vectorizer.fit_transform(train.data)
        vectorize_time = time.perf_counter() - tic
        X_test = vectorizer.transform(test.data)
        say(
            f"features: TF-IDF of words and bigrams, {X_train.shape[1]} columns",
            "",
        )

        tic = time.perf_counter()
        model = MultiTaskTextClassifier(random_state=args.random_state)
        model.fit(X_train, train.target)
        skmtl_time = time.perf_counter() - tic
        Y_skmtl = model.predict(X_test)

        Y_logreg = np.empty(test.target.shape, dtype=object)
        logreg_time = 0.0
        for t in range(len(tasks)):
            tic = time.perf_counter()
            rows = _labelled(train.target[:, t])
            baseline = LogisticRegression(C=10)
            baseline.fit(X_train[rows], train.target[rows, t])
            logreg_time += time.perf_counter() - tic
            Y_logreg[:, t] = baseline.predict(X_test)

    scores = {}
    for metric, name in [("accuracy", "accuracy"), ("f1_macro", "macro-F1")]:
        scores[name, "skmtl"] = per_task_score(test.target, Y_skmtl, metric)
        scores[name, "logreg"] = per_task_score(test.target, Y_logreg, metric)
    n_train = [int(_labelled(train.target[:, t]).sum()) for t in range(len(tasks))]
    n_test = [int(_labelled(test.target[:, t]).sum()) for t in range(len(tasks))]
    print(_format_table(tasks, n_train, n_test, scores), flush=True)

    say(
        "",
        "skmtl:  MultiTaskTextClassifier(random_state="
        f"{args.random_state}), one model for all tasks",
        "logreg: LogisticRegression(C=10), one model per task",
        "average: unweighted mean over tasks (n_train, n_test: totals)",
        "end to end: TF-IDF fit on the training texts + model fit",
        "",
        f"{'fit time':<22}  {'skmtl':>8}  {'logreg':>8}",
        f"{'model only':<22}  {skmtl_time:6.2f} s  {logreg_time:6.2f} s",
        f"{'end to end (+ TF-IDF)':<22}  {vectorize_time + skmtl_time:6.2f} s  "
        f"{vectorize_time + logreg_time:6.2f} s",
    )
    return 0


# --------------------------------------------------------------------- main


def _build_parser():
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description=(
            "skmtl: multi-task text classification for scikit-learn. "
            "Run 'skmtl COMMAND --help' for the options of a command."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    subparsers = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True
    )
    _add_demo_parser(subparsers)
    return parser


def main(argv=None):
    """Run the ``skmtl`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        Exit status: 0 on success, 1 after an error (printed as one line
        ``skmtl: error: ...`` on stderr), 130 when interrupted. Usage errors
        raise ``SystemExit(2)`` from argparse.
    """
    args = _build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        # The reader of stdout went away (e.g. ``skmtl demo | head``): stop
        # quietly, and keep Python from complaining when it flushes stdout.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (CLIError, OSError, ValueError) as exc:
        print(f"{_PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{_PROG}: interrupted", file=sys.stderr)
        return 130
