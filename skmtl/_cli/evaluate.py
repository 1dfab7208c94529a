"""``skmtl evaluate``: score a model on a labelled data file."""

import argparse

import numpy as np
from sklearn.metrics import classification_report
from sklearn.preprocessing import MultiLabelBinarizer

from . import _args
from ._errors import CLIError, warn
from ._inputs import label_separator, load_inputs, multilabel_tasks
from ._report import (
    class_list,
    format_scores,
    mean_scores,
    multilabel_note,
    task_scores,
)
from ._tables import MISSING, label_matrix

_DESCRIPTION = """\
Score a model written by 'skmtl train' on labelled data.

DATA is a data file as for 'skmtl train' (CSV, TSV or JSON lines), with the
text column and the label column of each task. Each task is scored on its
labelled rows (empty cells are missing labels): scikit-learn's classification
report per task, then a table of the accuracy and macro-F1 of each task and
their unweighted mean over tasks. A label the model was not trained on counts
as an error and is named in a warning.

A multi-label task's cells are read as 'skmtl train' read them, with the
model's label separator: an empty cell is a missing label, the separator alone
the empty set. Its report is per label; its accuracy is the subset accuracy
(the share of rows whose label set is exactly right) and its F1 is over its
labels. When a multi-label task is scored, the table also has each task's
micro-F1.
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


def _true_labels(column, multilabel):
    """The distinct labels of one task's labelled cells, as str."""
    cells = column[column != MISSING]
    if multilabel:
        cells = [label for cell in cells for label in cell]
    return np.unique(np.asarray(cells, dtype=str))


def _warn_unknown_labels(Y_true, tasks, classes, multilabel):
    """Name the true labels of each task that the model cannot predict."""
    for t, task in enumerate(tasks):
        labels = _true_labels(Y_true[:, t], task in multilabel)
        unknown = np.setdiff1d(labels, np.asarray(classes[t]).astype(str))
        if len(unknown):
            warn(
                f"task {task!r}: {len(unknown)} label(s) of the data are not classes "
                f"of the model ({class_list(list(unknown))}; the model's: "
                f"{class_list(list(classes[t]))}); they count as errors"
            )


def _label_set_report(y_true, y_pred):
    """scikit-learn's report of label sets: one row per label, then averages."""
    labels = sorted({label for cells in (y_true, y_pred) for c in cells for label in c})
    if not labels:
        return "  every true and predicted label set is empty"
    binarizer = MultiLabelBinarizer(classes=labels)
    report = classification_report(
        binarizer.fit_transform(y_true),
        binarizer.transform(y_pred),
        target_names=labels,
        digits=4,
        zero_division=0,
    )
    # Left out: "samples avg" scores a row whose true and predicted sets are
    # both empty, a right answer, as 0 (zero_division).
    return "\n".join(
        line
        for line in report.splitlines()
        if not line.lstrip().startswith("samples avg")
    )


def _print_reports(Y_true, Y_pred, tasks, multilabel):
    for t, task in enumerate(tasks):
        labelled = Y_true[:, t] != MISSING
        kind = "; multi-label" if task in multilabel else ""
        print(f"{task} ({int(labelled.sum())} labelled rows{kind})")
        if not labelled.any():
            print("  no label: not scored\n")
            continue
        if task in multilabel:
            report = _label_set_report(Y_true[labelled, t], Y_pred[labelled, t])
        else:
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
    multilabel = [task for task in multilabel_tasks(bundle) if task in tasks]
    Y_true = label_matrix(frame, tasks, args.data, multilabel, label_separator(bundle))
    rows = np.flatnonzero((Y_true != MISSING).any(axis=1))
    if len(rows) == 0:
        raise CLIError(f"{args.data!r} has no label for any of the tasks")
    indices = [bundle["tasks"].index(task) for task in tasks]
    Y_pred = bundle["pipeline"].predict(list(texts[rows]))[:, indices]
    Y_true = Y_true[rows]
    _warn_unknown_labels(
        Y_true,
        tasks,
        [bundle["pipeline"][-1].classes_[t] for t in indices],
        multilabel,
    )
    scores = task_scores(Y_true, Y_pred, tasks, multilabel)
    if not args.quiet:
        print(
            f"{args.model} on {args.data}: {len(frame)} rows, {len(rows)} with a "
            "label\n"
        )
        _print_reports(Y_true, Y_pred, tasks, multilabel)
    print(format_scores(scores, mean_scores(scores)))
    if not args.quiet and multilabel:
        print(multilabel_note(scores))
    return 0
