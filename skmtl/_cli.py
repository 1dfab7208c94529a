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
import bz2
import contextlib
import gzip
import json
import lzma
import math
import os
import re
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
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


# ------------------------------------------------------ data files and models

# Formats of data files, by extension (after a compression extension).
_FORMATS = ("csv", "tsv", "jsonl")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
}
_COMPRESSIONS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_SEPARATORS = {"csv": ",", "tsv": "\t"}

# Version of the layout of the model files written by ``skmtl train``.
_MODEL_FORMAT = 1
_MODEL_KEYS = ("skmtl_model", "pipeline", "text_column", "tasks", "skmtl_version")

_MODEL_HELP = (
    "model file written by 'skmtl train' (a pickle: load only files you trust)"
)

# Value of a missing label inside the CLI (an empty or blank cell, a JSON null).
_MISSING = ""


def _pandas():
    try:
        import pandas
    except ImportError:
        raise CLIError(
            "this command needs pandas, which is not installed (pip install pandas)"
        ) from None
    return pandas


def _load_tqdm():
    """The tqdm class, or None when tqdm is not installed."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def _format_of(path, override, option):
    """File format of ``path``: ``override`` if given, else from its extension."""
    if override:
        return override
    root, ext = os.path.splitext(os.path.basename(path).lower())
    if ext in _COMPRESSIONS:
        ext = os.path.splitext(root)[1]
    if ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    raise CLIError(
        f"cannot tell the format of {path!r} from its extension: name it .csv, "
        f".tsv, .jsonl or .json (optionally .gz, .bz2 or .xz), or use {option}"
    )


def _open_text(path, mode):
    """Open a text file for reading ("r") or writing ("w"), (de)compressing it."""
    opener = _COMPRESSIONS.get(os.path.splitext(path)[1].lower(), open)
    if mode == "r":
        # utf-8-sig drops the byte order mark that spreadsheet exports write.
        return opener(path, "rt", encoding="utf-8-sig", newline="")
    return opener(path, "wt", encoding="utf-8", newline="")


def _read_json_records(handle):
    """Records of a JSON lines file (or of a JSON array of objects)."""
    text = handle.read()
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"invalid JSON: {exc}") from None
        places = [f"record {i + 1}" for i in range(len(records))]
    else:
        records, places = [], []
        # Not splitlines(): JSON strings may hold U+2028 and other separators.
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"line {number} is not valid JSON: {exc.msg} (column {exc.colno})"
                ) from None
            places.append(f"line {number}")
    for record, place in zip(records, places):
        if not isinstance(record, dict):
            raise ValueError(
                f"{place} is a JSON {type(record).__name__}, not an object: JSON "
                "lines data must have one object per line"
            )
    return records


def _read_table(path, fmt):
    """Read a data file into a DataFrame of objects (strings for CSV and TSV).

    CSV and TSV cells are read as text: an empty cell is ``""``, never NaN, so
    labels such as ``NA`` or ``007`` keep their text. JSON lines keep their JSON
    values (parsed by :mod:`json`, so integer labels stay integers).
    """
    pd = _pandas()
    if not os.path.exists(path):
        raise CLIError(f"cannot read {path!r}: no such file")
    if os.path.isdir(path):
        raise CLIError(f"cannot read {path!r}: it is a directory")
    try:
        with _open_text(path, "r") as handle:
            if fmt == "jsonl":
                frame = pd.DataFrame(_read_json_records(handle), dtype=object)
            else:
                frame = pd.read_csv(
                    handle,
                    sep=_SEPARATORS[fmt],
                    dtype=str,
                    keep_default_na=False,
                    na_filter=False,
                )
    except (OSError, ValueError, EOFError, lzma.LZMAError) as exc:
        # ValueError covers pandas' ParserError and EmptyDataError, and
        # UnicodeDecodeError.
        raise CLIError(
            f"cannot read {path!r} as {fmt.upper()}: {_one_line(exc)}"
        ) from exc
    if len(frame) == 0:
        raise CLIError(f"{path!r} has no data rows")
    frame.columns = [str(column) for column in frame.columns]
    return frame


def _column_list(columns, limit=8):
    names = [repr(c) for c in columns[:limit]]
    if len(columns) > limit:
        names.append(f"... ({len(columns)} columns)")
    return ", ".join(names)


def _require_columns(frame, columns, path, what, hint=""):
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        names = ", ".join(repr(c) for c in absent)
        s = "s" if len(absent) > 1 else ""
        raise CLIError(
            f"{path!r} has no {what} column{s} {names}{hint}; its columns are "
            f"{_column_list(list(frame.columns))}"
        )


def _cell_texts(frame, column, path):
    """The cells of one column as a list of str (missing JSON values: "")."""
    out = []
    for row, value in enumerate(frame[column].tolist()):
        if isinstance(value, str):
            out.append(value)
        elif value is None or (isinstance(value, float) and math.isnan(value)):
            out.append("")
        elif isinstance(value, bool):
            out.append("true" if value else "false")
        elif isinstance(value, (int, float)):
            out.append(str(value))
        else:
            raise CLIError(
                f"column {column!r} of {path!r} holds a JSON "
                f"{type(value).__name__} in row {row} (counting from 0); it must "
                "hold strings or numbers"
            )
    return out


def _label_matrix(frame, tasks, path):
    """Labels of the tasks as an object array of str, ``""`` where missing.

    Labels are stripped of surrounding white space; an empty or blank cell (or
    a JSON null or absent key) is a missing label.
    """
    Y = np.empty((len(frame), len(tasks)), dtype=object)
    for t, task in enumerate(tasks):
        Y[:, t] = [label.strip() for label in _cell_texts(frame, task, path)]
    return Y


def _split_names(text, option):
    """A comma-separated list of names, without blanks or repeats."""
    names = [name.strip() for name in text.split(",")]
    names = [name for name in names if name]
    if not names:
        raise CLIError(f"{option} names no column")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise CLIError(f"{option} names {_column_list(repeated)} more than once")
    return names


def _check_output_path(path, what):
    """Fail early, before any long work, if ``path`` cannot be created."""
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise CLIError(f"cannot write the {what} {path!r}: no directory {parent!r}")
    if os.path.isdir(path):
        raise CLIError(f"cannot write the {what} {path!r}: it is a directory")


def _write_table(frame, path, fmt):
    try:
        with _open_text(path, "w") as handle:
            if fmt == "jsonl":
                for record in frame.to_dict("records"):
                    record = {key: _json_value(v) for key, v in record.items()}
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                frame.to_csv(handle, sep=_SEPARATORS[fmt], index=False)
    except OSError as exc:
        raise CLIError(f"cannot write {path!r}: {_one_line(exc)}") from exc


def _json_value(value):
    """A JSON-ready scalar: numpy scalars unwrapped, NaN as null."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _load_model(path):
    """The dict saved by ``skmtl train``; warnings become one line each."""
    import joblib

    if not os.path.exists(path):
        raise CLIError(f"cannot read the model {path!r}: no such file")
    if os.path.isdir(path):
        raise CLIError(f"cannot read the model {path!r}: it is a directory")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            bundle = joblib.load(path)
        except PermissionError as exc:
            raise CLIError(f"cannot read the model {path!r}: {_one_line(exc)}") from exc
        except Exception as exc:  # unpickling garbage raises anything
            detail = type(exc).__name__
            if str(exc).strip():
                detail += f": {_one_line(exc)}"
            raise CLIError(
                f"cannot load the model {path!r} ({detail}): it is not a model file "
                "of 'skmtl train', or needs other versions of its libraries"
            ) from exc
    if not (isinstance(bundle, dict) and all(key in bundle for key in _MODEL_KEYS)):
        raise CLIError(
            f"{path!r} is not a skmtl model file (those are written by 'skmtl train')"
        )
    if bundle["skmtl_model"] != _MODEL_FORMAT:
        raise CLIError(
            f"{path!r} is a skmtl model file of format {bundle['skmtl_model']!r}, "
            f"written by skmtl {bundle['skmtl_version']}; this skmtl ({__version__}) "
            f"reads format {_MODEL_FORMAT}"
        )
    for warning in caught:
        # E.g. skmtl's or scikit-learn's InconsistentVersionWarning; not the
        # DeprecationWarnings of the libraries unpickling.
        if issubclass(warning.category, UserWarning):
            print(f"{_PROG}: warning: {_one_line(warning.message)}", file=sys.stderr)
    return bundle


def _select_tasks(bundle, text):
    """Names of the model's tasks chosen by ``--tasks`` (all when None)."""
    tasks = list(bundle["tasks"])
    if text is None:
        return tasks
    chosen = _split_names(text, "--tasks")
    unknown = [name for name in chosen if name not in tasks]
    if unknown:
        s = "s" if len(unknown) > 1 else ""
        raise CLIError(
            f"unknown task{s} {_column_list(unknown)}: the model's tasks are "
            f"{_column_list(tasks)}"
        )
    return chosen


# ---------------------------------------------------- progress and reporting


class _EpochProgress:
    """Write target for ``MultiTaskTextClassifier(verbose=1)``'s stdout.

    The estimator prints one line per epoch, ``-- Epoch 3: loss books: 0.1234,
    dvd: 0.2345; 0.52 s`` (with ``; validation score 0.8`` before the time when
    early stopping). Each such line advances a tqdm bar on stderr and shows the
    per-task losses as its postfix. Without tqdm, the lines go to stderr as
    they are. Any other line goes to stderr too.
    """

    _EPOCH = re.compile(
        r"^-- Epoch \d+: loss (?P<losses>.*?)(?:; validation score \S+)?; \S+ s$"
    )

    def __init__(self, total, tqdm):
        self._buffer = ""
        self._bar = None
        if tqdm is not None:
            self._bar = tqdm(
                total=total, desc="training", unit="epoch", file=sys.stderr
            )

    def write(self, text):
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            self._line(line)
        return len(text)

    def flush(self):
        pass

    def _line(self, line):
        match = self._EPOCH.match(line)
        if self._bar is None:
            print(line, file=sys.stderr, flush=True)
        elif match is None:
            self._bar.write(line, file=sys.stderr)
        else:
            self._bar.set_postfix_str(match["losses"], refresh=False)
            self._bar.update(1)

    def close(self):
        if self._buffer:
            self._line(self._buffer)
            self._buffer = ""
        if self._bar is not None:
            self._bar.close()


def _task_scores(Y_true, Y_pred, tasks):
    """Per task: number of labelled rows, accuracy and macro-F1 (None if no label)."""
    pd = _pandas()
    Y_true = pd.DataFrame(Y_true, columns=tasks, dtype=object)
    with warnings.catch_warnings():
        # A task without labels gets NaN, shown as "-".
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        accuracy = per_task_score(Y_true, Y_pred, "accuracy", missing_label=_MISSING)
        f1 = per_task_score(
            Y_true, Y_pred, "f1_macro", missing_label=_MISSING, zero_division=0
        )
    n_labelled = (Y_true.to_numpy() != _MISSING).sum(axis=0)
    return {
        task: {
            "n_labelled": int(n),
            "accuracy": None if math.isnan(a) else float(a),
            "f1_macro": None if math.isnan(f) else float(f),
        }
        for task, n, a, f in zip(tasks, n_labelled, accuracy, f1)
    }


def _mean_scores(scores):
    """Unweighted mean over the tasks that have a score."""
    means = {}
    for metric in ("accuracy", "f1_macro"):
        values = [s[metric] for s in scores.values() if s[metric] is not None]
        means[metric] = float(np.mean(values)) if values else None
    return means


def _format_scores(scores, means):
    """The summary table: one row per task, then the mean over tasks."""
    width = max(len("mean"), *(len(task) for task in scores))

    def cell(value):
        return f"{'-':>8}" if value is None else f"{value:8.4f}"

    lines = [f"{'task':<{width}}  {'labelled':>8}  {'accuracy':>8}  {'macro-F1':>8}"]
    for task, s in scores.items():
        lines.append(
            f"{task:<{width}}  {s['n_labelled']:>8}  {cell(s['accuracy'])}  "
            f"{cell(s['f1_macro'])}"
        )
    lines.append(
        f"{'mean':<{width}}  {'':>8}  {cell(means['accuracy'])}  "
        f"{cell(means['f1_macro'])}"
    )
    return "\n".join(lines)


def _class_list(classes, limit=6):
    names = [str(c) for c in classes[:limit]]
    if len(classes) > limit:
        names.append("...")
    return ", ".join(names)


def _add_data_format_argument(parser):
    parser.add_argument(
        "--format",
        choices=_FORMATS,
        help="format of DATA (default: from its extension)",
    )


def _add_quiet_argument(parser, what):
    parser.add_argument("--quiet", action="store_true", help=what)


# -------------------------------------------------------------------- train

_TRAIN_DESCRIPTION = """\
Train a model on a data file and save it.

DATA is CSV (.csv) or TSV (.tsv) with a header line, or JSON lines (.jsonl,
.json: one object per line), optionally compressed (.gz, .bz2, .xz); it is
read as UTF-8. It has a column of texts (--text) and one column of labels per
task (--tasks). An empty or blank cell (in JSON: null or an absent key) is a
missing label: the row still trains the tasks it has labels for. Labels are
read as text, stripped of surrounding white space.

The model is a scikit-learn pipeline TfidfVectorizer -> MultiTaskTextClassifier
(missing_label=""), saved with joblib to --model together with the text column
and the task names, which 'skmtl predict' and 'skmtl evaluate' read back. The
accuracy and macro-F1 of each task, on the --holdout rows or else on the
training rows, are printed and written to OUT.metrics.json beside the model
file OUT. Progress (epochs, per-task training loss) is shown on stderr.
"""


def _count(text):
    """argparse type: an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _float_type(low, low_included):
    """argparse type: a finite float > low (or >= low)."""

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
        ok = value >= low if low_included else value > low
        if not (math.isfinite(value) and ok):
            sign = ">=" if low_included else ">"
            raise argparse.ArgumentTypeError(f"must be {sign} {low}, got {text}")
        return value

    return parse


def _min_df(text):
    """argparse type of ``--min-df``: an int >= 1 or a float in (0, 1)."""
    try:
        return _count(text)
    except argparse.ArgumentTypeError:
        pass
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"must be a count >= 1 or a fraction in (0, 1), got {text!r}"
        )
    return value


def _holdout(text):
    """argparse type of ``--holdout``; its range is checked by ``skmtl train``."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None


def _add_train_parser(subparsers):
    parser = subparsers.add_parser(
        "train",
        help="train a model on a CSV, TSV or JSON lines file",
        description=_TRAIN_DESCRIPTION,
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
        "--model", required=True, metavar="OUT", help="model file to write"
    )
    _add_data_format_argument(parser)
    parser.add_argument(
        "--holdout",
        type=_holdout,
        default=0.0,
        metavar="FRACTION",
        help="fraction of the rows (drawn with --random-state) held out of "
        "training to score the model on (default: 0: none, the model is scored "
        "on its training rows)",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="print nothing and show no progress (the files are still written)",
    )

    model = parser.add_argument_group(
        "model options", "parameters of MultiTaskTextClassifier"
    )
    model.add_argument(
        "--n-components",
        type=_count,
        default=32,
        metavar="INT",
        help="width of the shared layer (default: %(default)s)",
    )
    model.add_argument(
        "--activation",
        choices=["identity", "relu", "tanh"],
        default="identity",
        help="activation of the shared layer (default: %(default)s)",
    )
    model.add_argument(
        "--max-iter",
        type=_count,
        default=10,
        metavar="INT",
        help="number of epochs (default: %(default)s)",
    )
    model.add_argument(
        "--alpha",
        type=_float_type(0, True),
        default=1e-4,
        metavar="FLOAT",
        help="L2 penalty strength (default: %(default)s)",
    )
    model.add_argument(
        "--eta0",
        type=_float_type(0, False),
        default=0.5,
        metavar="FLOAT",
        help="initial step size (default: %(default)s)",
    )
    model.add_argument(
        "--random-state",
        type=_seed,
        default=0,
        metavar="INT",
        help="seed of the initial weights, the shuffling and the holdout split "
        "(default: %(default)s)",
    )

    features = parser.add_argument_group(
        "feature options", "parameters of TfidfVectorizer"
    )
    features.add_argument(
        "--ngram-max",
        type=_count,
        default=2,
        metavar="N",
        help="use word n-grams of 1 to N words (default: %(default)s)",
    )
    features.add_argument(
        "--min-df",
        type=_min_df,
        default=2,
        metavar="N",
        help="drop n-grams found in fewer than N training texts (an int), or in "
        "less than that fraction of them (a float in (0, 1)) (default: "
        "%(default)s)",
    )
    features.add_argument(
        "--max-features",
        type=_count,
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
    parser.set_defaults(func=_run_train)


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


def _run_train(args):
    def say(*lines):
        if not args.quiet:
            print(*lines, sep="\n", flush=True)

    if not 0 <= args.holdout < 1:
        raise CLIError(
            "--holdout must be a fraction in (0, 1), or 0 for no holdout; got "
            f"{args.holdout}"
        )
    tasks = _split_names(args.tasks, "--tasks")
    if args.text in tasks:
        raise CLIError(f"column {args.text!r} is both the --text and a --tasks column")
    fmt = _format_of(args.data, args.format, "--format")
    _check_output_path(args.model, "model")

    frame = _read_table(args.data, fmt)
    _require_columns(frame, [args.text], args.data, "text")
    _require_columns(frame, tasks, args.data, "task")
    texts = np.array(_cell_texts(frame, args.text, args.data), dtype=object)
    Y = _label_matrix(frame, tasks, args.data)
    train_rows, holdout_rows = _holdout_split(
        len(frame), args.holdout, args.random_state
    )
    Y_train = Y[train_rows]

    classes = _check_task_labels(tasks, Y_train, bool(len(holdout_rows)), args.data)
    if isinstance(args.min_df, int) and args.min_df > len(train_rows):
        raise CLIError(
            f"--min-df {args.min_df} exceeds the number of training texts "
            f"({len(train_rows)}): no n-gram would be kept"
        )

    say(f"read {len(frame)} rows from {args.data}")
    for t, task in enumerate(tasks):
        n_labelled = int((Y_train[:, t] != _MISSING).sum())
        say(
            f"  {task}: {n_labelled} labelled, {len(classes[t])} classes "
            f"({_class_list(classes[t])})"
        )
    if len(holdout_rows):
        say(
            f"training on {len(train_rows)} rows, {len(holdout_rows)} held out "
            f"(--holdout {args.holdout})"
        )

    vectorizer, model = _make_steps(args)
    tic = time.perf_counter()
    try:
        with _single_thread_blas():
            X_train = vectorizer.fit_transform(list(texts[train_rows]))
    except ValueError as exc:  # e.g. no n-gram left after --min-df
        raise CLIError(f"cannot compute the features: {_one_line(exc)}") from exc
    say(
        f"features: {X_train.shape[1]} TF-IDF columns "
        f"({time.perf_counter() - tic:.2f} s)"
    )
    tic = time.perf_counter()
    _fit_with_progress(
        model,
        X_train,
        _pandas().DataFrame(Y_train, columns=tasks, dtype=object),
        None if args.quiet else _load_tqdm(),
    )
    fit_time = time.perf_counter() - tic
    model.set_params(verbose=0)  # a refit of the saved model is silent
    pipeline = _make_pipeline(vectorizer, model)

    if len(holdout_rows):
        eval_rows, evaluated_on = holdout_rows, "holdout"
        heading = f"scores on the {len(holdout_rows)} held-out rows:"
    else:
        eval_rows, evaluated_on = train_rows, "training data"
        heading = (
            f"scores on the {len(train_rows)} training rows (no --holdout; optimistic):"
        )
    with _single_thread_blas():
        Y_pred = pipeline.predict(list(texts[eval_rows]))
    scores = _task_scores(Y[eval_rows], Y_pred, tasks)
    means = _mean_scores(scores)

    bundle = {
        "skmtl_model": _MODEL_FORMAT,
        "pipeline": pipeline,
        "text_column": args.text,
        "tasks": tasks,
        "skmtl_version": __version__,
    }
    import joblib

    try:
        joblib.dump(bundle, args.model)
    except OSError as exc:
        raise CLIError(
            f"cannot write the model {args.model!r}: {_one_line(exc)}"
        ) from exc
    metrics_path = args.model + ".metrics.json"
    metrics = {
        "evaluated_on": evaluated_on,
        "n_rows": int(len(eval_rows)),
        "tasks": scores,
        "mean": means,
        "data": args.data,
        "text_column": args.text,
        "n_train_rows": int(len(train_rows)),
        "n_holdout_rows": int(len(holdout_rows)),
        "n_features": int(X_train.shape[1]),
        "fit_time_s": round(fit_time, 3),
        "options": {
            key: value
            for key, value in vars(args).items()
            if key not in ("func", "command", "quiet", "data", "text", "model")
        }
        | {"tasks": tasks},
        "skmtl_version": __version__,
    }
    try:
        with open(metrics_path, "w", encoding="utf-8") as handle:
            json.dump(metrics, handle, indent=2, allow_nan=False)
            handle.write("\n")
    except OSError as exc:
        raise CLIError(f"cannot write {metrics_path!r}: {_one_line(exc)}") from exc

    say(
        f"trained in {fit_time:.2f} s",
        "",
        heading,
        _format_scores(scores, means),
        "",
        f"model written to {args.model}",
        f"scores written to {metrics_path}",
    )
    return 0


def _check_task_labels(tasks, Y_train, held_out, path):
    """Classes of each task; a task needs labels of 2 classes or more."""
    where = f"the training rows of {path!r}" if held_out else repr(path)
    classes = []
    for t, task in enumerate(tasks):
        task_classes = np.unique(Y_train[:, t][Y_train[:, t] != _MISSING].astype(str))
        if len(task_classes) == 0:
            raise CLIError(
                f"task {task!r} has no label in {where}: its cells are all empty"
            )
        if len(task_classes) == 1:
            raise CLIError(
                f"task {task!r} has only one class ({str(task_classes[0])!r}) in "
                f"{where}; "
                "a classifier needs at least 2"
            )
        classes.append(task_classes)
    return classes


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
        n_components=args.n_components,
        activation=args.activation,
        max_iter=args.max_iter,
        alpha=args.alpha,
        eta0=args.eta0,
        random_state=args.random_state,
        verbose=0 if args.quiet else 1,
        missing_label=_MISSING,
    )
    return vectorizer, model


def _make_pipeline(vectorizer, model):
    from sklearn.pipeline import make_pipeline

    return make_pipeline(vectorizer, model)


def _fit_with_progress(model, X, Y, tqdm):
    """Fit ``model``, its epoch lines turned into progress unless it is quiet.

    Bad labels or parameters (a ValueError or TypeError from fit) become a
    :class:`CLIError`.
    """
    try:
        with _single_thread_blas():
            if not model.verbose:
                model.fit(X, Y)
                return
            progress = _EpochProgress(model.max_iter, tqdm)
            try:
                with contextlib.redirect_stdout(progress):
                    model.fit(X, Y)
            finally:
                progress.close()
    except (ValueError, TypeError) as exc:
        raise CLIError(f"cannot train: {_one_line(exc)}") from exc


# ------------------------------------------------------------------ predict

_PREDICT_DESCRIPTION = """\
Predict the label of every task for each row of DATA with a model written by
'skmtl train', and write the predictions to --out.

DATA is a data file as for 'skmtl train' (CSV, TSV or JSON lines); it needs the
model's text column (or the one named by --text), and its label columns, if
any, are ignored. The output format follows the extension of --out (.csv, .tsv,
.jsonl or .json, optionally .gz, .bz2, .xz), or --out-format. Its columns are
row (the position of the row in DATA, counting from 0), the DATA columns named
by --keep, and for each task a column <task> with the predicted label, followed
with --proba by one column <task>:proba:<label> per class with its probability.
"""


def _add_predict_parser(subparsers):
    parser = subparsers.add_parser(
        "predict",
        help="predict the tasks' labels of the rows of a data file",
        description=_PREDICT_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "model",
        metavar="MODEL",
        help=_MODEL_HELP,
    )
    parser.add_argument("data", metavar="DATA", help="data file")
    parser.add_argument(
        "--out", required=True, metavar="FILE", help="file to write the predictions to"
    )
    parser.add_argument(
        "--proba",
        action="store_true",
        help="also write the probability of every class of every task",
    )
    parser.add_argument(
        "--keep",
        metavar="COL1,COL2,...",
        help="columns of DATA to copy to the output, e.g. an id (comma-separated)",
    )
    parser.add_argument(
        "--tasks",
        metavar="TASK1,TASK2,...",
        help="predict only these tasks (default: all tasks of the model)",
    )
    parser.add_argument(
        "--text",
        metavar="COL",
        help="column of the texts (default: the one the model was trained on)",
    )
    _add_data_format_argument(parser)
    parser.add_argument(
        "--out-format",
        choices=_FORMATS,
        help="format of the output (default: from the extension of --out)",
    )
    _add_quiet_argument(parser, "print nothing")
    parser.set_defaults(func=_run_predict)


def _run_predict(args):
    out_fmt = _format_of(args.out, args.out_format, "--out-format")
    _check_output_path(args.out, "output")
    bundle = _load_model(args.model)
    tasks = _select_tasks(bundle, args.tasks)
    keep = _split_names(args.keep, "--keep") if args.keep is not None else []
    indices = [bundle["tasks"].index(task) for task in tasks]
    outputs = ["row"]
    for task, t in zip(tasks, indices):
        outputs.append(task)
        if args.proba:
            classes = bundle["pipeline"][-1].classes_[t]
            outputs += [f"{task}:proba:{label}" for label in classes]
    clashes = [column for column in keep if column in outputs]
    if clashes:
        raise CLIError(
            f"--keep names {_column_list(clashes)}: the output has a column of that "
            "name already (row, <task>, <task>:proba:<label>)"
        )
    frame = _read_table(args.data, _format_of(args.data, args.format, "--format"))
    text_column = args.text or bundle["text_column"]
    _require_columns(
        frame,
        [text_column],
        args.data,
        "text",
        hint="" if args.text else " (the model's; name another with --text)",
    )
    _require_columns(frame, keep, args.data, "--keep")
    texts = _cell_texts(frame, text_column, args.data)

    pipeline = bundle["pipeline"]
    with _single_thread_blas():
        Y_pred = pipeline.predict(texts)
        proba = pipeline.predict_proba(texts) if args.proba else None

    columns = {"row": np.arange(len(frame))}
    for column in keep:
        columns[column] = frame[column].to_numpy()
    for task, t in zip(tasks, indices):
        columns[task] = Y_pred[:, t]
        if proba is not None:
            for c, label in enumerate(pipeline[-1].classes_[t]):
                columns[f"{task}:proba:{label}"] = proba[t][:, c]
    _write_table(_pandas().DataFrame(columns), args.out, out_fmt)
    if not args.quiet:
        what = "labels and probabilities" if args.proba else "labels"
        print(
            f"wrote the {what} of {len(tasks)} task{'s' if len(tasks) > 1 else ''} "
            f"({', '.join(tasks)}) for {len(frame)} rows to {args.out}"
        )
    return 0


# ----------------------------------------------------------------- evaluate

_EVALUATE_DESCRIPTION = """\
Score a model written by 'skmtl train' on labelled data.

DATA is a data file as for 'skmtl train' (CSV, TSV or JSON lines), with the
text column and the label column of each task. Each task is scored on its
labelled rows (empty cells are missing labels): scikit-learn's classification
report per task, then a table of the accuracy and macro-F1 of each task and
their unweighted mean over tasks.
"""


def _add_evaluate_parser(subparsers):
    parser = subparsers.add_parser(
        "evaluate",
        help="score a model on a labelled data file",
        description=_EVALUATE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "model",
        metavar="MODEL",
        help=_MODEL_HELP,
    )
    parser.add_argument("data", metavar="DATA", help="labelled data file")
    parser.add_argument(
        "--tasks",
        metavar="TASK1,TASK2,...",
        help="score only these tasks (default: all tasks of the model)",
    )
    parser.add_argument(
        "--text",
        metavar="COL",
        help="column of the texts (default: the one the model was trained on)",
    )
    _add_data_format_argument(parser)
    _add_quiet_argument(parser, "print only the summary table")
    parser.set_defaults(func=_run_evaluate)


def _run_evaluate(args):
    from sklearn.metrics import classification_report

    bundle = _load_model(args.model)
    tasks = _select_tasks(bundle, args.tasks)
    frame = _read_table(args.data, _format_of(args.data, args.format, "--format"))
    text_column = args.text or bundle["text_column"]
    _require_columns(
        frame,
        [text_column],
        args.data,
        "text",
        hint="" if args.text else " (the model's; name another with --text)",
    )
    _require_columns(
        frame,
        tasks,
        args.data,
        "task",
        hint=" (evaluate needs the true labels; choose tasks with --tasks)",
    )
    Y_true = _label_matrix(frame, tasks, args.data)
    rows = np.flatnonzero((Y_true != _MISSING).any(axis=1))
    if len(rows) == 0:
        raise CLIError(f"{args.data!r} has no label for any of the tasks")
    texts = np.array(_cell_texts(frame, text_column, args.data), dtype=object)
    indices = [bundle["tasks"].index(task) for task in tasks]
    with _single_thread_blas():
        Y_pred = bundle["pipeline"].predict(list(texts[rows]))[:, indices]
    Y_true = Y_true[rows]
    scores = _task_scores(Y_true, Y_pred, tasks)

    if not args.quiet:
        print(
            f"{args.model} on {args.data}: {len(frame)} rows, {len(rows)} with a "
            "label\n"
        )
        for t, task in enumerate(tasks):
            labelled = Y_true[:, t] != _MISSING
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
    print(_format_scores(scores, _mean_scores(scores)))
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
    _add_train_parser(subparsers)
    _add_predict_parser(subparsers)
    _add_evaluate_parser(subparsers)
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
