"""Data files: formats, reading them into frames of text, writing tables.

CSV and TSV cells are read as text; JSON values become text too (see
:func:`cell_texts`), so a label is the same string whatever the file's format.
A multi-label task's cell is a label set: its text split on a separator (see
:func:`label_set`), or in JSON an array of labels.
"""

import bz2
import gzip
import io
import json
import lzma
import math
import os
import zlib

import numpy as np

from ._errors import CLIError, one_line
from ._modelfile import write_atomically

FORMATS = ("csv", "tsv", "jsonl")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}
_COMPRESSIONS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_SEPARATORS = {"csv": ",", "tsv": "\t"}
# What a damaged file raises while it is read: ValueError covers pandas'
# ParserError and EmptyDataError and UnicodeDecodeError; zlib.error, EOFError
# and LZMAError a corrupt compressed file; RecursionError deeply nested JSON.
READ_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    RecursionError,
)

# Value of a missing label inside the CLI (an empty or blank cell, a JSON null).
MISSING = ""
# Default separator of the labels in a multi-label cell (``--label-sep``).
LABEL_SEP = "|"


def pandas():
    try:
        import pandas
    except ImportError:
        raise CLIError(
            "this command needs pandas, which is not installed (pip install pandas)"
        ) from None
    return pandas


def format_or_none(path):
    """File format of ``path`` from its extension, or None if it has none."""
    root, ext = os.path.splitext(os.path.basename(path).lower())
    if ext in _COMPRESSIONS:
        ext = os.path.splitext(root)[1]
    return _EXTENSIONS.get(ext)


def format_of(path, override, option):
    """File format of ``path``: ``override`` if given, else from its extension."""
    fmt = override or format_or_none(path)
    if fmt is None:
        raise CLIError(
            f"cannot tell the format of {path!r} from its extension: name it .csv, "
            f".tsv, .jsonl or .json (optionally .gz, .bz2 or .xz), or use {option}"
        )
    return fmt


def _opener(path):
    return _COMPRESSIONS.get(os.path.splitext(path)[1].lower())


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


def _format_hint(header, fmt):
    """A hint to ``--format`` when ``header`` looks like another format's."""
    if fmt != "jsonl" and header.lstrip().startswith("{"):
        return "; it looks like JSON lines: use --format jsonl"
    for other, separator in _SEPARATORS.items():
        if other != fmt and separator in header:
            name = {"csv": "comma", "tsv": "tab"}[other]
            return f"; its header line holds {name}s: use --format {other}"
    return ""


def read_table(path, fmt):
    """Read a data file into a DataFrame of objects (strings for CSV and TSV).

    CSV and TSV cells are read as text: an empty cell is ``""``, never NaN, so
    labels such as ``NA`` or ``007`` keep their text. JSON lines keep their JSON
    values (parsed by :mod:`json`). A file that parses into one column whose
    name holds another format's separator is an error suggesting ``--format``.
    """
    pd = pandas()
    if not os.path.exists(path):
        raise CLIError(f"cannot read {path!r}: no such file")
    if os.path.isdir(path):
        raise CLIError(f"cannot read {path!r}: it is a directory")
    opener = _opener(path) or open
    try:
        # utf-8-sig drops the byte order mark that spreadsheet exports write.
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
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
    except READ_ERRORS as exc:
        raise CLIError(
            f"cannot read {path!r} as {fmt.upper()}: {one_line(exc)}"
            f"{_format_hint(_first_line(path), fmt)}"
        ) from exc
    if len(frame.columns) == 1 and (hint := _format_hint(str(frame.columns[0]), fmt)):
        raise CLIError(f"{path!r} parses as {fmt.upper()} into one column{hint}")
    if len(frame) == 0:
        raise CLIError(f"{path!r} has no data rows")
    frame.columns = [str(column) for column in frame.columns]
    return frame


def _first_line(path):
    """The first line of a data file, or "" if it cannot be read."""
    try:
        with (_opener(path) or open)(
            path, "rt", encoding="utf-8-sig", errors="replace"
        ) as handle:
            return handle.readline(65536)
    except READ_ERRORS:
        return ""


def column_list(columns, limit=8):
    names = [repr(c) for c in columns[:limit]]
    if len(columns) > limit:
        names.append(f"... ({len(columns)} columns)")
    return ", ".join(names)


def require_columns(frame, columns, path, what, hint=""):
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        names = ", ".join(repr(c) for c in absent)
        s = "s" if len(absent) > 1 else ""
        raise CLIError(
            f"{path!r} has no {what} column{s} {names}{hint}; its columns are "
            f"{column_list(list(frame.columns))}"
        )


def _json_text(value):
    """The text of a JSON scalar label; None when it is not a scalar.

    An integral number is written without a fractional part, so that the JSON
    labels ``1`` and ``1.0`` and the CSV cell ``1`` are one label, ``"1"``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def _cell_text(value, column, row, path, what="strings or numbers"):
    """The text of one cell: a str, a JSON scalar, or "" for a missing value."""
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if (text := _json_text(value)) is not None:
        return text
    raise CLIError(
        f"column {column!r} of {path!r} holds a JSON {type(value).__name__} in "
        f"row {row} (counting from 0); it must hold {what}"
    )


def cell_texts(frame, column, path):
    """The cells of one column as a list of str (missing JSON values: "")."""
    return [
        _cell_text(value, column, row, path)
        for row, value in enumerate(frame[column].tolist())
    ]


def label_set(text, sep):
    """The labels of a multi-label cell's text, or ``MISSING`` for a blank cell.

    The text is split on ``sep``; each label is stripped of surrounding white
    space and empty pieces are dropped, so a cell holding only the separator
    is the empty label set ``()`` ("no label applies"), not a missing label.
    A label given twice counts once.
    """
    if not text.strip():
        return MISSING
    labels = (label.strip() for label in text.split(sep))
    return tuple(dict.fromkeys(label for label in labels if label))


def _json_label_set(values, column, row, path, sep):
    """The labels of a JSON array cell of a multi-label column."""
    if any(v is None for v in values):
        raise CLIError(
            f"column {column!r} of {path!r} holds a null inside the array of row "
            f"{row} (counting from 0); a missing label set is null, an empty one []"
        )
    what = "strings, numbers or arrays of them"
    labels = [_cell_text(v, column, row, path, what).strip() for v in values]
    for label in labels:
        # Written back joined by the separator, it would split in two.
        if sep in label:
            raise CLIError(
                f"column {column!r} of {path!r} holds the label {label!r} in row "
                f"{row} (counting from 0), which contains the label separator "
                f"{sep!r}; choose another with --label-sep"
            )
    return tuple(dict.fromkeys(label for label in labels if label))


def cell_label_sets(frame, column, path, sep):
    """The cells of a multi-label column as tuples of labels, ``MISSING`` if missing.

    A text cell is read by :func:`label_set`; a JSON array holds the labels
    themselves (``[]``: the empty set).
    """
    cells = np.empty(len(frame), dtype=object)
    for row, value in enumerate(frame[column].tolist()):
        if isinstance(value, list):
            cells[row] = _json_label_set(value, column, row, path, sep)
        else:
            cells[row] = label_set(_cell_text(value, column, row, path), sep)
    return cells


def label_matrix(frame, tasks, path, multilabel=(), sep=LABEL_SEP):
    """Labels of the tasks as an object array, ``""`` where missing.

    Labels are stripped of surrounding white space; an empty or blank cell (or
    a JSON null or absent key) is a missing label. The cells of the tasks named
    in ``multilabel`` are tuples of labels (see :func:`cell_label_sets`), the
    others str.
    """
    Y = np.empty((len(frame), len(tasks)), dtype=object)
    for t, task in enumerate(tasks):
        if task in multilabel:
            Y[:, t] = cell_label_sets(frame, task, path, sep)
        else:
            Y[:, t] = [label.strip() for label in cell_texts(frame, task, path)]
    return Y


def join_label_sets(cells, sep):
    """Predicted label sets as text: labels joined by ``sep``.

    The empty set is written as ``sep`` alone, which :func:`label_set` reads
    back as the empty set (an empty cell would read back as missing).
    """
    return [sep.join(map(str, cell)) if len(cell) else sep for cell in cells]


def split_names(text, option):
    """A comma-separated list of names, without blanks or repeats."""
    names = [name.strip() for name in text.split(",")]
    names = [name for name in names if name]
    if not names:
        raise CLIError(f"{option} names no column")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise CLIError(f"{option} names {column_list(repeated)} more than once")
    return names


def _json_value(value):
    """A JSON-ready scalar: numpy scalars unwrapped, NaN as null."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _write_text(frame, handle, fmt):
    if fmt == "jsonl":
        for record in frame.to_dict("records"):
            record = {key: _json_value(v) for key, v in record.items()}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        frame.to_csv(handle, sep=_SEPARATORS[fmt], index=False)


def write_table(frame, path, fmt):
    """Write ``frame`` to ``path`` atomically, compressed as its extension says."""
    opener = _opener(path)

    def write(binary):
        if opener is None:
            text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
            _write_text(frame, text, fmt)
            text.flush()
            text.detach()  # the caller fsyncs and closes ``binary``
        else:
            # Closing the compressor ends its stream, not ``binary``.
            with opener(binary, "wt", encoding="utf-8", newline="") as text:
                _write_text(frame, text, fmt)

    try:
        write_atomically({path: write})
    except OSError as exc:
        raise CLIError(f"cannot write {path!r}: {one_line(exc)}") from exc


def json_writer(document):
    """A writer for :func:`write_atomically` of ``document`` as indented JSON."""

    def write(binary):
        text = json.dumps(document, indent=2, allow_nan=False) + "\n"
        binary.write(text.encode("utf-8"))

    return write
