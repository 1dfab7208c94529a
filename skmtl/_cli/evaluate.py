"""``skmtl evaluate``: score a model on a labelled data file."""

import argparse

import numpy as np
from sklearn.metrics import classification_report

from . import _args
from ._errors import CLIError, warn
from ._inputs import load_inputs
from ._report import class_list, format_scores, mean_scores, task_scores
from ._tables import MISSING, label_matrix

_DESCRIPTION = """\
Score a model written by 'skmtl train' on labelled data.

DATA is a data file as for 'skmtl train' (CSV, TSV or JSON lines), with the
text column and the label column of each task. Each task is scored on its
labelled rows (empty cells are missing labels): scikit-learn's classification
report per task, then a table of the accuracy and macro-F1 of each task and
their unweighted mean over tasks. A label the model was not trained on counts
as an error and is named in a warning.
"""


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "evaluate",
        help="score a model on a labelled data file",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _args.add_model_and_data_arguments(parser, "labelled data file")
    _args.add_task_and_text_arguments(parser, "score")
    _args.add_format_argument(parser)
    _args.add_quiet_argument(parser, "print only the summary table")
    parser.set_defaults(func=run)


def _warn_unknown_labels(Y_true, tasks, classes):
    """Name the true labels of each task that the model cannot predict."""
    for t, task in enumerate(tasks):
        labels = np.unique(Y_true[:, t][Y_true[:, t] != MISSING].astype(str))
        unknown = np.setdiff1d(labels, np.asarray(classes[t]).astype(str))
        if len(unknown):
            warn(
                f"task {task!r}: {len(unknown)} label(s) of the data are not classes "
                f"of the model ({class_list(list(unknown))}; the model's: "
                f"{class_list(list(classes[t]))}); they count as errors"
            )


def _print_reports(Y_true, Y_pred, tasks):
    for t, task in enumerate(tasks):
        labelled = Y_true[:, t] != MISSING
        print(f"{task} ({int(labelled.sum())} labelled rows)")
        if not labelled.any():
            print("  no label: not scored\n")
            continue
        report = classification_report(
            Y_true[labelled, t].astype(str),
            Y_pred[labelled, t].astype(str),
            digits=4,
            zero_division=0,
        )
        print(report.rstrip("\n") + "\n")


def run(args):
    bundle, tasks, frame, texts = load_inputs(
        args, task_hint=" (evaluate needs the true labels; choose tasks with --tasks)"
    )
    Y_true = label_matrix(frame, tasks, args.data)
    rows = np.flatnonzero((Y_true != MISSING).any(axis=1))
    if len(rows) == 0:
        raise CLIError(f"{args.data!r} has no label for any of the tasks")
    indices = [bundle["tasks"].index(task) for task in tasks]
    Y_pred = bundle["pipeline"].predict(list(texts[rows]))[:, indices]
    Y_true = Y_true[rows]
    _warn_unknown_labels(
        Y_true, tasks, [bundle["pipeline"][-1].classes_[t] for t in indices]
    )
    scores = task_scores(Y_true, Y_pred, tasks)
    if not args.quiet:
        print(
            f"{args.model} on {args.data}: {len(frame)} rows, {len(rows)} with a "
            "label\n"
        )
        _print_reports(Y_true, Y_pred, tasks)
    print(format_scores(scores, mean_scores(scores)))
    return 0
