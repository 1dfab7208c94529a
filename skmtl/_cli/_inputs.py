"""What ``predict`` and ``evaluate`` share: the model, its tasks, the texts."""

import numpy as np

from ._errors import CLIError
from ._modelfile import load_model, looks_like_model
from ._tables import (
    LABEL_SEP,
    cell_texts,
    column_list,
    format_of,
    format_or_none,
    read_table,
    require_columns,
    split_names,
)


def check_order(args):
    """Recognise DATA given before MODEL, before loading anything."""
    if format_or_none(args.model) and looks_like_model(args.data):
        raise CLIError(
            f"{args.model!r} looks like a data file and {args.data!r} like a model "
            f"file: the arguments are MODEL DATA, e.g. 'skmtl {args.command} "
            f"{args.data} {args.model} ...'"
        )


def select_tasks(bundle, text):
    """Names of the model's tasks chosen by ``--tasks`` (all when None)."""
    tasks = list(bundle["tasks"])
    if text is None:
        return tasks
    chosen = split_names(text, "--tasks")
    unknown = [name for name in chosen if name not in tasks]
    if unknown:
        s = "s" if len(unknown) > 1 else ""
        raise CLIError(
            f"unknown task{s} {column_list(unknown)}: the model's tasks are "
            f"{column_list(tasks)}"
        )
    return chosen


def multilabel_tasks(bundle):
    """Names of the model's multi-label tasks (from its fitted ``multilabel_``)."""
    flags = getattr(bundle["pipeline"][-1], "multilabel_", None)
    if flags is None:  # a model fitted before multi-label tasks existed
        return []
    return [task for task, flag in zip(bundle["tasks"], flags) if flag]


def label_separator(bundle):
    """The separator of the labels in the model's multi-label cells."""
    return bundle.get("label_sep") or LABEL_SEP


def load_inputs(args, task_hint=None):
    """The model file, the chosen tasks, DATA's frame and its texts.

    ``task_hint``, when given, requires DATA to hold each task's label column
    and completes the error message of a missing one.
    """
    check_order(args)
    bundle = load_model(args.model)
    tasks = select_tasks(bundle, args.tasks)
    frame = read_table(args.data, format_of(args.data, args.format, "--format"))
    text_column = args.text or bundle["text_column"]
    require_columns(
        frame,
        [text_column],
        args.data,
        "text",
        hint="" if args.text else " (the model's; name another with --text)",
    )
    if task_hint is not None:
        require_columns(frame, tasks, args.data, "task", hint=task_hint)
    texts = np.array(cell_texts(frame, text_column, args.data), dtype=object)
    return bundle, tasks, frame, texts
