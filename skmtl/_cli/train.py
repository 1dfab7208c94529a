"""``skmtl train``: train a TF-IDF + MultiTaskTextClassifier pipeline on a data file."""

import argparse
import math
import sys
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline

from .. import __version__
from .._estimator import MultiTaskTextClassifier
from .._progress import epoch_callback
from .._tasks import encode_targets
from . import _args
from ._errors import CLIError, one_line, warn
from ._modelfile import check_not_input, check_output_path, model_bundle, save_model
from ._options import add_estimator_options, estimator_params
from ._report import (
    class_list,
    format_scores,
    mean_scores,
    multilabel_note,
    task_scores,
)
from ._tables import (
    LABEL_SEP,
    MISSING,
    cell_texts,
    column_list,
    format_of,
    json_writer,
    label_matrix,
    pandas,
    read_table,
    require_columns,
    split_names,
)

_DESCRIPTION = """\
Train a model on a data file and save it.

DATA is CSV (.csv) or TSV (.tsv) with a header line, or JSON lines (.jsonl,
.json: one object per line), optionally compressed (.gz, .bz2, .xz); it is
read as UTF-8. It has a column of texts (--text) and one column of labels per
task (--tasks). An empty or blank cell (in JSON: null or an absent key) is a
missing label: the row still trains the tasks it has labels for. Labels are
read as text, stripped of surrounding white space.

A task named by --multilabel is multi-label: each cell is a set of labels
separated by --label-sep (default |), e.g. "bug|ui". An empty cell is still a
missing label; a cell holding only the separator, "|", is the empty set: no
label applies (the row trains every label of the task towards "absent"). In
JSON lines a cell may also be an array of labels: [] is the empty set.

The model is a scikit-learn pipeline TfidfVectorizer -> MultiTaskTextClassifier
(missing_label=""), saved with joblib to --model together with the text column
and the task names, which 'skmtl predict' and 'skmtl evaluate' read back. The
accuracy and macro-F1 of each task, on the --holdout rows or else on the
training rows, are printed and written to OUT.metrics.json beside the model
file OUT. Progress (epochs, per-task training loss) is shown on stderr.
"""

# Names 'skmtl predict' gives its own output columns; a task may not take them.
_RESERVED_TASK_NAME = "row"
_PROBA_MARK = ":proba:"


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "train",
        help="train a model on a CSV, TSV or JSON lines file",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data", metavar="DATA", help="training data file")
    parser.add_argument(
        "--text", required=True, metavar="COL", help="column of the texts"
    )
    parser.add_argument(
        "--tasks",
        required=True,
        metavar="COL1,COL2,...",
        help="columns of the labels, one per task (comma-separated)",
    )
    parser.add_argument(
        "--multilabel",
        metavar="COL1,COL2,...",
        help="task columns that hold label sets, their labels separated by "
        "--label-sep (e.g. bug|ui): an empty cell is a missing label, a cell "
        "holding only the separator the empty set (no label applies)",
    )
    parser.add_argument(
        "--label-sep",
        metavar="SEP",
        help=f"separator of the labels in a --multilabel cell; white space "
        f"around it is ignored (default: {LABEL_SEP})",
    )
    parser.add_argument(
        "--model", required=True, metavar="OUT", help="model file to write"
    )
    _args.add_format_argument(parser)
    parser.add_argument(
        "--holdout",
        type=_args.holdout,
        default=0.0,
        metavar="FRACTION",
        help="fraction of the rows (drawn with --random-state) held out of "
        "training to score the model on (default: 0: none, the model is scored "
        "on its training rows)",
    )
    _args.add_quiet_argument(
        parser, "print nothing and show no progress (the files are still written)"
    )
    model = parser.add_argument_group(
        "model options", "parameters of MultiTaskTextClassifier"
    )
    add_estimator_options(model)
    model.add_argument(
        "--random-state",
        type=_args.seed,
        default=0,
        metavar="INT",
        help="seed of the initial weights, the shuffling, the early-stopping "
        "split and the holdout split (default: %(default)s)",
    )
    _add_feature_options(parser)
    parser.set_defaults(func=run)


def _add_feature_options(parser):
    features = parser.add_argument_group(
        "feature options", "parameters of TfidfVectorizer"
    )
    features.add_argument(
        "--ngram-max",
        type=_args.count,
        default=2,
        metavar="N",
        help="use word n-grams of 1 to N words (default: %(default)s)",
    )
    features.add_argument(
        "--min-df",
        type=_args.min_df,
        default=2,
        metavar="N",
        help="drop n-grams found in fewer than N training texts (an int), or in "
        "less than that fraction of them (a float in (0, 1)) (default: "
        "%(default)s)",
    )
    features.add_argument(
        "--max-features",
        type=_args.count,
        default=None,
        metavar="INT",
        help="keep only the INT most frequent n-grams (default: all)",
    )
    features.add_argument(
        "--sublinear-tf",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="use 1 + log(tf) instead of the raw term frequency (default: on)",
    )
    features.add_argument(
        "--float32",
        action="store_true",
        help="compute features and train in float32 (half the memory)",
    )


class EpochProgress:
    """Callback of :func:`skmtl._progress.epoch_callback` that shows progress.

    Each epoch advances a tqdm bar on stderr (created at the first epoch, so a
    fit that fails before it shows none), with the per-task losses as its
    postfix; without tqdm, each epoch prints one line on stderr.
    """

    def __init__(self, tqdm):
        self._tqdm = tqdm
        self._bar = None

    def __call__(self, info):
        losses = ", ".join(
            f"{name}: {loss:.4f}" for name, loss in zip(info.task_names, info.task_loss)
        )
        if info.validation_score is not None:
            losses += f"; validation score {info.validation_score:.4f}"
        if self._tqdm is None:
            print(
                f"-- Epoch {info.epoch}/{info.max_iter}: loss {losses}; "
                f"{info.seconds:.2f} s",
                file=sys.stderr,
                flush=True,
            )
            return
        if self._bar is None:
            self._bar = self._tqdm(
                total=info.max_iter, desc="training", unit="epoch", file=sys.stderr
            )
        self._bar.set_postfix_str(losses, refresh=False)
        self._bar.update(1)

    def close(self):
        if self._bar is not None:
            self._bar.close()


def load_tqdm():
    """The tqdm class, or None when tqdm is not installed."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def _holdout_split(n_rows, fraction, random_state):
    """Sorted training and holdout row indices; the holdout is ceil(f * n)."""
    if fraction == 0:
        return np.arange(n_rows), np.arange(0)
    n_holdout = math.ceil(fraction * n_rows)
    if n_holdout >= n_rows:
        raise CLIError(
            f"--holdout {fraction} leaves no training row out of {n_rows} rows"
        )
    order = np.random.RandomState(random_state).permutation(n_rows)
    return np.sort(order[n_holdout:]), np.sort(order[:n_holdout])


def _multilabel_arguments(args, tasks):
    """The multi-label tasks of ``--multilabel`` and the ``--label-sep`` separator."""
    if args.multilabel is None:
        if args.label_sep is not None:
            raise CLIError(
                "--label-sep is given without --multilabel: name the task columns "
                "that hold label sets with --multilabel COL1,COL2,..."
            )
        return [], None
    multilabel = split_names(args.multilabel, "--multilabel")
    unknown = [name for name in multilabel if name not in tasks]
    if unknown:
        verb = "are" if len(unknown) > 1 else "is"
        raise CLIError(
            f"--multilabel names {column_list(unknown)}, which {verb} not among "
            f"the --tasks columns ({column_list(tasks)})"
        )
    sep = LABEL_SEP if args.label_sep is None else args.label_sep.strip()
    if not sep:
        # A blank cell is a missing label, so a blank separator could not mark
        # the empty label set.
        raise CLIError(
            "--label-sep is empty or white space; give a visible separator, e.g. "
            f"--label-sep '{LABEL_SEP}'"
        )
    return multilabel, sep


def _check_arguments(args):
    """The checks that need no data.

    Returns the task names, the multi-label tasks and the label separator
    (None without multi-label task).
    """
    if not 0 <= args.holdout < 1:
        raise CLIError(
            "--holdout must be a fraction in (0, 1), or 0 for no holdout; got "
            f"{args.holdout}"
        )
    tasks = split_names(args.tasks, "--tasks")
    if args.text in tasks:
        raise CLIError(f"column {args.text!r} is both the --text and a --tasks column")
    multilabel, sep = _multilabel_arguments(args, tasks)
    for task in tasks:
        if task == _RESERVED_TASK_NAME or _PROBA_MARK in task:
            raise CLIError(
                f"task name {task!r} would collide with the output columns of "
                f"'skmtl predict' ({_RESERVED_TASK_NAME}, <task>{_PROBA_MARK}<label>); "
                "rename that column"
            )
    check_output_path(args.model, "model")
    inputs = {"training data": args.data}
    check_not_input(args.model, inputs, "model")
    check_not_input(args.model + ".metrics.json", inputs, "metrics file")
    return tasks, multilabel, sep


def _task_classes(tasks, Y_train, where, multilabel):
    """Classes of each task (the estimator's own label checks, run early).

    The classes of a multi-label task are its labels.
    """
    frame = pandas().DataFrame(Y_train, columns=tasks, dtype=object)
    try:
        _, classes, _, _, _ = encode_targets(frame, missing_label=MISSING)
    except (ValueError, TypeError) as exc:
        raise CLIError(f"cannot train on {where}: {one_line(exc)}") from exc
    for t, task in enumerate(tasks):
        n_labelled = int((Y_train[:, t] != MISSING).sum())
        kind, kinds = (
            ("label", "labels") if task in multilabel else ("class", "classes")
        )
        if len(classes[t]) > n_labelled / 2:
            warn(
                f"task {task!r} has {len(classes[t])} {kinds} for {n_labelled} "
                f"labelled rows: nearly one {kind} per row (an identifier "
                "column?); such a task cannot generalise and makes training slow"
            )
    return classes


def _fit(model, X, Y, quiet):
    """Fit ``model`` with progress from its epoch callback unless ``quiet``."""
    progress = None if quiet else EpochProgress(load_tqdm())
    try:
        with epoch_callback(progress):
            model.fit(X, Y)
    except (ValueError, TypeError) as exc:
        raise CLIError(f"cannot train: {one_line(exc)}") from exc
    except MemoryError as exc:
        raise CLIError(
            f"cannot train: out of memory ({one_line(exc)}); lower --n-components "
            "or --max-features"
        ) from exc
    finally:
        if progress is not None:
            progress.close()


def _make_steps(args):
    """The unfitted TfidfVectorizer and MultiTaskTextClassifier of ``train``."""
    vectorizer = TfidfVectorizer(
        ngram_range=(1, args.ngram_max),
        min_df=args.min_df,
        max_features=args.max_features,
        sublinear_tf=args.sublinear_tf,
        dtype=np.float32 if args.float32 else np.float64,
    )
    model = MultiTaskTextClassifier(
        **estimator_params(args),
        random_state=args.random_state,
        missing_label=MISSING,
    )
    return vectorizer, model


def _read(args, tasks, multilabel, sep):
    """Texts and label matrix of DATA (label sets in the multi-label tasks)."""
    frame = read_table(args.data, format_of(args.data, args.format, "--format"))
    require_columns(frame, [args.text], args.data, "text")
    require_columns(frame, tasks, args.data, "task")
    texts = np.array(cell_texts(frame, args.text, args.data), dtype=object)
    return texts, label_matrix(frame, tasks, args.data, multilabel, sep)


def _train(args, texts, Y, tasks, train_rows, say):
    """Fit the pipeline on ``train_rows``; returns it, its width and fit time."""
    vectorizer, model = _make_steps(args)
    tic = time.perf_counter()
    try:
        X_train = vectorizer.fit_transform(list(texts[train_rows]))
    except ValueError as exc:  # e.g. no n-gram left after --min-df
        raise CLIError(f"cannot compute the features: {one_line(exc)}") from exc
    say(
        f"features: {X_train.shape[1]} TF-IDF columns "
        f"({time.perf_counter() - tic:.2f} s)"
    )
    tic = time.perf_counter()
    frame = pandas().DataFrame(Y[train_rows], columns=tasks, dtype=object)
    _fit(model, X_train, frame, args.quiet)
    return make_pipeline(vectorizer, model), X_train.shape[1], time.perf_counter() - tic


def _metrics(args, scores, evaluated_on, rows, n_features, fit_time, columns):
    """The document written to OUT.metrics.json.

    ``columns`` holds the parsed "tasks", "multilabel" and "label_sep" options.
    """
    skipped = ("func", "command", "quiet", "data", "text", "model")
    return {
        "evaluated_on": evaluated_on,
        "n_rows": int(len(rows[evaluated_on])),
        "tasks": scores,
        "mean": mean_scores(scores),
        "data": args.data,
        "text_column": args.text,
        "n_train_rows": int(len(rows["training data"])),
        "n_holdout_rows": int(len(rows["holdout"])),
        "n_features": int(n_features),
        "fit_time_s": round(fit_time, 3),
        "options": {k: v for k, v in vars(args).items() if k not in skipped} | columns,
        "skmtl_version": __version__,
    }


def run(args):
    def say(*lines):
        if not args.quiet:
            print(*lines, sep="\n", flush=True)

    tasks, multilabel, sep = _check_arguments(args)
    texts, Y = _read(args, tasks, multilabel, sep)
    train_rows, holdout_rows = _holdout_split(len(Y), args.holdout, args.random_state)
    where = (
        f"the training rows of {args.data!r}" if len(holdout_rows) else repr(args.data)
    )
    classes = _task_classes(tasks, Y[train_rows], where, multilabel)
    if isinstance(args.min_df, int) and args.min_df > len(train_rows):
        raise CLIError(
            f"--min-df {args.min_df} exceeds the number of training texts "
            f"({len(train_rows)}): no n-gram would be kept"
        )
    say(f"read {len(Y)} rows from {args.data}")
    for t, task in enumerate(tasks):
        kind = "multi-label, " if task in multilabel else ""
        noun = "labels" if task in multilabel else "classes"
        say(
            f"  {task}: {int((Y[train_rows, t] != MISSING).sum())} labelled, "
            f"{kind}{len(classes[t])} {noun} ({class_list(classes[t])})"
        )
    if len(holdout_rows):
        say(
            f"training on {len(train_rows)} rows, {len(holdout_rows)} held out "
            f"(--holdout {args.holdout})"
        )

    pipeline, n_features, fit_time = _train(args, texts, Y, tasks, train_rows, say)
    rows = {"training data": train_rows, "holdout": holdout_rows}
    evaluated_on = "holdout" if len(holdout_rows) else "training data"
    eval_rows = rows[evaluated_on]
    scores = task_scores(
        Y[eval_rows], pipeline.predict(list(texts[eval_rows])), tasks, multilabel
    )
    metrics_path = args.model + ".metrics.json"
    columns = {"tasks": tasks, "multilabel": multilabel, "label_sep": sep}
    metrics = _metrics(args, scores, evaluated_on, rows, n_features, fit_time, columns)
    save_model(
        args.model,
        metrics_path,
        model_bundle(pipeline, args.text, tasks, sep),
        json_writer(metrics),
    )
    heading = (
        f"scores on the {len(eval_rows)} held-out rows:"
        if len(holdout_rows)
        else f"scores on the {len(eval_rows)} training rows (no --holdout; optimistic):"
    )
    say(
        f"trained in {fit_time:.2f} s",
        "",
        heading,
        format_scores(scores, metrics["mean"]),
        *filter(None, [multilabel_note(scores)]),
        "",
        f"model written to {args.model}",
        f"scores written to {metrics_path}",
    )
    return 0
