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


def task_scores(Y_true, Y_pred, tasks):
    """Per task: number of labelled rows, accuracy and macro-F1 (None if no label)."""
    Y_true = pandas().DataFrame(Y_true, columns=tasks, dtype=object)
    with warnings.catch_warnings():
        # A task without labels gets NaN, shown as "-".
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        accuracy = per_task_score(Y_true, Y_pred, "accuracy", missing_label=MISSING)
        f1 = per_task_score(
            Y_true, Y_pred, "f1_macro", missing_label=MISSING, zero_division=0
        )
    n_labelled = (Y_true.to_numpy() != MISSING).sum(axis=0)
    return {
        task: {
            "n_labelled": int(n),
            "accuracy": None if math.isnan(a) else float(a),
            "f1_macro": None if math.isnan(f) else float(f),
        }
        for task, n, a, f in zip(tasks, n_labelled, accuracy, f1)
    }


def mean_scores(scores):
    """Unweighted mean over the tasks that have a score."""
    means = {}
    for metric in ("accuracy", "f1_macro"):
        values = [s[metric] for s in scores.values() if s[metric] is not None]
        means[metric] = float(np.mean(values)) if values else None
    return means


def format_scores(scores, means):
    """The summary table: one row per task, then the mean over tasks."""
    rows = [
        [task, s["n_labelled"], s["accuracy"], s["f1_macro"]]
        for task, s in scores.items()
    ]
    rows.append(["mean", "", means["accuracy"], means["f1_macro"]])
    return format_table(["task", "labelled", "accuracy", "macro-F1"], rows)


def class_list(classes, limit=6):
    names = [str(c) for c in classes[:limit]]
    if len(classes) > limit:
        names.append("...")
    return ", ".join(names)
