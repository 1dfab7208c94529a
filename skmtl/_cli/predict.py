"""``skmtl predict``: write the predicted labels (and probabilities) of a data file."""

import argparse
from collections import Counter

import numpy as np

from . import _args
from ._errors import CLIError
from ._inputs import label_separator, load_inputs, multilabel_tasks
from ._modelfile import check_not_input, check_output_path
from ._tables import (
    FORMATS,
    column_list,
    format_of,
    join_label_sets,
    pandas,
    require_columns,
    split_names,
    write_table,
)

_DESCRIPTION = """\
Predict the label of every task for each row of DATA with a model written by
'skmtl train', and write the predictions to --out.

DATA is a data file as for 'skmtl train' (CSV, TSV or JSON lines); it needs the
model's text column (or the one named by --text), and its label columns, if
any, are ignored. The output format follows the extension of --out (.csv, .tsv,
.jsonl or .json, optionally .gz, .bz2, .xz), or --out-format. Its columns are
row (the position of the row in DATA, counting from 0), the DATA columns named
by --keep, and for each task a column <task> with the predicted label, followed
with --proba by one column <task>:proba:<label> per class with its probability.
A multi-label task's cell is its predicted label set, the labels joined by the
separator of the model (its --label-sep, in every output format); the empty
set is written as the separator alone, so that the file reads back as data
with the same rule. Its --proba columns give each label's own probability of
being in the set. The file is written whole or not at all, and never over
MODEL or DATA.
"""


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "predict",
        help="predict the tasks' labels of the rows of a data file",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _args.add_model_and_data_arguments(parser, "data file")
    parser.add_argument(
        "--out", required=True, metavar="FILE", help="file to write the predictions to"
    )
    parser.add_argument(
        "--proba",
        action="store_true",
        help="also write the probability of every class of every task (of "
        "every label of a multi-label task)",
    )
    parser.add_argument(
        "--keep",
        metavar="COL1,COL2,...",
        help="columns of DATA to copy to the output, e.g. an id (comma-separated)",
    )
    _args.add_task_and_text_arguments(parser, "predict")
    _args.add_format_argument(parser)
    parser.add_argument(
        "--out-format",
        choices=FORMATS,
        help="format of the output (default: from the extension of --out)",
    )
    parser.add_argument(
        "--escape-formulas",
        action="store_true",
        help="prefix with ' the CSV/TSV cells that start with =, +, -, @, tab "
        "or carriage return, so that a spreadsheet shows them as text instead of "
        "running them as formulas",
    )
    _args.add_quiet_argument(parser, "print nothing")
    parser.set_defaults(func=run)


def _output_columns(tasks, classes, keep, proba):
    """Names of the output columns; any repeated name is an error."""
    columns = ["row", *keep]
    for task, task_classes in zip(tasks, classes):
        columns.append(task)
        if proba:
            columns += [f"{task}:proba:{label}" for label in task_classes]
    repeated = [name for name, n in Counter(columns).items() if n > 1]
    if repeated:
        raise CLIError(
            f"the output would have several columns named {column_list(repeated)} "
            "(columns: row, the --keep columns, <task>, <task>:proba:<label>); "
            "leave that column out of --keep or --tasks"
        )
    return columns


# First characters that make a spreadsheet read a cell as a formula (OWASP's
# list for CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _escape_formulas(frame):
    """``frame`` with its text cells that could run as formulas quoted by '."""
    from pandas.api.types import is_numeric_dtype

    for column in frame.columns:
        if not is_numeric_dtype(frame[column]):
            frame[column] = [
                "'" + v if isinstance(v, str) and v.startswith(_FORMULA_STARTS) else v
                for v in frame[column]
            ]
    return frame


def run(args):
    out_fmt = format_of(args.out, args.out_format, "--out-format")
    check_output_path(args.out, "output")
    check_not_input(args.out, {"MODEL": args.model, "DATA": args.data}, "output")
    keep = split_names(args.keep, "--keep") if args.keep is not None else []
    bundle, tasks, frame, texts = load_inputs(args)
    pipeline = bundle["pipeline"]
    if args.proba and not hasattr(pipeline, "predict_proba"):
        raise CLIError(
            f"--proba needs a model trained with --loss log_loss or auto; "
            f"{args.model!r} was trained with --loss {pipeline[-1].loss}"
        )
    indices = [bundle["tasks"].index(task) for task in tasks]
    classes = [pipeline[-1].classes_[t] for t in indices]
    names = _output_columns(tasks, classes, keep, args.proba)
    require_columns(frame, keep, args.data, "--keep")

    multilabel, sep = multilabel_tasks(bundle), label_separator(bundle)
    Y_pred = pipeline.predict(list(texts))
    values = [np.arange(len(frame)), *(frame[column].to_numpy() for column in keep)]
    proba = pipeline.predict_proba(list(texts)) if args.proba else None
    for task, task_classes, t in zip(tasks, classes, indices):
        if task in multilabel:
            values.append(join_label_sets(Y_pred[:, t], sep))
        else:
            values.append(Y_pred[:, t])
        if proba is not None:
            values += [proba[t][:, c] for c in range(len(task_classes))]
    table = pandas().DataFrame(dict(zip(names, values)))
    if args.escape_formulas and out_fmt != "jsonl":
        table = _escape_formulas(table)
    write_table(table, args.out, out_fmt)
    if not args.quiet:
        what = "labels and probabilities" if args.proba else "labels"
        print(
            f"wrote the {what} of {len(tasks)} task{'s' if len(tasks) > 1 else ''} "
            f"({', '.join(tasks)}) for {len(frame)} rows to {args.out}"
        )
    return 0
