"""Scores of a model and the one formatter of the tables the commands print."""

import math
import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning

from ..metrics import per_task_score
from ._tables import MISSING, pandas


def _cell(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def format_table(header, rows, groups=()):
    """A plain-text table: first column left-aligned, the others right-aligned.

    Parameters
    ----------
    header : list of str
        Name of each column.
    rows : list of list
        Cells: str, int, float (4 decimals) or None (``-``).
    groups : sequence of (str, int, int), default=()
        Optional line above the header: a label centred over columns
        ``start:stop``.

    Returns
    -------
    table : str
        The lines of the table, without a trailing newline.
    """
    cells = [list(header)] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[c]) for row in cells) for c in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if c == 0 else cell.rjust(w)
            for c, (cell, w) in enumerate(zip(row, widths))
        ).rstrip()
        for row in cells
    ]
    if groups:
        line = ""
        for label, start, stop in groups:
            left = sum(widths[:start]) + 2 * start
            span = sum(widths[start:stop]) + 2 * (stop - start - 1)
            line = line.ljust(left) + label.center(span)
        lines.insert(0, line.rstrip())
    return "\n".join(lines)


# Metrics of the summary table (micro-F1 only beside a multi-label task) and
# their column titles.
_COLUMNS = {"accuracy": "accuracy", "f1_macro": "macro-F1", "f1_micro": "micro-F1"}


def task_scores(Y_true, Y_pred, tasks, multilabel=()):
    """Per task: number of labelled rows, accuracy and macro-F1 (None if no label).

    The tasks named in ``multilabel`` have label-set cells, scored by
    :mod:`skmtl.metrics` as scikit-learn scores multi-label targets: accuracy
    is the subset accuracy, F1 is over the labels. When there is one, every
    task also gets its micro-F1 and whether it is multi-label.
    """
    Y_true = pandas().DataFrame(Y_true, columns=tasks, dtype=object)
    metrics = ["accuracy", "f1_macro"] + (["f1_micro"] if multilabel else [])
    values = {}
    with warnings.catch_warnings():
        # A task without labels gets NaN, shown as "-".
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        for metric in metrics:
            options = {} if metric == "accuracy" else {"zero_division": 0}
            values[metric] = per_task_score(
                Y_true, Y_pred, metric, missing_label=MISSING, **options
            )
    n_labelled = (Y_true.to_numpy() != MISSING).sum(axis=0)
    scores = {}
    for t, task in enumerate(tasks):
        scores[task] = {"n_labelled": int(n_labelled[t])}
        for metric in metrics:
            value = values[metric][t]
            scores[task][metric] = None if math.isnan(value) else float(value)
        if multilabel:
            scores[task]["multilabel"] = task in multilabel
    return scores


def mean_scores(scores):
    """Unweighted mean over the tasks that have a score."""
    means = {}
    for metric in _COLUMNS:
        if metric in next(iter(scores.values())):
            values = [s[metric] for s in scores.values() if s[metric] is not None]
            means[metric] = float(np.mean(values)) if values else None
    return means


def format_scores(scores, means):
    """The summary table: one row per task, then the mean over tasks."""
    metrics = [metric for metric in _COLUMNS if metric in means]
    rows = [
        [task, s["n_labelled"], *(s[metric] for metric in metrics)]
        for task, s in scores.items()
    ]
    rows.append(["mean", "", *(means[metric] for metric in metrics)])
    header = ["task", "labelled", *(_COLUMNS[metric] for metric in metrics)]
    return format_table(header, rows)


def multilabel_note(scores):
    """A line telling how the table scores the multi-label tasks ("" if none)."""
    tasks = [task for task, s in scores.items() if s.get("multilabel")]
    if not tasks:
        return ""
    return (
        f"multi-label: {', '.join(tasks)} (accuracy: share of rows whose label set "
        "is exactly right; F1 over the labels)"
    )


def class_list(classes, limit=6):
    names = [str(c) for c in classes[:limit]]
    if len(classes) > limit:
        names.append("...")
    return ", ".join(names)
